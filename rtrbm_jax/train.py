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
import functools
import json
import os
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
from rtrbm_jax import metric_writers
from rtrbm_jax import models
from rtrbm_jax import progress
from rtrbm_jax import rbm
from rtrbm_jax import temporal
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued

Array = jax.Array

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "linear", "cosine")
# "data": split every batch over all devices; "sweep": split a sweep's points.
PARALLELISM = ("none", "data", "sweep")
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


def _fail(field: str, value, accepted: str):
  raise ValueError(f"config.{field}={value!r} is not accepted: {accepted}.")


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every config value that can be checked without data.

  Raises:
    ValueError: one line naming the field, the value and what is accepted.
  """
  positive_ints = ["model.num_hidden", "model.num_visible", "train.batch_size",
                   "train.num_gibbs_steps", "train.log_every",
                   "train.checkpoint_every", "train.keep_checkpoints",
                   "data.num_frames", "eval.num_sequences", "eval.num_gibbs_steps",
                   "pretrain.num_gibbs_steps", "pretrain.batch_size"]
  non_negative_ints = ["train.num_steps", "pretrain.num_steps", "eval.every",
                       "train.plot_every", "optimizer.warmup_steps",
                       "train.sweep_group_size"]

  def get(field):
    value = config
    for part in field.split("."):
      value = value[part]
    return value

  for field in positive_ints:
    value = get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      _fail(field, value, "an integer >= 1")
  for field in non_negative_ints:
    value = get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
      _fail(field, value, "an integer >= 0")
  for field in ("optimizer.learning_rate", "pretrain.learning_rate"):
    if not get(field) > 0:
      _fail(field, get(field), "a learning rate > 0")
  for field in ("optimizer.momentum", "pretrain.momentum"):
    if not 0 <= get(field) < 1:
      _fail(field, get(field), "a momentum in [0, 1)")
  for field in ("optimizer.weight_decay", "optimizer.clip_norm",
                "model.weight_scale"):
    if not get(field) >= 0:
      _fail(field, get(field), "a value >= 0")
  if config.optimizer.name not in OPTIMIZERS:
    _fail("optimizer.name", config.optimizer.name, f"one of {OPTIMIZERS}")
  if config.optimizer.schedule not in SCHEDULES:
    _fail("optimizer.schedule", config.optimizer.schedule, f"one of {SCHEDULES}")
  if config.model.kind not in models.MODEL_KINDS:
    _fail("model.kind", config.model.kind, f"one of {models.MODEL_KINDS}")
  num_recurrent = config.model.get("num_recurrent")
  if num_recurrent is not None and (not isinstance(num_recurrent, int)
                                    or num_recurrent < 1):
    _fail("model.num_recurrent", num_recurrent,
          "None (as many as num_hidden) or an integer >= 1")
  if config.train.chain_start not in temporal.CHAIN_STARTS:
    _fail("train.chain_start", config.train.chain_start,
          f"one of {temporal.CHAIN_STARTS}")
  if config.model.visible_type not in rbm.VISIBLE_TYPES:
    _fail("model.visible_type", config.model.visible_type,
          f"one of {rbm.VISIBLE_TYPES}")
  if config.model.sampler not in rbm.BERNOULLI_SAMPLERS:
    _fail("model.sampler", config.model.sampler,
          f"one of {rbm.BERNOULLI_SAMPLERS}")
  if config.train.parallelism not in PARALLELISM:
    _fail("train.parallelism", config.train.parallelism, f"one of {PARALLELISM}")
  if config.data.name not in datasets.DATASET_NAMES:
    _fail("data.name", config.data.name, f"one of {datasets.DATASET_NAMES}")
  schedule = tuple(config.train.gibbs_schedule)
  starts = [entry[0] for entry in schedule] if all(
      len(entry) == 2 for entry in schedule) else None
  if (starts is None or starts != sorted(starts)
      or any(not isinstance(value, int) or value < 1
             for entry in schedule for value in entry)):
    _fail("train.gibbs_schedule", schedule,
          "pairs (update, num_gibbs_steps) of integers >= 1, in increasing update "
          "order")
  if config.train.checkpoint_every % config.train.log_every:
    _fail("train.checkpoint_every", config.train.checkpoint_every,
          f"a multiple of train.log_every={config.train.log_every}")
  for field in ("eval.every", "train.plot_every"):
    if get(field) % config.train.log_every:
      _fail(field, get(field),
            f"0 or a multiple of train.log_every={config.train.log_every}")
  if config.train.num_steps + config.pretrain.num_steps == 0:
    _fail("train.num_steps", 0, "at least one update in train or pretrain")


def check_dataset(config: ml_collections.ConfigDict,
                  dataset: datasets.Dataset) -> None:
  """Checks that the data fit the model and the batch sizes."""
  if dataset.num_visible != config.model.num_visible:
    _fail("model.num_visible", config.model.num_visible,
          f"the data set {config.data.name!r} has frames of {dataset.num_visible} "
          "units")
  if dataset.visible_type != config.model.visible_type:
    _fail("model.visible_type", config.model.visible_type,
          f"{dataset.visible_type!r}, the units of data set {config.data.name!r}")
  for field in ("train.batch_size", "pretrain.batch_size"):
    section, name = field.split(".")
    if (config.train.parallelism == "data"
        and config[section][name] % jax.device_count()):
      _fail(field, config[section][name],
            f"a multiple of the {jax.device_count()} devices with "
            "train.parallelism='data'")
    if config[section][name] > len(dataset.train):
      _fail(field, config[section][name],
            f"at most the {len(dataset.train)} training sequences")
  if config.eval.num_sequences > len(dataset.test):
    _fail("eval.num_sequences", config.eval.num_sequences,
          f"at most the {len(dataset.test)} held-out sequences")


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


def get_model(config: ml_collections.ConfigDict) -> models.TemporalModel:
  num_recurrent = config.model.get("num_recurrent")
  return models.get_model(
      config.model.kind, config.model.visible_type, config.model.sampler,
      num_recurrent=num_recurrent if config.model.kind == "rnnrbm" else None,
      chain_start=config.train.chain_start)


def init_state(config: ml_collections.ConfigDict, model: models.TemporalModel,
               optimizer, pretrain_optimizer) -> TrainState:
  key = jax.random.key(config.seed)
  params = model.init_params(jax.random.fold_in(key, 0), config.model.num_visible,
                             config.model.num_hidden, config.model.weight_scale)
  gibbs_steps = [config.train.num_gibbs_steps] + [
      value for _, value in config.train.gibbs_schedule]
  chains = None
  if config.train.chain_start == "persistent":
    chains = jnp.zeros((config.train.batch_size * config.data.num_frames,
                        config.model.num_visible), params.w_vh.dtype)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=optimizer.init(params),
                    pretrain_opt_state=pretrain_optimizer.init(params),
                    key=jax.random.key_data(key),
                    gibbs_steps=jnp.asarray(gibbs_steps, jnp.int32),
                    chains=chains)


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
    persistent = config.train.chain_start == "persistent"
    if persistent:
      # The first update's chains start at its data, as CD's do.
      chains = jnp.where(state.step == pretrain_steps, temporal.rows(batch),
                         state.chains)
      grads, aux = model.cd_gradient(state.params, batch, key, num_gibbs_steps,
                                     persistent_visible=chains)
    else:
      grads, aux = model.cd_gradient(state.params, batch, key, num_gibbs_steps)
    state, finite = _apply_if_finite(state, grads, optimizer, "opt_state",
                                     _is_finite((grads, aux)))
    if persistent:
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
    hidden_bias = jnp.broadcast_to(params.b_h, (frames.shape[0],) + params.b_h.shape)
    data_hidden = rbm.hidden_probabilities(params.w_vh, hidden_bias, frames)
    negative, chain = rbm.cd_statistics(key, params.w_vh, params.b_v, hidden_bias,
                                        data_hidden, num_gibbs_steps,
                                        model.visible_type)
    data = rbm.data_statistics(frames, data_hidden)
    batch_size = batch.shape[0]
    grads = jax.tree.map(jnp.zeros_like, params)._replace(
        w_vh=(negative.weight - data.weight) / batch_size,
        b_v=jnp.sum(negative.visible - data.visible, axis=0) / batch_size,
        b_h=jnp.sum(negative.hidden - data.hidden, axis=0) / batch_size)
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
  with open(path + ".tmp", "w") as f:
    f.write(config.to_json(indent=2))
  os.replace(path + ".tmp", path)
  if dataset.standardizer is not None:
    path = os.path.join(workdir, STANDARDIZER_FILE)
    with open(path + ".tmp", "wb") as f:
      np.savez(f, **dataset.standardizer._asdict())
    os.replace(path + ".tmp", path)


def _truncate_metrics(path: str, last_step: int) -> None:
  """Drops records past the checkpoint a run resumes from (written before a crash)."""
  if not os.path.exists(path):
    return
  with open(path) as f:
    records = [line for line in f if line.strip()
               and json.loads(line)["step"] <= last_step]
  with open(path + ".tmp", "w") as f:
    f.writelines(records)
  os.replace(path + ".tmp", path)


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
  validate_config(config)
  dataset = datasets.load_dataset(config.data)
  check_dataset(config, dataset)
  return Setup(config, dataset, get_model(config),
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
             swept: bool = False) -> TrainState:
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

  Returns:
    The final state.
  """
  config, dataset, model = setup_.config, setup_.dataset, setup_.model
  total_steps = config.pretrain.num_steps + config.train.num_steps
  batch_sharding, state_sharding = _mesh_shardings(config)

  os.makedirs(workdir, exist_ok=True)
  manager = ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"),
      options=ocp.CheckpointManagerOptions(
          max_to_keep=config.train.keep_checkpoints, create=True))
  latest = manager.latest_step()
  if latest is not None:
    try:
      state = manager.restore(latest, args=ocp.args.StandardRestore(state))
    except (ValueError, KeyError) as error:
      raise ValueError(
          f"the checkpoint in {workdir} does not fit this config (model sizes, "
          f"optimizer or sweep differ): {str(error).splitlines()[0]}") from error
    logging.info("Resumed from the checkpoint at step %d.", latest)
  if state_sharding is not None:
    state = jax.device_put(state, state_sharding)
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  _truncate_metrics(metrics_path, int(np.max(state.step)))
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


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains the model of `config` in `workdir`, resuming from its last checkpoint.

  Writes `config.json`, `metrics.jsonl`, orbax checkpoints under `checkpoints/`,
  TensorBoard event files, and at the end `params.npz`, `curves.png` and
  `samples.png` (with `samples.gif` for videos, `samples.mid` for music).

  Raises:
    ValueError: a bad config value or data set (before anything is written).
    NonFiniteError: the gradients became NaN or inf (the last good checkpoint is
      kept).
  """
  setup_ = setup(config)
  state = init_state(config, setup_.model, setup_.optimizer,
                     setup_.pretrain_optimizer)
  state = run_loop(setup_, workdir, state, _describe_single)

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

