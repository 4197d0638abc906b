"""Temporal models with tractable frames: exact likelihoods, samples and gradients.

Where each frame's distribution given the past is normalised by construction (a
NADE, `nade.py`), nothing needs a Gibbs chain, a partition function or CD: the
log-likelihood of a sequence is the sum of its frames' exact log-probabilities,
the loss gradient is `jax.grad` of it (through the model's forward scan, which is
then exact backpropagation through time), and frames are sampled exactly. This
module holds those shared functions, over a model's `TractableParts`
(`rnnnade.PARTS`), and `make_model`, which binds them into the same
`temporal.TemporalModel` bundle as the RBM-frame models, with its frame model
told by its fields: `frame_rbms` None, `frame_log_probability` and
`frame_sample` set.

Loss conventions are `temporal.py`'s: the negative log-likelihood summed over
frames and averaged over the B sequences of a batch; gradients are of the loss.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax import checks
from rtrbm_jax.models import frame_statistics
from rtrbm_jax.models import rbm
from rtrbm_jax.models import temporal

Array = jax.Array


class TractableParts(NamedTuple):
  """What the shared functions below need from a tractable-frame model's module.

  Attributes:
    kind: the model's name (`registry.MODEL_KINDS`).
    init_params: (key, num_visible, num_hidden, weight_scale, **init_options) ->
      params, with a `w_vh [nv, nh]` field.
    init_options: the keyword arguments of `init_params` that `make_model` may
      bind.
    check_params: params -> None; raises a ValueError naming a parameter whose
      shape does not fit the others or whose values are not finite.
    frame_log_probabilities: (params, v [B, T, nv]) -> (log P(v_t | v_<t)
      [B, T], the conditionals P(v_ti = 1 | v_<t, v_t,<i) [B, T, nv]), with no
      checks.
    sample_frames: (params, key, v [B, T, nv], greedy, sampler) -> (samples,
      their conditional probabilities), each [B, T, nv]: frame t drawn given
      the true v_<t, with no checks.
    generate: (params, key, prime [B, T0, nv], num_frames, sampler) ->
      [B, num_frames, nv], each frame drawn given the frames before it (the
      primer's, then the drawn ones), with no checks.
  """
  kind: str
  init_params: Callable[..., Any]
  init_options: tuple[str, ...]
  check_params: Callable[[Any], None]
  frame_log_probabilities: Callable[[Any, Array], tuple[Array, Array]]
  sample_frames: Callable[..., tuple[Array, Array]]
  generate: Callable[..., Array]

  def make_model(self, *args, **kwargs) -> temporal.TemporalModel:
    """The bundle of these parts: `make_model(self, ...)`."""
    return make_model(self, *args, **kwargs)


def _check(parts: TractableParts, params, v: Array, require_binary: bool = True,
           name: str = "v") -> None:
  parts.check_params(params)
  frame_statistics.check_inputs(params.w_vh, v, rbm.BINARY,
                                require_binary=require_binary, name=name)


def frame_log_probability(parts: TractableParts, params, v: Array) -> Array:
  """log P(v_t | v_1..v_{t-1}) of every frame in nats, exact: `[B, T]`.

  Args:
    parts: the model's `TractableParts`.
    params: its parameters.
    v: [B, T, nv] binary (0/1) frames.
  """
  _check(parts, params, v)
  return parts.frame_log_probabilities(params, v)[0]


def exact_log_likelihood(parts: TractableParts, params, v: Array) -> Array:
  """log P(v_1..T) of each sequence in nats, exact at any size: `[B]`."""
  return jnp.sum(frame_log_probability(parts, params, v), axis=1)


def _loss(parts: TractableParts, params, v: Array) -> tuple[Array, Array]:
  """(the loss, the conditionals `[B, T, nv]`), without checks."""
  log_probabilities, conditionals = parts.frame_log_probabilities(params, v)
  return -jnp.mean(jnp.sum(log_probabilities, axis=1)), conditionals


def exact_gradient(parts: TractableParts, params, v: Array):
  """The gradient of the loss, exact: `jax.grad` through the forward scan.

  Args:
    parts: the model's `TractableParts`.
    params: its parameters.
    v: [B, T, nv] frames in [0, 1] (binary for the gradient of a likelihood;
      probabilities give the gradient of the cross-entropy).

  Returns:
    Gradient of the mean (over sequences) negative log-likelihood, as the
    model's params.
  """
  _check(parts, params, v, require_binary=False)
  return jax.grad(lambda p: _loss(parts, p, v)[0])(params)


def training_gradient(parts: TractableParts, params, v: Array, key: Array,
                      num_gibbs_steps=None, persistent_visible: Array | None = None
                      ) -> tuple[Any, frame_statistics.CDAux]:
  """`exact_gradient` in the place of an RBM model's `cd_gradient`.

  The train step calls every model's `cd_gradient(params, v, key, k,
  persistent_visible=...)`; a tractable frame needs no chain, so `key`, k and
  the persistent chains are not used, and its aux holds the figures that mean
  the most for it under `frame_statistics.CDAux`'s names:

    reconstruction_error: the squared error between each frame and its
      conditionals P(v_ti = 1 | v_<t, v_t,<i) (the model's one-pass
      reconstruction), summed over units and averaged over frames.
    free_energy_gap: the exact negative log-likelihood per frame (the loss per
      frame; an RBM's gap is a proxy of it).
    chain_visible: the frames, rows `[B * T, nv]` (no chain runs).

  Returns:
    (gradient of the loss as the model's params, `frame_statistics.CDAux`).
  """
  del key, num_gibbs_steps, persistent_visible  # No chain.
  _check(parts, params, v, require_binary=False)
  (loss, conditionals), grads = jax.value_and_grad(
      lambda p: _loss(parts, p, v), has_aux=True)(params)
  frames = temporal.rows(v)
  return grads, frame_statistics.CDAux(
      reconstruction_error=jnp.mean(jnp.sum(
          jnp.square(frames - temporal.rows(conditionals)), axis=-1)),
      free_energy_gap=loss / v.shape[1],
      chain_visible=frames)


def frame_sample(parts: TractableParts, params, key: Array, v: Array,
                 greedy: bool = False,
                 sampler: str = "uniform") -> tuple[Array, Array]:
  """Every frame drawn exactly given the true frames before it.

  Args:
    parts: the model's `TractableParts`.
    params: its parameters.
    key: PRNG key.
    v: [B, T, nv] frames in [0, 1]; frame t's draw reads v_1..v_{t-1} only.
    greedy: each unit set to 1 where its conditional probability is above 1/2
      instead of drawn (a likely frame, deterministic).
    sampler: how the Bernoulli samples are drawn.

  Returns:
    (samples [B, T, nv] of 0/1, their conditional probabilities [B, T, nv]: the
    Rao-Blackwellised samples, whose mean is E[v_t | v_<t]).
  """
  _check(parts, params, v, require_binary=False)
  return parts.sample_frames(params, key, v, greedy, sampler)


def generate(parts: TractableParts, params, key: Array, prime: Array,
             num_frames: int, num_gibbs_steps=None,
             sampler: str = "uniform") -> Array:
  """Runs the model freely after priming it on real frames, by exact sampling.

  Args:
    parts: the model's `TractableParts`.
    params: its parameters.
    key: PRNG key.
    prime: [B, T0, nv] real frames, T0 >= 1.
    num_frames: number of frames to generate after the primer.
    num_gibbs_steps: not used (no chain); taken as RBM models' `generate` takes it.
    sampler: how the Bernoulli samples are drawn.

  Returns:
    [B, num_frames, nv] generated binary frames; each drives the next state.
  """
  del num_gibbs_steps  # Exact samples need no chain.
  _check(parts, params, prime, require_binary=False, name="prime")
  checks.check_size("num_frames", num_frames)
  return parts.generate(params, key, prime, num_frames, sampler)


def make_model(parts: TractableParts, visible_type: str = rbm.BINARY,
               sampler: str = "uniform", chain_start: str = "data",
               **init_options) -> temporal.TemporalModel:
  """The model of `parts` as a `temporal.TemporalModel`, its sampler bound.

  Args:
    parts: the model's `TractableParts` (`rnnnade.PARTS`).
    visible_type: "binary" only (the frames are distributions over 0/1 units).
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    chain_start: accepted as the RBM models' (one of
      `frame_statistics.CHAIN_STARTS`) and not used: no chain runs.
    **init_options: keyword arguments of `parts.init_params` to bind, among
      `parts.init_options`.

  Raises:
    ValueError: a value that is not one of those accepted, named.
  """
  rbm.check_visible_type(visible_type)
  if visible_type != rbm.BINARY:
    raise ValueError(f"model kind {parts.kind!r} has binary frames only, got "
                     f"visible_type={visible_type!r}.")
  rbm.check_sampler(sampler)
  frame_statistics.check_chain_start(chain_start)
  temporal.check_init_options(parts, init_options)
  bind = temporal.bind
  return temporal.TemporalModel(
      kind=parts.kind,
      visible_type=visible_type,
      sampler=sampler,
      init_params=(bind(parts.init_params, **init_options) if init_options
                   else parts.init_params),
      cd_gradient=bind(training_gradient, parts),
      exact_log_likelihood=bind(exact_log_likelihood, parts),
      exact_gradient=bind(exact_gradient, parts),
      frame_rbms=None,
      generate=bind(generate, parts, sampler=sampler),
      check_params=parts.check_params,
      frame_log_probability=bind(frame_log_probability, parts),
      frame_sample=bind(frame_sample, parts, sampler=sampler))
