"""A run's directory: its lock, `config.json` and the rules of resuming, its metrics.

A workdir is the unit of a run (as in flax's examples). It holds `config.json`
(the config the run was made with), `metrics.jsonl` (one JSON record per chunk
of updates), `standardizer.npz` for real-valued data, the orbax checkpoints
(`checkpoints.py`) and, while a run lasts, its lock file.
"""

import contextlib
import fcntl
import json
import os
import socket

from absl import logging
import jax
import ml_collections
import numpy as np

from rtrbm_jax import config_fields
from rtrbm_jax import files
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import schema

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
LOCK_FILE = "lock"
# The final parameters, written when a run ends (`checkpoints.save_params`).
PARAMS_FILE = "params.npz"
# The parameters of the best held-out frame accuracy, with their update, for data
# sets with a validation split (`selection.BestParams`).
BEST_PARAMS_FILE = "best_params.npz"
# Per-dimension mean and scale of real-valued data, written beside the checkpoints.
STANDARDIZER_FILE = "standardizer.npz"


def resume_rule(field: str, config: ml_collections.ConfigDict) -> str:
  """What a run resumed with `config` may do with `field` (`schema.RESUME_RULES`):
  the schema's rule; a sweep's values never change; a field the library does not
  read may change with --allow_config_change."""
  if field.startswith("sweep."):
    return schema.FIXED
  if field not in schema.FIELDS:
    return schema.WITH_FLAG
  rule = schema.FIELDS[field].resume
  if rule == schema.FIXED_WITH_PERSISTENT_CHAINS:
    return (schema.FIXED if config.train.chain_start == "persistent"
            else schema.WITH_FLAG)
  return rule


def metrics_path(workdir: str) -> str:
  return os.path.join(workdir, METRICS_FILE)


def _take_lock(workdir: str, path: str) -> int:
  """A descriptor of `path` holding its exclusive `flock` (the file still in place)."""
  while True:
    try:
      # Not following a symlink: a lock linked to another file would truncate it.
      descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
      if not os.path.islink(path):
        raise
      raise ValueError(
          f"{path} is a symlink (to {os.readlink(path)!r}), not a run's lock "
          "file; remove the link (its target is left alone).") from error
    try:
      fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(descriptor, 200).decode(errors="replace").strip()
      os.close(descriptor)
      raise ValueError(  # pylint: disable=raise-missing-from
          f"workdir={workdir!r} is in use by another run ({holder or 'unknown'}); "
          "wait for it to end, or use another workdir.")
    try:
      # The holder before us may have removed the file after we opened it.
      if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
        return descriptor
    except FileNotFoundError:
      pass
    os.close(descriptor)


@contextlib.contextmanager
def workdir_lock(workdir: str):
  """Holds `workdir` for this process; a second run on it fails at once.

  An exclusive `flock` on `workdir/lock`, whose text names the holder (pid and
  host). The kernel releases the lock when its holder dies (even by kill -9), so
  the file a dead run leaves behind is taken over. In a multi-host run, process 0
  holds it for all.

  Raises:
    ValueError: another live process holds the workdir (its pid and host named).
  """
  if jax.process_index() != 0:
    yield
    return
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_FILE)
  descriptor = _take_lock(workdir, path)
  previous = os.read(descriptor, 200).decode(errors="replace").strip()
  if previous:
    logging.warning("Took over the lock of a run that ended without releasing "
                    "it (%s).", previous)
  os.ftruncate(descriptor, 0)
  os.pwrite(descriptor, f"pid {os.getpid()} on host {socket.gethostname()}\n"
            .encode(), 0)
  try:
    yield
  finally:
    os.unlink(path)
    os.close(descriptor)


def check_workdir(workdir: str) -> None:
  """The workdir is a directory (or can become one) that this process can write."""
  if not isinstance(workdir, str) or not workdir:
    raise ValueError(f"workdir={workdir!r} is not accepted: the path of the run's "
                     "directory (--workdir=DIR).")
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ValueError(f"workdir={workdir!r} is a file, not a directory; choose a "
                     "directory for the run.")
  existing = os.path.abspath(workdir)
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise ValueError(f"workdir={workdir!r} cannot be created: {existing!r} is a "
                     "file.")
  if not os.access(existing, os.W_OK | os.X_OK):
    raise ValueError(f"workdir={workdir!r} is not writable ({existing!r} is "
                     "read-only for this user); choose another directory.")


def checkpoint_config_path(workdir: str) -> str:
  """The copy of config.json kept with the checkpoints (resume compares with it)."""
  return os.path.join(checkpoints.directory(workdir), CONFIG_FILE)


def write_config(workdir: str, config: ml_collections.ConfigDict,
                 dataset: datasets.Dataset) -> None:
  """config.json and its copy beside the checkpoints, and the data's
  standardisation (so samples map to data units)."""
  text = config.to_json(indent=2)
  os.makedirs(checkpoints.directory(workdir), exist_ok=True)
  for path in (checkpoint_config_path(workdir), os.path.join(workdir, CONFIG_FILE)):
    with files.atomic_write(path) as f:
      f.write(text)
  if dataset.standardizer is not None:
    path = os.path.join(workdir, STANDARDIZER_FILE)
    with files.atomic_write(path, "wb") as f:
      np.savez(f, **dataset.standardizer._asdict())


def remove_final_params(workdir: str) -> None:
  """Removes `params.npz` (a run's final parameters) if there is one."""
  path = os.path.join(workdir, PARAMS_FILE)
  if os.path.exists(path):
    logging.info("Removed %s: the run trains further.", path)
    os.remove(path)


def config_changes(stored: dict, config: ml_collections.ConfigDict) -> dict:
  """{field: (stored value, new value)} of the fields that differ (as JSON)."""
  # A field added after a run was made reads as the default that reproduces it.
  old = {**schema.DEFAULTS, **config_fields.flatten(stored)}
  new = {**schema.DEFAULTS,
         **config_fields.flatten(json.loads(config.to_json()))}
  return {field: (old.get(field), new.get(field))
          for field in sorted(set(old) | set(new))
          if old.get(field) != new.get(field)}


def _read_config_file(path: str) -> dict:
  """A config file's JSON object; a one-line ValueError if it is anything else."""
  try:
    with open(path) as f:
      stored = json.load(f)
    if not isinstance(stored, dict):
      raise ValueError(f"a JSON {type(stored).__name__}, not an object")
  except ValueError as error:
    raise ValueError(f"{path} is damaged ({error}); restore it or remove the "
                     "workdir's checkpoints to start over.") from error
  return stored


def read_config(workdir: str) -> ml_collections.ConfigDict:
  """The workdir's `config.json` (the config in force), as a ConfigDict.

  Raises:
    ValueError: the workdir has none, or it is damaged (one line naming it).
  """
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise ValueError(f"workdir={workdir!r} has no config.json: name the workdir "
                     "of a run or sweep trained with experiments.train or "
                     "experiments.sweep (rj.train).")
  return ml_collections.ConfigDict(_read_config_file(path))


def _read_stored_config(workdir: str) -> dict:
  """The config the workdir's checkpoints were made with, as a dict.

  The copy kept with the checkpoints is the record: config.json may be deleted
  or damaged by hand (it is rewritten on resume). Runs from before that copy
  have config.json alone.

  Raises:
    ValueError: no readable record of the config (one line naming the file).
  """
  copy = checkpoint_config_path(workdir)
  path = os.path.join(workdir, CONFIG_FILE)
  if os.path.exists(copy):
    stored = _read_config_file(copy)
    try:
      _read_config_file(path)
    except (ValueError, OSError):
      logging.warning("%s is missing or damaged; resuming with the config kept "
                      "with the checkpoints (%s), and writing it again.", path,
                      copy)
    return stored
  if not os.path.exists(path):
    raise ValueError(
        f"{path} is missing, and the run's checkpoints keep no copy of their "
        "config: restore config.json, or remove the workdir's checkpoints to "
        "start over.")
  return _read_config_file(path)


def stored_changes(workdir: str, config: ml_collections.ConfigDict) -> dict:
  """`config_changes` from the config the workdir's checkpoints were made with,
  every field's (free ones too)."""
  return config_changes(_read_stored_config(workdir), config)


def check_resume(workdir: str, config: ml_collections.ConfigDict, step: int,
                 allow_config_change: bool, swept: bool = False) -> dict:
  """Decides whether a run at `step` may resume with `config`.

  The rule: a run resumes with the config it was made with. Each field's rule is
  the schema's (`resume_rule`): layout fields (logging, checkpoints, plots,
  evaluation) may change. Other changes need `allow_config_change`, and then
  take effect from `step` on (the caller records them in metrics.jsonl); fields
  that fix shapes, the initialisation or past updates never change, nor can
  `train.num_steps` drop below the updates done, nor a finished run take a change
  that no update would use. A sweep (`swept`) resumes only with its config.

  Returns:
    The changes that need the flag, {field: (old, new)} (empty if none).

  Raises:
    ValueError: one line naming the fields and what to do.
  """
  changes = {field: values
             for field, values in stored_changes(workdir, config).items()
             if resume_rule(field, config) != schema.FREE}
  if changes and swept:
    raise ValueError(
        f"the sweep in {workdir} (at update {step}) was made with another config: "
        f"{_listed(changes)}. A sweep resumes only with the same config; use a "
        "new workdir for other values.")
  if changes:
    _refuse_unless_allowed(workdir, config, step, changes, allow_config_change)
  return changes


def _listed(changes: dict) -> str:
  return ", ".join(f"{field} {old!r} -> {new!r}"
                   for field, (old, new) in changes.items())


def _refuse_unless_allowed(workdir: str, config: ml_collections.ConfigDict,
                           step: int, changes: dict,
                           allow_config_change: bool) -> None:
  """Raises the first rule of `check_resume` that `changes` break."""
  listed = _listed(changes)
  fixed = [field for field in changes
           if resume_rule(field, config) == schema.FIXED]
  total = config.pretrain.num_steps + config.train.num_steps
  if fixed:
    raise ValueError(
        f"the run in {workdir} (at update {step}) cannot take a change of "
        f"{', '.join(fixed)} ({listed}): these fix the parameters or the updates "
        "done; use a new workdir.")
  _refuse_optimizer_structure_changes(workdir, step, changes)
  if total < step:
    raise ValueError(
        f"config.train.num_steps={config.train.num_steps} is not accepted: the run "
        f"in {workdir} has done {step} updates ({config.pretrain.num_steps} of "
        "pretraining included); its params would not match the config.")
  if not allow_config_change:
    raise ValueError(
        f"the run in {workdir} (at update {step}) was made with another config: "
        f"{listed}. Resume with the same config, or pass --allow_config_change to "
        "apply the change from this update on (recorded in metrics.jsonl).")
  if total == step:
    # Only train.num_steps lowered to the updates done: the run stops here.
    others = {field: values for field, values in changes.items()
              if field != "train.num_steps"}
    if not others:
      return
    if "train.num_steps" in changes:
      raise ValueError(
          f"config.train.num_steps={config.train.num_steps} stops the run in "
          f"{workdir} at update {step}, where it is: no update would use "
          f"{_listed(others)}; change those when the run trains further.")
    raise ValueError(
        f"the run in {workdir} has finished ({step} updates): no update would use "
        f"{listed}; raise train.num_steps to train further with it.")


def _refuse_optimizer_structure_changes(workdir: str, step: int,
                                        changes: dict) -> None:
  """Changes that alter the shape of what a checkpoint holds, named.

  Clipping on or off, pretraining momentum on or off (each adds or removes a
  part of an optimizer, and its state) and the number of CD schedule entries
  (arrays in the state) would make the checkpoint not restore.
  """
  for field in ("optimizer.clip_norm", "pretrain.momentum"):
    if field in changes and (not changes[field][0]) != (not changes[field][1]):
      raise ValueError(
          f"the run in {workdir} (at update {step}) cannot take a change of "
          f"{field} {changes[field][0]!r} -> {changes[field][1]!r}: turning it on "
          "or off changes the optimizer state its checkpoints hold; keep it 0 or "
          "non-zero as it was, or use a new workdir.")
  if "train.gibbs_schedule" in changes:
    old, new = changes["train.gibbs_schedule"]
    if len(old or ()) != len(new or ()):
      raise ValueError(
          f"the run in {workdir} (at update {step}) cannot take "
          f"train.gibbs_schedule {old!r} -> {new!r}: it must keep its "
          f"{len(old or ())} entries (their updates and values may change), as "
          "its checkpoints hold them; or use a new workdir.")


def truncate_metrics(path: str, last_step: int) -> None:
  """Drops records past the checkpoint a run resumes from (written before a crash).

  A last line cut short by a kill during its write is dropped too; a damaged line
  before others is an error naming the file and the line (`files.read_records`).
  """
  if not os.path.exists(path):
    return
  kept = []
  for record in files.read_records(path):
    if "step" not in record:
      raise ValueError(f"{path} holds a record without a step "
                       f"({json.dumps(record)[:100]}); remove that line to resume.")
    if record["step"] <= last_step:
      kept.append(files.record_line(record))
  with files.atomic_write(path) as f:
    f.writelines(kept)


def record_config_change(path: str, step: int, changes: dict,
                         selection_restarted: str | None = None) -> None:
  """Appends to metrics.jsonl the config change that applies from `step` on,
  with why model selection started again (`selection.restart_if_changed`) when
  it did."""
  logging.warning("Config changed from step %d on: %s", step, changes)
  record = {"step": step, "config_change": {
      field: {"from": old, "to": new} for field, (old, new) in changes.items()}}
  if selection_restarted:
    record["selection_restarted"] = selection_restarted
  with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")


def read_standardizer(workdir: str,
                       num_visible: int) -> real_valued.Standardizer | None:
  """The run's `standardizer.npz` (None without one), checked before any work.

  Raises:
    ValueError: the file does not read as a mean and a scale of `num_visible`
      finite values (one line naming it).
  """
  path = os.path.join(workdir, STANDARDIZER_FILE)
  if not os.path.exists(path):
    return None
  fields = real_valued.Standardizer._fields
  try:
    with np.load(path) as stored:
      arrays = {name: np.asarray(stored[name]) for name in fields}
    for name, array in arrays.items():
      if (array.shape != (num_visible,) or array.dtype.kind != "f"
          or not np.all(np.isfinite(array))):
        raise ValueError(f"{name} has shape {list(array.shape)}, expected "
                         f"[{num_visible}] finite values")
  except Exception as error:  # pylint: disable=broad-except
    # numpy raises zipfile, EOF, OS, key and value errors for damaged files.
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise ValueError(f"{path} is damaged or not this run's ({reason}); rerun "
                     "experiments.train on the workdir to write it again.") from error
  return real_valued.Standardizer(**arrays)
