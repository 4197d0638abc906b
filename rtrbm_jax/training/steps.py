"""The pure training step: train state, CD schedule, jitted chunks of updates.

No file, log or checkpoint here (the loop, `loop.py`, owns those): every function
takes the values it needs and returns new values. `make_train_step` is one update
of a temporal model (CD-k gradient, optimizer update, NaN guard) and
`make_pretrain_step` one update of its weights as a plain RBM; `make_run_steps`
runs either for a chunk of updates in one `lax.scan`, jitted once, and vmapped
over stacked states for a sweep.

Reproducibility: batch `i` and the Gibbs chains of update `i` are pure functions
of `(seed, i)` (batch `i` is slice `i mod E` of epoch `i div E`'s permutation, or
fresh sequences drawn from the key of `i`), so the step *is* the data-pipeline
position, and a run resumed from its checkpoint follows the same path as one
never stopped: on CPU, bit for bit.
"""

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from rtrbm_jax.models import rbm
from rtrbm_jax.models import temporal

Array = jax.Array


class GibbsSchedule(NamedTuple):
  """k of CD-k over the temporal model's updates: the whole CD schedule, as arrays.

  Entry i holds from update `starts[i]` on, until the next entry's start. Entry 0
  is `config.train.num_gibbs_steps` from update 0 on; the others are the pairs
  (update, k) of `config.train.gibbs_schedule`. The schedule lives in the train
  state, not in the compiled step: a sweep vmaps over it, and a resumed run can
  take a changed one (`apply_config`).

  Attributes:
    starts: [S + 1] int32 first update of each entry, increasing; starts[0] = 0.
    num_gibbs_steps: [S + 1] int32 k of each entry.
  """
  starts: Array
  num_gibbs_steps: Array


def gibbs_schedule(num_gibbs_steps: int,
                   changes: Sequence[tuple[int, int]] = ()) -> GibbsSchedule:
  """k = `num_gibbs_steps` from update 0, then the pairs (update, k) of `changes`
  (`config.train.num_gibbs_steps` and `config.train.gibbs_schedule`)."""
  entries = [(0, num_gibbs_steps)] + list(changes)
  return GibbsSchedule(
      starts=jnp.asarray([start for start, _ in entries], jnp.int32),
      num_gibbs_steps=jnp.asarray([value for _, value in entries], jnp.int32))


def gibbs_steps_at(schedule: GibbsSchedule, update: Array) -> Array:
  """k of CD-k at temporal-model update `update`: the entry in force then."""
  return schedule.num_gibbs_steps[jnp.sum(update >= schedule.starts[1:])]


class TrainState(NamedTuple):
  """Everything a run needs to continue, as one pytree.

  Attributes:
    step: [] int32 number of updates done (pretraining included).
    params: the model's parameters.
    opt_state: optimizer state of the temporal-model phase.
    pretrain_opt_state: optimizer state of the RBM pretraining phase.
    key: [2] uint32 raw data of the run's PRNG key (raw so checkpoints hold a
      plain array); keys of update i are folded in from it.
    gibbs_schedule: k of CD-k of the temporal-model updates.
    chains: [B * T, nv] visible states of the persistent chains with
      `config.train.chain_start="persistent"`, else None.
  """
  step: Array
  params: Any
  opt_state: Any
  pretrain_opt_state: Any
  key: Array
  gibbs_schedule: GibbsSchedule
  chains: Array | None



def init_state(model: temporal.TemporalModel, optimizer, pretrain_optimizer, *,
               seed: int, num_visible: int, num_hidden: int, weight_scale: float,
               schedule: GibbsSchedule, num_persistent_chains: int = 0
               ) -> TrainState:
  """The state before the first update.

  Args:
    model: the temporal model.
    optimizer: the temporal-model phase's optax transformation.
    pretrain_optimizer: the RBM pretraining phase's.
    seed: the run's seed; its key's fold 0 initialises the parameters.
    num_visible, num_hidden, weight_scale: the parameters' sizes and scale.
    schedule: the CD schedule (`gibbs_schedule`).
    num_persistent_chains: B * T persistent chains (each frame of a batch), or 0
      for none (`chain_start` other than "persistent").
  """
  key = jax.random.key(seed)
  params = model.init_params(jax.random.fold_in(key, 0), num_visible, num_hidden,
                             weight_scale)
  chains = None
  if num_persistent_chains:
    chains = jnp.zeros((num_persistent_chains, num_visible), params.w_vh.dtype)
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=optimizer.init(params),
                    pretrain_opt_state=pretrain_optimizer.init(params),
                    key=jax.random.key_data(key), gibbs_schedule=schedule,
                    chains=chains)


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


def make_train_step(model: temporal.TemporalModel, optimizer,
                    pretrain_steps: int):
  """`train_step(state, batch [B, T, nv], key) -> (state, metrics)` (pure): one
  update of the temporal model, k of CD-k from the state's schedule at the
  update's number counted after the `pretrain_steps` updates of pretraining."""

  def train_step(state: TrainState, batch: Array, key: Array):
    num_gibbs_steps = gibbs_steps_at(state.gibbs_schedule,
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


def make_pretrain_step(model: temporal.TemporalModel, optimizer,
                       num_gibbs_steps: int):
  """CD-k for `w_vh, b_v, b_h` as one plain RBM over all frames (hidden bias b_h).

  Only for models whose frames are RBMs (`model.frame_rbms`); the schema refuses
  pretraining for the others, and building their step fails when it is traced.
  """

  def pretrain_step(state: TrainState, batch: Array, key: Array):
    if model.frame_rbms is None:
      raise ValueError(f"model kind {model.kind!r} has no RBM frames to pretrain; "
                       "set config.pretrain.num_steps=0.")
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
                   batch_sharding=None, sweep_group_size: int = 0,
                   fresh_batches=None):
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
    fresh_batches: None to slice batches of the `data` array (`sample_batch`), or
      `key -> [B, T, nv]` (`data.datasets.fresh_batch_sampler`): batch `i` is then drawn
      from the run's data key folded with `i`, and `data` is not read (pass None).
  """

  def run(state: TrainState, data: Array, num_steps: int):
    chain_key, data_key = jax.random.split(jax.random.wrap_key_data(state.key))

    def body(state, _):
      if fresh_batches is None:
        batch = sample_batch(data, data_key, state.step, batch_size)
      else:
        batch = fresh_batches(jax.random.fold_in(data_key, state.step))
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


