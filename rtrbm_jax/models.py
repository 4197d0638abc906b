"""Temporal models bundled as NamedTuples of pure functions.

Training, evaluation, sweeps and benchmarks take "a model" and never branch on its
kind, the way optax bundles `init`/`update` in a `GradientTransformation`. Every
model has a `w_vh` weight shared by its frame RBMs and exposes each frame's RBM
(`frame_rbms`), which is all that evaluation needs.
"""

import functools
from typing import Any, Callable, NamedTuple

from rtrbm_jax import rbm
from rtrbm_jax import rnnrbm
from rtrbm_jax import rtrbm
from rtrbm_jax import temporal

MODEL_KINDS = ("rtrbm", "rnnrbm")


class TemporalModel(NamedTuple):
  """A temporal RBM as pure functions; visible type and sampler are bound.

  Attributes:
    kind: the model's name, one of `MODEL_KINDS`.
    visible_type: "binary" or "gaussian".
    sampler: how its Gibbs chains draw Bernoulli samples
      (`rbm.BERNOULLI_SAMPLERS`), for code that runs chains of its frame RBMs.
    init_params: (key, num_visible, num_hidden, weight_scale) -> params (the
      RNN-RBM's num_recurrent is bound by `get_model`).
    cd_gradient: (params, v [B, T, nv], key, num_gibbs_steps,
      persistent_visible=None) -> (grads, `temporal.CDAux`).
    exact_log_likelihood: (params, v) -> [B] log P(v_1..T) in nats.
    exact_gradient: (params, v) -> grads of the mean negative log-likelihood.
    frame_rbms: (params, v) -> `temporal.FrameRBMs`, each frame's RBM given the
      true past frames.
    generate: (params, key, prime [B, T0, nv], num_frames, num_gibbs_steps) ->
      [B, num_frames, nv].
    check_params: params -> None; raises ValueError naming a parameter whose shape
      does not fit the others or whose values are not finite.
  """
  kind: str
  visible_type: str
  sampler: str
  init_params: Callable[..., Any]
  cd_gradient: Callable[..., Any]
  exact_log_likelihood: Callable[..., Any]
  exact_gradient: Callable[..., Any]
  frame_rbms: Callable[..., Any]
  generate: Callable[..., Any]
  check_params: Callable[..., Any]


def _bind(function: Callable[..., Any], **bound) -> Callable[..., Any]:
  """`function` with keyword arguments `bound`, keeping its name and docstring
  (`help(model.generate)` shows the model's function, not functools.partial's),
  followed by what is bound."""
  bound_function = functools.partial(function, **bound)

  @functools.wraps(function)
  def with_bound_arguments(*args, **kwargs):
    return bound_function(*args, **kwargs)

  settings = ", ".join(f"{name}={value!r}" for name, value in bound.items())
  with_bound_arguments.__doc__ = (
      f"{function.__doc__ or ''}\n\n  Bound by `models.get_model`: {settings}.")
  return with_bound_arguments


def get_model(kind: str = "rtrbm", visible_type: str = rbm.BINARY,
              sampler: str = "uniform",
              num_recurrent: int | None = None,
              chain_start: str = "data") -> TemporalModel:
  """The model of the given kind with its visible type and Bernoulli sampler bound.

  Args:
    kind: one of `MODEL_KINDS`.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    num_recurrent: size of the RNN-RBM's RNN state, bound into `init_params`;
      `None` means num_hidden. The RTRBM's state is its hidden layer, so it takes
      only `None`.
    chain_start: where `cd_gradient`'s negative chains start, one of
      `temporal.CHAIN_STARTS`, bound into `cd_gradient`.
  """
  rbm.check_visible_type(visible_type)
  if sampler not in rbm.BERNOULLI_SAMPLERS:
    raise ValueError(f"sampler must be one of {rbm.BERNOULLI_SAMPLERS}, got "
                     f"{sampler!r}.")
  if chain_start not in temporal.CHAIN_STARTS:
    raise ValueError(f"chain_start must be one of {temporal.CHAIN_STARTS}, got "
                     f"{chain_start!r}.")
  if kind == "rtrbm":
    if num_recurrent is not None:
      raise ValueError(
          f"num_recurrent applies to model kind 'rnnrbm' only (the RTRBM's state is "
          f"its hidden layer), got num_recurrent={num_recurrent!r} with kind "
          "'rtrbm'; leave it None.")
    module = rtrbm
    init_params = rtrbm.init_params
  elif kind == "rnnrbm":
    module = rnnrbm
    init_params = _bind(rnnrbm.init_params, num_recurrent=num_recurrent)
  else:
    raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {kind!r}.")
  return TemporalModel(
      kind=kind,
      visible_type=visible_type,
      sampler=sampler,
      init_params=init_params,
      cd_gradient=_bind(module.cd_gradient, sampler=sampler,
                        visible_type=visible_type, chain_start=chain_start),
      exact_log_likelihood=_bind(module.exact_log_likelihood,
                                 visible_type=visible_type),
      exact_gradient=_bind(module.exact_gradient, visible_type=visible_type),
      frame_rbms=module.frame_rbms,
      generate=_bind(module.generate, visible_type=visible_type, sampler=sampler),
      check_params=module.check_params)


def from_config(config) -> TemporalModel:
  """The model a training config describes: `config.model` and `train.chain_start`.

  Args:
    config: an `ml_collections.ConfigDict` with `model.kind`, `model.visible_type`,
      `model.sampler`, optionally `model.num_recurrent` (read for the RNN-RBM
      only), and `train.chain_start`.
  """
  num_recurrent = config.model.get("num_recurrent")
  return get_model(
      config.model.kind, config.model.visible_type, config.model.sampler,
      num_recurrent=num_recurrent if config.model.kind == "rnnrbm" else None,
      chain_start=config.train.chain_start)
