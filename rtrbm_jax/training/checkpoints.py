"""Orbax checkpoints of the train state in `workdir/checkpoints/`, and `params.npz`.

A checkpoint holds the whole `TrainState` pytree; restoring needs a state of the
same structure (the run's initial state). The newest checkpoint that restores is
used: a damaged one (cut short by a crash or a full disk) is set aside.
"""

import contextlib
import os
import time

from absl import logging
import numpy as np
import orbax.checkpoint as ocp

from rtrbm_jax import files


def directory(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def manager_options(keep_checkpoints: int) -> ocp.CheckpointManagerOptions:
  return ocp.CheckpointManagerOptions(max_to_keep=keep_checkpoints, create=True)


def latest_step(workdir: str, options: ocp.CheckpointManagerOptions) -> int | None:
  """The step of the workdir's newest checkpoint (damaged or not), or None."""
  if not os.path.isdir(directory(workdir)):
    return None  # asked before anything is written: create nothing
  manager = ocp.CheckpointManager(directory(workdir), options=options)
  latest = manager.latest_step()
  manager.close()
  return latest


def all_steps(workdir: str) -> list[int]:
  """The steps of the workdir's checkpoints (damaged or not), oldest first."""
  if not os.path.isdir(directory(workdir)):
    return []
  with ocp.CheckpointManager(directory(workdir)) as manager:
    return sorted(manager.all_steps())


def restore_params(workdir: str, step: int) -> dict:
  """The parameters of the checkpoint of `step`, as a dict of arrays, restored
  without a template (so without knowing the run's config).

  Raises:
    Exception: whatever orbax or tensorstore raise for a damaged checkpoint.
  """
  with ocp.CheckpointManager(directory(workdir)) as manager:
    return manager.restore(step, args=ocp.args.StandardRestore())["params"]


def _set_aside(workdir: str, failures: list, resumed_step: int) -> None:
  """Moves the checkpoints that failed to restore to `workdir/damaged_checkpoints`."""
  aside = os.path.join(workdir, "damaged_checkpoints")
  os.makedirs(aside, exist_ok=True)
  for bad_step, error in failures:
    target = os.path.join(aside, str(bad_step))
    if os.path.exists(target):
      target += f".{int(time.time())}"
    os.replace(os.path.join(directory(workdir), str(bad_step)), target)
    logging.warning("The checkpoint at step %d does not restore (%s: %s); "
                    "moved it to %s and resumed from step %d.", bad_step,
                    type(error).__name__, str(error).splitlines()[0][:200],
                    target, resumed_step)


def restore_newest(workdir: str, options: ocp.CheckpointManagerOptions, state):
  """(manager, state, step) from the newest checkpoint that restores.

  A checkpoint that does not restore while an older one does is damaged (a
  truncated file, an emptied `_METADATA`, a deleted item): it is moved to
  `workdir/damaged_checkpoints/` and the run resumes from the older one. If none
  restores, the config (not the files) is the likely cause: nothing is moved.
  Without checkpoints, the step is None and `state` is returned as it is.

  Raises:
    ValueError: there are checkpoints and none restores into `state`'s structure.
  """
  manager = ocp.CheckpointManager(directory(workdir), options=options)
  failures = []
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      restored = manager.restore(step, args=ocp.args.StandardRestore(state))
    except Exception as error:  # pylint: disable=broad-except
      # Orbax and tensorstore raise many kinds of errors for damaged files, and
      # a manager that failed once fails on every other step too: start afresh.
      failures.append((step, error))
      manager.close()
      manager = ocp.CheckpointManager(directory(workdir), options=options)
      continue
    if failures:
      manager.close()
      _set_aside(workdir, failures, step)
      manager = ocp.CheckpointManager(directory(workdir), options=options)
    return manager, restored, step
  if failures:
    step, error = failures[0]
    manager.close()
    raise ValueError(
        f"no checkpoint in {directory(workdir)} restores: they do not fit this "
        "config (model sizes, optimizer or sweep differ) or are damaged; at step "
        f"{step}: {str(error).splitlines()[0][:300]}") from error
  return manager, state, None


class SaveError(Exception):
  """A checkpoint could not be written (a full disk, an unwritable directory).

  Orbax's background threads may then wait minutes for signals that never come:
  the command-line entry points end the process at once on this error.
  """


def _save_error(manager: ocp.CheckpointManager, error: Exception) -> SaveError:
  reason = (error.strerror if isinstance(error, OSError) and error.strerror
            else str(error).splitlines()[0] if str(error) else
            type(error).__name__)
  return SaveError(
      f"a checkpoint could not be written in {manager.directory} ({reason}); "
      "the run stopped and keeps the checkpoints written before: free space or "
      "make the directory writable, then run the same command to resume.")


def save(manager: ocp.CheckpointManager, step: int, state) -> None:
  """Starts saving `state` as the checkpoint of `step` (asynchronously).

  Raises:
    SaveError: this save or an earlier one failed.
  """
  try:
    manager.save(step, args=ocp.args.StandardSave(state))
  except Exception as error:  # pylint: disable=broad-except
    raise _save_error(manager, error) from error


def check_saves(manager: ocp.CheckpointManager) -> None:
  """Raises `SaveError` if an asynchronous save has failed since the last call."""
  try:
    manager.check_for_errors()
  except Exception as error:  # pylint: disable=broad-except
    raise _save_error(manager, error) from error


@contextlib.contextmanager
def closing(manager: ocp.CheckpointManager):
  """Waits for asynchronous saves and closes the manager, even on an error.

  Raises:
    SaveError: a save failed (the manager is then left open: closing it would
      wait on the failed save's threads).
  """
  try:
    yield manager
  finally:
    try:
      manager.wait_until_finished()
      manager.check_for_errors()
    except Exception as error:  # pylint: disable=broad-except
      raise _save_error(manager, error) from error
    manager.close()


def load_params(path: str) -> dict:
  """The arrays of a parameter file that `save_params` wrote, by name.

  Raises:
    ValueError: the file is damaged or incomplete (one line naming it).
  """
  try:
    with np.load(path) as stored:
      return {name: stored[name] for name in stored.files}
  except Exception as error:  # pylint: disable=broad-except
    # numpy raises zipfile, EOF, OS, key and value errors for damaged files.
    raise ValueError(
        f"{path} is damaged or incomplete ({type(error).__name__}"
        f": {str(error).splitlines()[0] if str(error) else ''}); rerun "
        "experiments.train on the workdir to write it again.") from error


def warm_start_params(source: str, template):
  """The parameters of the run or file `source`, shaped and typed like `template`.

  `config.init_from`: a fresh run starts from a finished run's parameters
  (fine-tuning, a longer schedule). `source` is a run directory (its
  `params.npz`) or a parameter file that `save_params` wrote. Each field of
  `template` (a single run's parameters) must be there with its shape.

  Raises:
    ValueError: one line naming `config.init_from`, the file and what is wrong.
  """
  path = (os.path.join(source, "params.npz") if os.path.isdir(source)
          else source)
  if not os.path.isfile(path):
    raise ValueError(
        f"config.init_from={source!r} is not accepted: {path} does not exist (a "
        "finished run's directory holding params.npz, or a .npz parameter file).")
  arrays = load_params(path)
  params_type = type(template)
  missing = [name for name in params_type._fields if name not in arrays]
  wrong = [f"{name} has shape {list(np.shape(arrays[name]))}, expected "
           f"{list(np.shape(want))}"
           for name, want in zip(params_type._fields, template)
           if name in arrays and np.shape(arrays[name]) != np.shape(want)]
  if missing or wrong:
    problems = ([f"it lacks {missing}"] if missing else []) + wrong
    raise ValueError(
        f"config.init_from={source!r} is not accepted: the parameters in {path} do "
        f"not fit this config's model ({'; '.join(problems)}).")
  return params_type(**{name: np.asarray(arrays[name], np.asarray(want).dtype)
                        for name, want in zip(params_type._fields, template)})


def save_params(path: str, params, **extra) -> None:
  """Parameters as .npz, one array per field, readable with numpy alone.

  Written whole or not at all (`files.atomic_write`): a run's `params.npz` says
  it finished. `extra` (name -> number) are stored beside the parameters, e.g.
  the update and the validation accuracy of `best_params.npz`.
  """
  with files.atomic_write(path, "wb") as f:
    np.savez(f, **{name: np.asarray(value)
                   for name, value in params._asdict().items()},
             **{name: np.asarray(value) for name, value in extra.items()})
