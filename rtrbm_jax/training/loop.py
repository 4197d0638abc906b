"""The training loop: a run in its workdir, and the records it writes.

Data flow: config -> `datasets.load_dataset` -> device arrays -> jitted chunks of
the pure train step (`steps.py`; batches drawn on the device) -> metrics.jsonl,
TensorBoard, checkpoints, plots. The workdir's files (lock, config.json and the
rules of resuming, metrics.jsonl) are `workdirs.py`'s, the checkpoints
`checkpoints.py`'s, the config's checks `schema.py`'s; this module reads the
config and hands the step factories its values.

A run has two phases: `config.pretrain.num_steps` updates of `w_vh, b_v, b_h` as a
plain RBM on all frames (the paper's code pretrains the weights this way), then
`config.train.num_steps` updates of the temporal model, with k of CD-k following
the run's `steps.GibbsSchedule`. A run stopped at any point and resumed ends with
the same parameters as one never stopped (`steps.py` says why).
"""

import contextlib
import os
import time
from typing import Callable, NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from rtrbm_jax import files
from rtrbm_jax import progress
from rtrbm_jax.data import datasets
from rtrbm_jax.models import registry
from rtrbm_jax.models import temporal
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import optimizers
from rtrbm_jax.training import programs as programs_lib
from rtrbm_jax.training import records
from rtrbm_jax.training import schema
from rtrbm_jax.training import selection
from rtrbm_jax.training import steps
from rtrbm_jax.training import workdirs


def initial_state(config: ml_collections.ConfigDict,
                  model: temporal.TemporalModel, optimizer,
                  pretrain_optimizer) -> steps.TrainState:
  """`steps.init_state` with the values of `config`."""
  return steps.init_state(
      model, optimizer, pretrain_optimizer, seed=config.seed,
      num_visible=config.model.num_visible, num_hidden=config.model.num_hidden,
      weight_scale=config.model.weight_scale,
      schedule=steps.gibbs_schedule(config.train.num_gibbs_steps,
                                    config.train.gibbs_schedule),
      num_persistent_chains=(
          config.train.batch_size * config.data.num_frames
          if config.train.chain_start == "persistent" else 0))


class NonFiniteError(ValueError):
  """The loss or gradients became NaN or inf (a ValueError: bad numbers, exit 1)."""


def apply_config(state: steps.TrainState,
                 config: ml_collections.ConfigDict) -> steps.TrainState:
  """A restored single-run state with the config's hyperparameters and CD-k.

  The optimizer's learning rate, momentum and weight decay and the CD-k values
  live in the state; without this a resumed run would keep the checkpoint's.
  With an unchanged config it changes nothing.
  """
  hyperparams = dict(state.opt_state.hyperparams)
  for name in hyperparams:
    hyperparams[name] = jnp.asarray(config.optimizer[name],
                                    hyperparams[name].dtype)
  schedule = steps.gibbs_schedule(config.train.num_gibbs_steps,
                                  config.train.gibbs_schedule)
  if schedule.starts.shape != state.gibbs_schedule.starts.shape:
    raise ValueError(
        f"config.train.gibbs_schedule={config.train.gibbs_schedule!r} is not "
        "accepted on resume: it must keep its "
        f"{state.gibbs_schedule.starts.shape[0] - 1} entries (their values and "
        "updates may change).")
  return state._replace(
      opt_state=state.opt_state._replace(hyperparams=hyperparams),
      gibbs_schedule=schedule)


class Setup(NamedTuple):
  """What a run needs before its loop: validated config, data, model, optimizers."""
  config: ml_collections.ConfigDict
  dataset: datasets.Dataset
  model: temporal.TemporalModel
  optimizer: optax.GradientTransformation
  pretrain_optimizer: optax.GradientTransformation


def setup(config: ml_collections.ConfigDict) -> Setup:
  """Validates the config and the data (before anything is written anywhere)."""
  schema.validate_config(config)
  return setup_validated(config)


def setup_validated(config: ml_collections.ConfigDict) -> Setup:
  """`setup` of a config whose values are checked (a sweep checks each point's)."""
  schema.check_data_memory(config)
  dataset = datasets.load_dataset(config.data)
  schema.check_dataset(config, dataset)
  model = registry.from_config(config)
  schema.check_memory(config, model, dataset)
  return Setup(config, dataset, model,
               optimizers.make_optimizer(config.optimizer, config.train.num_steps),
               optimizers.make_pretrain_optimizer(config.pretrain.learning_rate,
                                                  config.pretrain.momentum))


def _mesh_shardings(config):
  """(batch sharding, state sharding) for `config.train.parallelism`.

  The state always gets an explicit sharding: a fresh state's arrays are
  uncommitted, a restored one's committed to a device, and jit compiles a new
  program when that changes; placed alike, a resumed run compiles each chunk once.
  """
  parallelism = config.train.parallelism
  if parallelism == "none":
    return None, jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  mesh = jax.sharding.Mesh(np.array(jax.devices()), ("devices",))
  split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("devices"))
  if parallelism == "data":
    return split, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  return None, split


total_steps = records.total_steps


def _restore_or_initialise(setup_: Setup, workdir: str, state: steps.TrainState,
                           state_sharding, swept: bool,
                           allow_config_change: bool):
  """(checkpoint manager, state to continue from): the newest checkpoint or `state`.

  A resumed run's config must pass `workdirs.check_resume`; an allowed change is
  recorded in metrics.jsonl, whose records past the restored step are dropped. A
  change of what the selection figure means restarts model selection
  (`selection.changed_meaning`), which the record says.
  Writes config.json (and the data's standardisation).
  """
  config = setup_.config
  options = checkpoints.manager_options(config.train.keep_checkpoints)
  latest = checkpoints.latest_step(workdir, options)
  if latest is None and schema.get(config, "init_from"):
    # Only a fresh run reads it (before anything is written): a resumed one
    # continues from its checkpoint, whether or not the source is still there.
    state = _warm_started(state, schema.get(config, "init_from"), swept)
  os.makedirs(workdir, exist_ok=True)
  files.remove_stale_temporaries(workdir)
  changes, selection_changes = {}, {}
  if latest is not None:
    changes = workdirs.check_resume(workdir, config, latest,
                                    allow_config_change and not swept, swept)
    if _selects(config, swept):
      selection_changes = selection.changed_meaning(workdir, config, latest,
                                                    total_steps(config))
  manager, state, restored = checkpoints.restore_newest(workdir, options, state)
  if restored is not None:
    logging.info("Resumed from the checkpoint at step %d.", restored)
    if not swept:
      state = apply_config(state, config)
  state = jax.device_put(state, state_sharding)
  metrics_path = workdirs.metrics_path(workdir)
  workdirs.truncate_metrics(metrics_path, int(np.max(state.step)))
  if changes or selection_changes:
    # Before config.json says the new values: no best file outlives its meaning.
    restarted = (selection.restart(workdir, selection_changes)
                 if selection_changes else None)
    workdirs.record_config_change(metrics_path, restored,
                                  {**changes, **selection_changes}, restarted)
  if int(np.max(state.step)) < total_steps(config):
    # A finished run extended (a larger train.num_steps): its params.npz is no
    # longer the run's last update, so it goes until the run ends again.
    workdirs.remove_final_params(workdir)
  workdirs.write_config(workdir, config, setup_.dataset)
  return manager, state


def _selects(config: ml_collections.ConfigDict, swept: bool) -> bool:
  """Whether the run keeps the parameters of its best validation figure."""
  return not swept and datasets.heldout_split(config.data.name) == "valid"


def _warm_started(state: steps.TrainState, source: str,
                  swept: bool) -> steps.TrainState:
  """`state` with the parameters of `source` (`config.init_from`), every point of
  a sweep alike. The optimizer states stay as initialised: optax initialises them
  from the parameters' shapes alone."""
  template = (jax.tree.map(lambda leaf: leaf[0], state.params) if swept
              else state.params)
  params = checkpoints.warm_start_params(source, template)
  if swept:
    params = jax.tree.map(lambda loaded, leaf: jnp.broadcast_to(loaded, leaf.shape),
                          params, state.params)
  return state._replace(params=jax.tree.map(jnp.asarray, params))


def _next_chunk(config: ml_collections.ConfigDict, step: int) -> tuple[str, int]:
  """(phase, number of updates) of the chunk that starts at `step`.

  Chunks end on multiples of log_every (and at the phase's end), so a resumed run
  compiles and runs exactly the chunks an uninterrupted one does.
  """
  pretraining = step < config.pretrain.num_steps
  phase_end = (config.pretrain.num_steps if pretraining
               else total_steps(config))
  num_steps = min(config.train.log_every - step % config.train.log_every,
                  phase_end - step)
  return ("pretrain" if pretraining else "train"), num_steps


def _non_finite_error(step: int, manager) -> NonFiniteError:
  kept = manager.latest_step()
  return NonFiniteError(
      f"NaN or inf in the gradients or parameters before step {step}; the "
      "run stopped and " + ("no checkpoint had been written yet" if kept is None
                            else f"the last good checkpoint ({kept}) is kept")
      + ". Try a smaller learning rate.")


def _recorded_divergence(recorder, records: list[dict], step: int, manager,
                         steps_per_second: float) -> NonFiniteError:
  """The error that stops a diverged single run, its chunk's `records` marked
  diverged in metrics.jsonl first: the workdir then reads as diverged, not as
  interrupted (a resumed run redoes those updates and drops the record)."""
  error = _non_finite_error(step, manager)
  recorder.write(step, records[0]["phase"],
                 [{**record, "diverged": True, "note": str(error)}
                  for record in records], steps_per_second, None)
  return error


def _evaluate_if_due(programs: programs_lib.Programs, config,
                     state: steps.TrainState, step: int, eta: progress.TrainingEta):
  """The held-out figures (host copies) at evaluation steps and the last one, else
  None."""
  if not config.eval.every or (step % config.eval.every
                               and step != total_steps(config)):
    return None
  eval_start = time.time()
  error = jax.tree.map(np.asarray, programs.evaluate(state.params))
  eta.record_eval(time.time() - eval_start)
  return error


def _save_if_due(manager, config, state: steps.TrainState, step: int) -> None:
  if step % config.train.checkpoint_every == 0 or step == total_steps(config):
    checkpoints.save(manager, step, state)


def run_loop(setup_: Setup, workdir: str, state: steps.TrainState, describe,
             swept: bool = False, allow_config_change: bool = False,
             finish: Callable | None = None) -> steps.TrainState:
  """The training loop shared by single runs and sweeps; owns the workdir.

  Resumes from the workdir's last checkpoint, runs chunks of `train.log_every`
  updates, evaluates, writes `metrics.jsonl` records and checkpoints.

  Args:
    setup_: from `setup`.
    workdir: the run's directory.
    state: the initial state (its structure is the checkpoints' too).
    describe: `(step, phase, metrics, evaluation) -> list of records`, turning
      the host copies of a chunk's metrics (and evaluation, or None) into JSON
      records; a sweep makes one per point.
    swept: the state has a leading sweep axis. A point whose update is not finite
      then stays frozen and is reported as diverged; a single run stops instead.
    allow_config_change: let a resumed single run take a changed config
      (`workdirs.check_resume`); the change is recorded in metrics.jsonl.
    finish: optional `(state, tensorboard)` called after the last update, before
      the run's event file closes: the run's final outputs, whose pictures go
      into the same event file (`metric_writers.TensorBoardWriter`).

  Returns:
    The final state.
  """
  config = setup_.config
  last_step = total_steps(config)
  batch_sharding, state_sharding = _mesh_shardings(config)
  manager, state = _restore_or_initialise(setup_, workdir, state, state_sharding,
                                          swept, allow_config_change)
  # Fresh batches are drawn in the step: no training array on the device then.
  train_data = (jnp.asarray(setup_.dataset.train)
                if datasets.train_source(config.data) == "fixed" else None)
  programs = programs_lib.make_programs(setup_, swept, batch_sharding)
  step = int(np.max(state.step))
  if step < last_step:
    logging.info("%s", records.startup_line(config, state, workdir,
                                    state.step.shape[0] if swept else 0))
  eta = progress.TrainingEta(config.pretrain.num_steps, last_step,
                             config.eval.every, config.train.log_every)
  select_by = schema.get(config, "eval.select_by")
  best = (selection.BestParams(workdir, step, select_by)
          if _selects(config, swept) else None)
  # A run stopped by an error still completes the checkpoint in flight.
  with (checkpoints.closing(manager),
        records.Records(workdir, config, step, swept, eta) as recorder,
        _saved_if_interrupted(manager) as recorded):
    recorded.update(state=state, step=step)
    compiled = set()
    while step < last_step:
      checkpoints.check_saves(manager)
      phase, num_steps = _next_chunk(config, step)
      run = programs.run_pretrain if phase == "pretrain" else programs.run_train
      if (phase, num_steps) not in compiled:
        # Said, so that a first chunk's long wait is not taken for a hang.
        logging.info("Compiling the %s step for chunks of %d updates.", phase,
                     num_steps)
        compiled.add((phase, num_steps))
      chunk_start = time.time()
      state, metrics = run(state, train_data, num_steps)
      metrics = jax.tree.map(np.asarray, metrics)
      # Fetching the metrics waited for the chunk; the first chunk of each phase
      # includes compilation.
      chunk_seconds = max(time.time() - chunk_start, 1e-9)
      eta.record_chunk(phase, num_steps, chunk_seconds)
      step += num_steps
      if not swept and not metrics["finite"]:
        raise _recorded_divergence(recorder, describe(step, phase, metrics, None),
                                   step, manager, num_steps / chunk_seconds)
      error = _evaluate_if_due(programs, config, state, step, eta)
      if best is not None:
        best.update(step, state.params,
                    selection.selection_figure(error, select_by))
      recorder.write(step, phase, describe(step, phase, metrics, error),
                    num_steps / chunk_seconds,
                    None if error is None else programs.copy_last_error)
      recorded.update(state=state, step=step)
      _save_if_due(manager, config, state, step)
      recorder.plot_if_due(step)
    if finish is not None:
      finish(state, recorder.tensorboard)
  return state


class Interrupted(KeyboardInterrupt):
  """Ctrl-C stopped a run after saving the checkpoint of its last recorded update."""


@contextlib.contextmanager
def _saved_if_interrupted(manager):
  """Yields a dict the loop keeps at its last recorded (state, step); on Ctrl-C,
  saves that state (unless its checkpoint exists) and raises `Interrupted`.

  The state whose records are written, not a chunk's newer one: a resumed run
  then finds its records up to the checkpoint and none past it.
  """
  recorded = {}
  try:
    yield recorded
  except KeyboardInterrupt:
    step = recorded.get("step")
    if step is None or step == 0:
      raise Interrupted("interrupted before an update was recorded; nothing to "
                        "save.") from None
    if manager.latest_step() != step:
      checkpoints.save(manager, step, recorded["state"])
    raise Interrupted(f"interrupted at update {step}, whose checkpoint is saved; "
                      "run the same command to resume.") from None


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       allow_config_change: bool = False) -> steps.TrainState:
  """Trains the model of `config` in `workdir`, resuming from its last checkpoint.

  Writes `config.json`, `metrics.jsonl`, orbax checkpoints under `checkpoints/`,
  TensorBoard event files, and at the end `params.npz`, `curves.png` and
  `samples.png` (with `samples.gif` for videos, `samples.mid` for music). The
  workdir is locked while the run lasts (`workdirs.workdir_lock`).

  Args:
    config: the run's config.
    workdir: the run's directory.
    allow_config_change: resume with a config that differs from the workdir's
      (see `workdirs.check_resume`): the change applies from the checkpoint on and is
      recorded in metrics.jsonl.

  Raises:
    ValueError: a bad config value, data set or workdir (before anything is
      written), a changed config on resume, or a workdir in use.
    NonFiniteError: the gradients became NaN or inf (the last good checkpoint is
      kept).
    Interrupted: Ctrl-C (a KeyboardInterrupt), after the checkpoint of the last
      recorded update was saved.
    checkpoints.SaveError: a checkpoint could not be written.
  """
  if "sweep" in config:
    raise ValueError(
        "config.sweep is set: this config is a sweep, which a single run would "
        "ignore; train it with experiments.sweep (rj.train does), or remove "
        "config.sweep.")
  setup_ = setup(config)
  workdirs.check_workdir(workdir)
  with workdirs.workdir_lock(workdir):
    return _train_and_evaluate(setup_, workdir, allow_config_change)


# What a finished single run leaves beside its checkpoints.
FINAL_OUTPUTS = ("params.npz", "curves.png", "samples.png")


def is_finished(workdir: str, config: ml_collections.ConfigDict) -> bool:
  """Whether `workdir` holds a run of `config` that has done all its updates and
  written its final outputs: resuming it has nothing to do."""
  latest = checkpoints.latest_step(
      workdir, checkpoints.manager_options(config.train.keep_checkpoints))
  return latest == total_steps(config) and all(
      os.path.exists(os.path.join(workdir, name)) for name in FINAL_OUTPUTS)


def _train_and_evaluate(setup_: Setup, workdir: str,
                        allow_config_change: bool) -> steps.TrainState:
  config = setup_.config
  state = initial_state(config, setup_.model, setup_.optimizer,
                        setup_.pretrain_optimizer)
  if is_finished(workdir, config):
    # Still restored (and its config checked): the caller gets the final state.
    state = run_loop(setup_, workdir, state, records.describe_single,
                     allow_config_change=allow_config_change)
    logging.info("%s is finished (all %d updates done): nothing to do; its "
                 "outputs are %s.", workdir, total_steps(config),
                 ", ".join(FINAL_OUTPUTS))
    return state

  def write_outputs(state: steps.TrainState, tensorboard) -> None:
    checkpoints.save_params(os.path.join(workdir, "params.npz"), state.params)
    plotting = records.plotting()
    plotting.write_curves(workdirs.metrics_path(workdir),
                          os.path.join(workdir, "curves.png"), config)
    # Imported late: pictures pull in matplotlib, which the library does not need.
    from rtrbm_jax.outputs import samples  # pylint: disable=g-import-not-at-top
    drawn, primed = config.eval.num_samples, config.eval.prime_frames
    samples.write_generated_samples(
        workdir, "samples", setup_.dataset.kind, setup_.model, state.params,
        jax.random.key(config.seed + 2), setup_.dataset.test[:drawn, :primed],
        config.eval.generate_frames, config.eval.num_gibbs_steps, int(state.step),
        setup_.dataset.standardizer, tensorboard, actual=setup_.dataset.test[
            :drawn, primed:primed + config.eval.generate_frames])

  return run_loop(setup_, workdir, state, records.describe_single,
                  allow_config_change=allow_config_change, finish=write_outputs)

