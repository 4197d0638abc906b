"""Training: a pure, jitted train step and the loop that owns the workdir.

Data flow: config -> `load_dataset` -> device arrays -> jitted chunks of
`train_step` (batches drawn on the device) -> metrics, checkpoints, plots.

Reproducibility: batch `i` and the Gibbs chains of update `i` are pure functions of
`(seed, i)` (batch `i` is slice `i mod E` of epoch `i div E`'s permutation), so the
step *is* the data-pipeline position, and a run resumed from its checkpoint follows
the same path as one never stopped: on CPU, bit for bit.

A run has two phases: `config.pretrain.num_steps` updates of `w_vh, b_v, b_h` as a
plain RBM on all frames (the paper's code pretrains the weights this way), then
`config.train.num_steps` updates of the temporal model.
"""

import contextlib
import fcntl
import functools
import json
import os
import socket
import time
from typing import Any, NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp

from rtrbm_jax import evaluation
from rtrbm_jax import files
from rtrbm_jax import metric_writers
from rtrbm_jax import models
from rtrbm_jax import progress
from rtrbm_jax import rbm
from rtrbm_jax import temporal
from rtrbm_jax import validation
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued

Array = jax.Array

# Per-dimension mean and scale of real-valued data, written beside the checkpoints.
STANDARDIZER_FILE = "standardizer.npz"


class TrainState(NamedTuple):
  """Everything a run needs to continue, as one pytree.

  Attributes:
    step: [] int32 number of updates done (pretraining included).
    params: the model's parameters.
    opt_state: optimizer state of the temporal-model phase.
    pretrain_opt_state: optimizer state of the RBM pretraining phase.
    key: [2] uint32 raw data of the run's PRNG key (raw so checkpoints hold a
      plain array); keys of update i are folded in from it.
    gibbs_steps: [S + 1] int32 k of CD-k before the first entry of
      `config.train.gibbs_schedule` and from each entry on (in the state, not the
      compiled step, so a sweep can vary it).
    chains: [B * T, nv] visible states of the persistent chains with
      `config.train.chain_start="persistent"`, else None.
  """
  step: Array
  params: Any
  opt_state: Any
  pretrain_opt_state: Any
  key: Array
  gibbs_steps: Array
  chains: Array | None


def learning_rate_schedule(optimizer_config, num_steps: int) -> optax.Schedule:
  """Constant, linear decay to 0 (the paper's) or cosine, after a linear warmup."""
  rate = optimizer_config.learning_rate
  warmup = optimizer_config.warmup_steps
  decay_steps = max(num_steps - warmup, 1)
  if optimizer_config.schedule == "constant":
    schedule = optax.constant_schedule(rate)
  elif optimizer_config.schedule == "linear":
    schedule = optax.linear_schedule(rate, 0.0, decay_steps)
  else:
    schedule = optax.cosine_decay_schedule(rate, decay_steps)
  if warmup:
    return optax.join_schedules(
        [optax.linear_schedule(0.0, rate, warmup), schedule], [warmup])
  return schedule


def make_optimizer(optimizer_config, num_steps: int) -> optax.GradientTransformation:
  """The optax chain named by `config.optimizer`.

  Gradient clipping (if `clip_norm` > 0), then weight decay on the weight matrices
  only (added to the gradient, i.e. L2 regularisation, before momentum or Adam's
  scaling), then SGD with momentum or Adam, then the learning-rate schedule.
  The learning rate, momentum and weight decay live in the optimizer state
  (`optax.inject_hyperparams`), so a sweep vmaps over them with one compiled step.
  """
  relative = ml_collections.ConfigDict(optimizer_config.to_dict())
  relative.learning_rate = 1.0
  relative_schedule = learning_rate_schedule(relative, num_steps)

  def chain(learning_rate, momentum, weight_decay):
    parts = []
    if optimizer_config.clip_norm:
      parts.append(optax.clip_by_global_norm(optimizer_config.clip_norm))
    parts.append(optax.add_decayed_weights(
        weight_decay,
        mask=lambda params: jax.tree.map(lambda leaf: leaf.ndim == 2, params)))
    if optimizer_config.name == "sgd":
      parts.append(optax.trace(decay=momentum, nesterov=optimizer_config.nesterov))
    else:
      parts.append(optax.scale_by_adam(b1=optimizer_config.b1,
                                       b2=optimizer_config.b2,
                                       eps=optimizer_config.eps))
    parts.append(optax.scale_by_schedule(
        lambda count: -learning_rate * relative_schedule(count)))
    return optax.chain(*parts)

  return optax.inject_hyperparams(chain)(
      learning_rate=optimizer_config.learning_rate,
      momentum=optimizer_config.momentum,
      weight_decay=optimizer_config.weight_decay)


def make_pretrain_optimizer(pretrain_config) -> optax.GradientTransformation:
  return optax.sgd(pretrain_config.learning_rate,
                   momentum=pretrain_config.momentum or None)


def _gibbs_steps(train_config) -> Array:
  """[S + 1] k of CD-k before the schedule's first entry and from each entry on."""
  return jnp.asarray([train_config.num_gibbs_steps]
                     + [value for _, value in train_config.gibbs_schedule],
                     jnp.int32)


def init_state(config: ml_collections.ConfigDict, model: models.TemporalModel,
               optimizer, pretrain_optimizer) -> TrainState:
  key = jax.random.key(config.seed)
  params = model.init_params(jax.random.fold_in(key, 0), config.model.num_visible,
                             config.model.num_hidden, config.model.weight_scale)
  gibbs_steps = _gibbs_steps(config.train)
  chains = None
  if config.train.chain_start == "persistent":
    chains = jnp.zeros((config.train.batch_size * config.data.num_frames,
                        config.model.num_visible), params.w_vh.dtype)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=optimizer.init(params),
                    pretrain_opt_state=pretrain_optimizer.init(params),
                    key=jax.random.key_data(key),
                    gibbs_steps=gibbs_steps, chains=chains)


def gibbs_steps_at(train_config, gibbs_steps: Array, update: Array) -> Array:
  """k of CD-k at a temporal-model update: the schedule entry in force then."""
  starts = jnp.asarray([start for start, _ in train_config.gibbs_schedule],
                       jnp.int32)
  return gibbs_steps[jnp.sum(update >= starts)]


def _is_finite(tree) -> Array:
  return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(leaf))
                              for leaf in jax.tree.leaves(tree)]))


def _apply_if_finite(state: TrainState, grads, optimizer, opt_state_field: str,
                     finite: Array) -> tuple[TrainState, Array]:
  """One optimizer update, unless the gradients or the new parameters are not finite.

  Then the state is kept as it was (so what a checkpoint could hold stays good) and
  the returned flag is False; the loop stops at its next sync.
  """
  opt_state = getattr(state, opt_state_field)
  updates, new_opt_state = optimizer.update(grads, opt_state, state.params)
  new_params = optax.apply_updates(state.params, updates)
  finite = finite & _is_finite(new_params)
  keep = lambda new, old: jax.tree.map(
      lambda a, b: jnp.where(finite, a, b), new, old)
  return state._replace(step=state.step + 1,
                        params=keep(new_params, state.params),
                        **{opt_state_field: keep(new_opt_state, opt_state)}), finite


def make_train_step(model: models.TemporalModel, optimizer, config):
  """`train_step(state, batch [B, T, nv], key) -> (state, metrics)` (pure)."""
  pretrain_steps = config.pretrain.num_steps

  def train_step(state: TrainState, batch: Array, key: Array):
    num_gibbs_steps = gibbs_steps_at(config.train, state.gibbs_steps,
                                     state.step - pretrain_steps)
    chains = None
    if state.chains is not None:
      # Persistent chains; the first update's start at its data, as CD's do.
      chains = jnp.where(state.step == pretrain_steps, temporal.rows(batch),
                         state.chains)
    grads, aux = model.cd_gradient(state.params, batch, key, num_gibbs_steps,
                                   persistent_visible=chains)
    state, finite = _apply_if_finite(state, grads, optimizer, "opt_state",
                                     _is_finite((grads, aux)))
    if chains is not None:
      state = state._replace(chains=jnp.where(finite, aux.chain_visible, chains))
    metrics = dict(reconstruction_error=aux.reconstruction_error,
                   free_energy_gap=aux.free_energy_gap,
                   gradient_norm=optax.tree.norm(grads),
                   num_gibbs_steps=num_gibbs_steps.astype(jnp.float32),
                   finite=finite.astype(jnp.float32))
    return state, metrics

  return train_step


def make_pretrain_step(model: models.TemporalModel, optimizer, config):
  """CD-k for `w_vh, b_v, b_h` as one plain RBM over all frames (hidden bias b_h)."""
  num_gibbs_steps = config.pretrain.num_gibbs_steps

  def pretrain_step(state: TrainState, batch: Array, key: Array):
    params = state.params
    frames = batch.reshape(-1, batch.shape[-1])
    gradient, chain = rbm.cd_gradient(key, params.w_vh, params.b_v, params.b_h,
                                      frames, num_gibbs_steps, model.visible_type,
                                      model.sampler)
    # Summed over frames, averaged over sequences, like the temporal loss.
    batch_size = batch.shape[0]
    grads = jax.tree.map(jnp.zeros_like, params)._replace(
        w_vh=gradient.w_vh / batch_size,
        b_v=gradient.visible_bias / batch_size,
        b_h=gradient.hidden_bias / batch_size)
    state, finite = _apply_if_finite(state, grads, optimizer, "pretrain_opt_state",
                                     _is_finite(grads))
    metrics = dict(
        reconstruction_error=jnp.mean(jnp.sum(
            jnp.square(frames - chain.visible_mean), axis=-1)),
        gradient_norm=optax.tree.norm(grads),
        finite=finite.astype(jnp.float32))
    return state, metrics

  return pretrain_step


def sample_batch(data: Array, key: Array, step: Array, batch_size: int) -> Array:
  """Batch number `step`: slice `step mod E` of epoch `step div E`'s permutation.

  E = floor(M / batch_size) batches per epoch; the remainder of each epoch's
  permutation is skipped. Runs on the device, so data never leave it.
  """
  batches_per_epoch = data.shape[0] // batch_size
  epoch, position = jnp.divmod(step, batches_per_epoch)
  permutation = jax.random.permutation(jax.random.fold_in(key, epoch), data.shape[0])
  indices = jax.lax.dynamic_slice(permutation, (position * batch_size,),
                                  (batch_size,))
  return data[indices]


def make_run_steps(step_fn, batch_size: int, swept: bool = False,
                   batch_sharding=None, sweep_group_size: int = 0):
  """A jitted function running `num_steps` updates in one `lax.scan`.

  Returns `run_steps(state, data, num_steps) -> (state, metrics)`, metrics averaged
  over the steps (`finite` is their minimum). The host syncs only between calls.

  Args:
    step_fn: `(state, batch, key) -> (state, metrics)`.
    batch_size: sequences per update.
    swept: the state carries a leading sweep axis; every point runs the same
      program (`jax.vmap`), sharing the data array.
    batch_sharding: optional `jax.sharding.Sharding` for the `[B, T, nv]` batch
      (data parallelism: XLA splits the step over the batch axis and all-reduces
      the gradients).
    sweep_group_size: with `swept`, 0 vmaps all points at once; g > 0 runs groups
      of g vmapped points one after another (`lax.map`), still one program. On CPU,
      batched matrix products are slower than unbatched ones, so large models
      sweep faster in small groups; small models gain from vmapping them all.
  """

  def run(state: TrainState, data: Array, num_steps: int):
    chain_key, data_key = jax.random.split(jax.random.wrap_key_data(state.key))

    def body(state, _):
      batch = sample_batch(data, data_key, state.step, batch_size)
      if batch_sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
      return step_fn(state, batch, jax.random.fold_in(chain_key, state.step))

    state, metrics = jax.lax.scan(body, state, None, length=num_steps)
    finite = jnp.min(metrics.pop("finite"))
    metrics = jax.tree.map(jnp.mean, metrics)
    metrics["finite"] = finite
    return state, metrics

  if swept:
    single = run
    if sweep_group_size:
      run = lambda state, data, num_steps: jax.lax.map(
          lambda point: single(point, data, num_steps), state,
          batch_size=sweep_group_size)
    else:
      run = lambda state, data, num_steps: jax.vmap(
          lambda point: single(point, data, num_steps))(state)
  return jax.jit(run, static_argnums=2)


class NonFiniteError(ValueError):
  """The loss or gradients became NaN or inf (a ValueError: bad numbers, exit 1)."""


def _write_config(workdir: str, config: ml_collections.ConfigDict,
                  dataset: datasets.Dataset) -> None:
  """config.json, and the data's standardisation (so samples map to data units)."""
  path = os.path.join(workdir, "config.json")
  with files.atomic_write(path) as f:
    f.write(config.to_json(indent=2))
  if dataset.standardizer is not None:
    path = os.path.join(workdir, STANDARDIZER_FILE)
    with files.atomic_write(path, "wb") as f:
      np.savez(f, **dataset.standardizer._asdict())


def _truncate_metrics(path: str, last_step: int) -> None:
  """Drops records past the checkpoint a run resumes from (written before a crash).

  A last line cut short by a kill during its write is dropped too; a damaged line
  before others is an error naming the file and the line.
  """
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = [line for line in f if line.strip()]
  records = []
  for number, line in enumerate(lines, 1):
    try:
      step = json.loads(line)["step"]
    except (ValueError, KeyError, TypeError) as error:
      if number == len(lines):
        logging.warning("Dropped the torn last line of %s (a run stopped while "
                        "writing it).", path)
        break
      raise ValueError(f"{path}, line {number}, is not a metrics record ({error}); "
                       "remove that line to resume.") from error
    if step <= last_step:
      records.append(line if line.endswith("\n") else line + "\n")
  with files.atomic_write(path) as f:
    f.writelines(records)


LOCK_FILE = "lock"


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
  while True:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
        break
    except FileNotFoundError:
      pass
    os.close(descriptor)
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


# Fields that say how a run is watched or laid out, not what it computes: they
# may change when a run resumes.
_LAYOUT_FIELDS = ("train.log_every", "train.checkpoint_every",
                  "train.keep_checkpoints", "train.plot_every", "train.parallelism",
                  "train.sweep_group_size", "eval.")
# Fields a started run cannot take: they fix the parameters' shapes, their
# initialisation or the updates already done.
_FIXED_FIELDS = ("seed", "model.kind", "model.num_visible", "model.num_hidden",
                 "model.num_recurrent", "model.visible_type", "model.weight_scale",
                 "optimizer.name", "pretrain.num_steps", "sweep.",
                 "train.chain_start")
# Persistent chains hold one state per frame of a batch: their count is fixed too.
_FIXED_WITH_PERSISTENT_CHAINS = ("train.batch_size", "data.num_frames")


def _flatten(tree: dict, prefix: str = "") -> dict:
  flat = {}
  for name, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f"{prefix}{name}."))
    else:
      flat[prefix + name] = value
  return flat


def config_changes(stored: dict, config: ml_collections.ConfigDict) -> dict:
  """{field: (stored value, new value)} of the fields that differ (as JSON)."""
  old, new = _flatten(stored), _flatten(json.loads(config.to_json()))
  return {field: (old.get(field), new.get(field))
          for field in sorted(set(old) | set(new))
          if old.get(field) != new.get(field)}


def check_resume(workdir: str, config: ml_collections.ConfigDict, step: int,
                 allow_config_change: bool) -> dict:
  """Decides whether a run at `step` may resume with `config`.

  The rule: a run resumes with the config it was made with. Layout fields
  (`_LAYOUT_FIELDS`: logging, checkpoints, plots, evaluation) may change. Other
  changes need `allow_config_change`, and then take effect from `step` on (the
  caller records them in metrics.jsonl); fields that fix shapes, the
  initialisation or past updates (`_FIXED_FIELDS`) never change, nor can
  `train.num_steps` drop below the updates done, nor a finished run take a change
  that no update would use.

  Returns:
    The changes that need the flag, {field: (old, new)} (empty if none).

  Raises:
    ValueError: one line naming the fields and what to do.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    return {}
  try:
    with open(path) as f:
      stored = json.load(f)
  except ValueError as error:
    raise ValueError(f"{path} is damaged ({error}); restore it or remove the "
                     "workdir's checkpoints to start over.") from error
  changes = {field: values for field, values in config_changes(stored, config).items()
             if not field.startswith(_LAYOUT_FIELDS)}
  if not changes:
    return {}
  listed = ", ".join(f"{field} {old!r} -> {new!r}"
                     for field, (old, new) in changes.items())
  fixed_fields = _FIXED_FIELDS + (_FIXED_WITH_PERSISTENT_CHAINS
                                  if config.train.chain_start == "persistent"
                                  else ())
  fixed = [field for field in changes if field.startswith(fixed_fields)]
  total = config.pretrain.num_steps + config.train.num_steps
  if fixed:
    raise ValueError(
        f"the run in {workdir} (at update {step}) cannot take a change of "
        f"{', '.join(fixed)} ({listed}): these fix the parameters or the updates "
        "done; use a new workdir.")
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
    raise ValueError(
        f"the run in {workdir} has finished ({step} updates): no update would use "
        f"{listed}; raise train.num_steps to train further with it.")
  return changes


def apply_config(state: TrainState, config: ml_collections.ConfigDict) -> TrainState:
  """A restored single-run state with the config's hyperparameters and CD-k.

  The optimizer's learning rate, momentum and weight decay and the CD-k values
  live in the state; without this a resumed run would keep the checkpoint's.
  With an unchanged config it changes nothing.
  """
  hyperparams = dict(state.opt_state.hyperparams)
  for name in hyperparams:
    hyperparams[name] = jnp.asarray(config.optimizer[name],
                                    hyperparams[name].dtype)
  gibbs_steps = _gibbs_steps(config.train)
  if gibbs_steps.shape != state.gibbs_steps.shape:
    raise ValueError(
        f"config.train.gibbs_schedule={config.train.gibbs_schedule!r} is not "
        f"accepted on resume: it must keep its {state.gibbs_steps.shape[0] - 1} "
        "entries (their values and updates may change).")
  return state._replace(
      opt_state=state.opt_state._replace(hyperparams=hyperparams),
      gibbs_steps=gibbs_steps)


def _restore_newest(workdir: str, options, state: TrainState):
  """(manager, state, step) from the newest checkpoint that restores.

  A checkpoint that does not restore while an older one does is damaged (a
  truncated file, an emptied `_METADATA`, a deleted item): it is moved to
  `workdir/damaged_checkpoints/` and the run resumes from the older one. If none
  restores, the config (not the files) is the likely cause: nothing is moved.
  """
  directory = os.path.join(os.path.abspath(workdir), "checkpoints")
  manager = ocp.CheckpointManager(directory, options=options)
  failures = []
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      restored = manager.restore(step, args=ocp.args.StandardRestore(state))
    except Exception as error:  # pylint: disable=broad-except
      # Orbax and tensorstore raise many kinds of errors for damaged files, and
      # a manager that failed once fails on every other step too: start afresh.
      failures.append((step, error))
      manager.close()
      manager = ocp.CheckpointManager(directory, options=options)
      continue
    if failures:
      manager.close()
      aside = os.path.join(workdir, "damaged_checkpoints")
      os.makedirs(aside, exist_ok=True)
      for bad_step, error in failures:
        target = os.path.join(aside, str(bad_step))
        if os.path.exists(target):
          target += f".{int(time.time())}"
        os.replace(os.path.join(directory, str(bad_step)), target)
        logging.warning("The checkpoint at step %d does not restore (%s: %s); "
                        "moved it to %s and resumed from step %d.", bad_step,
                        type(error).__name__, str(error).splitlines()[0][:200],
                        target, step)
      manager = ocp.CheckpointManager(directory, options=options)
    return manager, restored, step
  if failures:
    step, error = failures[0]
    manager.close()
    raise ValueError(
        f"no checkpoint in {directory} restores: they do not fit this config "
        "(model sizes, optimizer or sweep differ) or are damaged; at step "
        f"{step}: {str(error).splitlines()[0][:300]}") from error
  return manager, state, None


def save_params(path: str, params) -> None:
  """Parameters as .npz, one array per field, readable with numpy alone."""
  np.savez(path, **{name: np.asarray(value)
                    for name, value in params._asdict().items()})


class Setup(NamedTuple):
  """What a run needs before its loop: validated config, data, model, optimizers."""
  config: ml_collections.ConfigDict
  dataset: datasets.Dataset
  model: models.TemporalModel
  optimizer: optax.GradientTransformation
  pretrain_optimizer: optax.GradientTransformation


def setup(config: ml_collections.ConfigDict) -> Setup:
  """Validates the config and the data (before anything is written anywhere)."""
  validation.validate_config(config)
  dataset = datasets.load_dataset(config.data)
  validation.check_dataset(config, dataset)
  model = models.from_config(config)
  validation.check_memory(config, model, dataset)
  return Setup(config, dataset, model,
               make_optimizer(config.optimizer, config.train.num_steps),
               make_pretrain_optimizer(config.pretrain))


def _mesh_shardings(config):
  """(batch sharding, state sharding) for `config.train.parallelism`."""
  parallelism = config.train.parallelism
  if parallelism == "none":
    return None, None
  mesh = jax.sharding.Mesh(np.array(jax.devices()), ("devices",))
  split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("devices"))
  return (split, None) if parallelism == "data" else (None, split)


def run_loop(setup_: Setup, workdir: str, state: TrainState, describe,
             swept: bool = False, allow_config_change: bool = False) -> TrainState:
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
      (`check_resume`); the change is recorded in metrics.jsonl.

  Returns:
    The final state.
  """
  config, dataset, model = setup_.config, setup_.dataset, setup_.model
  total_steps = config.pretrain.num_steps + config.train.num_steps
  batch_sharding, state_sharding = _mesh_shardings(config)

  os.makedirs(workdir, exist_ok=True)
  options = ocp.CheckpointManagerOptions(
      max_to_keep=config.train.keep_checkpoints, create=True)
  manager = ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"), options=options)
  latest = manager.latest_step()
  manager.close()
  changes = {}
  if latest is not None:
    changes = check_resume(workdir, config, latest,
                           allow_config_change and not swept)
  manager, state, restored = _restore_newest(workdir, options, state)
  if restored is not None:
    logging.info("Resumed from the checkpoint at step %d.", restored)
    if not swept:
      state = apply_config(state, config)
  if state_sharding is not None:
    state = jax.device_put(state, state_sharding)
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  _truncate_metrics(metrics_path, int(np.max(state.step)))
  if changes:
    logging.warning("Config changed from step %d on: %s", restored, changes)
    with open(metrics_path, "a") as f:
      f.write(json.dumps({"step": restored, "config_change": {
          field: {"from": old, "to": new} for field, (old, new) in changes.items()}})
              + "\n")
  _write_config(workdir, config, dataset)

  train_data = jnp.asarray(dataset.train)
  eval_data = jnp.asarray(dataset.test[:config.eval.num_sequences])
  group_size = config.train.get("sweep_group_size", 0)
  run_train = make_run_steps(
      make_train_step(model, setup_.optimizer, config), config.train.batch_size,
      swept, batch_sharding, group_size)
  run_pretrain = make_run_steps(
      make_pretrain_step(model, setup_.pretrain_optimizer, config),
      config.pretrain.batch_size, swept, batch_sharding, group_size)
  evaluate = functools.partial(evaluation.next_frame_prediction_error, model,
                               num_gibbs_steps=config.eval.num_gibbs_steps)
  if swept:
    evaluate = jax.vmap(evaluate, in_axes=(0, None, None))
  evaluate = jax.jit(evaluate)
  eval_key = jax.random.key(config.seed + 1)
  # The floor a model must beat, drawn beside the held-out curve.
  copy_last_error = float(evaluation.prediction_error(
      evaluation.baseline_predictions(eval_data)["copy_last_frame"],
      eval_data).mean) if config.eval.every else None

  step = int(np.max(state.step))
  eta = progress.TrainingEta(config.pretrain.num_steps, total_steps,
                             config.eval.every, config.train.log_every)
  tensorboard = metric_writers.TensorBoardWriter(
      workdir, config, step, list(config.sweep.keys()) if swept else None)
  # A run stopped by an error still completes the checkpoint in flight.
  with open(metrics_path, "a") as metrics_file, _closing(manager), \
      contextlib.closing(tensorboard):
    while step < total_steps:
      pretraining = step < config.pretrain.num_steps
      phase = "pretrain" if pretraining else "train"
      phase_end = config.pretrain.num_steps if pretraining else total_steps
      # Chunks end on multiples of log_every (and at the phase's end), so a resumed
      # run compiles and runs exactly the chunks an uninterrupted one does.
      num_steps = min(config.train.log_every - step % config.train.log_every,
                      phase_end - step)
      run = run_pretrain if pretraining else run_train
      chunk_start = time.time()
      state, metrics = run(state, train_data, num_steps)
      metrics = jax.tree.map(np.asarray, metrics)
      # Fetching the metrics waited for the chunk; the first chunk of each phase
      # includes compilation.
      chunk_seconds = max(time.time() - chunk_start, 1e-9)
      steps_per_second = num_steps / chunk_seconds
      eta.record_chunk(phase, num_steps, chunk_seconds)
      step += num_steps
      if not swept and not metrics["finite"]:
        kept = manager.latest_step()
        raise NonFiniteError(
            f"NaN or inf in the gradients or parameters before step {step}; the "
            "run stopped and " + ("no checkpoint had been written yet" if kept is None
                                  else f"the last good checkpoint ({kept}) is kept")
            + ". Try a smaller learning rate.")
      error = None
      if config.eval.every and (step % config.eval.every == 0 or
                                step == total_steps):
        eval_start = time.time()
        error = jax.tree.map(np.asarray, evaluate(state.params, eval_data, eval_key))
        eta.record_eval(time.time() - eval_start)
      records = describe(step, phase, metrics, error)
      for record in records:
        if error is not None:
          record["heldout_copy_last_frame_error"] = copy_last_error
        record["steps_per_second"] = steps_per_second
        # Wall-clock time of the record (Unix seconds), for error-vs-time curves.
        record["time"] = time.time()
        metrics_file.write(json.dumps(record) + "\n")
      metrics_file.flush()
      tensorboard.write_records(records)
      for record in records:
        logging.info("step %d/%d (%s) %s | %.2f steps/s, %s", step,
                     total_steps, phase,
                     " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in record.items()
                              if k not in ("step", "phase", "steps_per_second")),
                     steps_per_second, eta.describe(step))
      if step % config.train.checkpoint_every == 0 or step == total_steps:
        manager.save(step, args=ocp.args.StandardSave(state))
      if config.train.plot_every and step % config.train.plot_every == 0:
        _plotting().write_curves(metrics_path, os.path.join(workdir, "curves.png"))
  return state


@contextlib.contextmanager
def _closing(manager: ocp.CheckpointManager):
  """Waits for asynchronous saves and closes the manager, even on an error."""
  try:
    yield manager
  finally:
    manager.wait_until_finished()
    manager.close()


def _plotting():
  # Imported late: plotting pulls in matplotlib, which the library does not need.
  from rtrbm_jax import plotting  # pylint: disable=g-import-not-at-top
  return plotting


def _describe_single(step, phase, metrics, error):
  record = {"step": step, "phase": phase,
            **{name: float(value) for name, value in metrics.items()
               if name != "finite"}}
  if error is not None:
    record["heldout_next_frame_error"] = float(error.mean)
    record["heldout_next_frame_error_se"] = float(error.standard_error)
  return [record]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       allow_config_change: bool = False) -> TrainState:
  """Trains the model of `config` in `workdir`, resuming from its last checkpoint.

  Writes `config.json`, `metrics.jsonl`, orbax checkpoints under `checkpoints/`,
  TensorBoard event files, and at the end `params.npz`, `curves.png` and
  `samples.png` (with `samples.gif` for videos, `samples.mid` for music). The
  workdir is locked while the run lasts (`workdir_lock`).

  Args:
    config: the run's config.
    workdir: the run's directory.
    allow_config_change: resume with a config that differs from the workdir's
      (see `check_resume`): the change applies from the checkpoint on and is
      recorded in metrics.jsonl.

  Raises:
    ValueError: a bad config value, data set or workdir (before anything is
      written), a changed config on resume, or a workdir in use.
    NonFiniteError: the gradients became NaN or inf (the last good checkpoint is
      kept).
  """
  setup_ = setup(config)
  check_workdir(workdir)
  with workdir_lock(workdir):
    return _train_and_evaluate(setup_, workdir, allow_config_change)


def _train_and_evaluate(setup_: Setup, workdir: str,
                        allow_config_change: bool) -> TrainState:
  config = setup_.config
  state = init_state(config, setup_.model, setup_.optimizer,
                     setup_.pretrain_optimizer)
  state = run_loop(setup_, workdir, state, _describe_single,
                   allow_config_change=allow_config_change)

  save_params(os.path.join(workdir, "params.npz"), state.params)
  plotting = _plotting()
  plotting.write_curves(os.path.join(workdir, "metrics.jsonl"),
                        os.path.join(workdir, "curves.png"))
  prime = setup_.dataset.test[:config.eval.num_samples, :config.eval.prime_frames]
  # Imported late: pictures pull in matplotlib, which the library does not need.
  from rtrbm_jax import outputs  # pylint: disable=g-import-not-at-top
  generated = np.asarray(setup_.model.generate(
      state.params, jax.random.key(config.seed + 2), jnp.asarray(prime),
      config.eval.generate_frames, config.eval.num_gibbs_steps))
  if setup_.dataset.standardizer is not None:
    prime, generated = (real_valued.unstandardize(setup_.dataset.standardizer, x)
                        for x in (prime, generated))
  outputs.write_samples(workdir, "samples", prime, generated, int(state.step))
  return state

