"""What the temporal models share: the reverse scan, and the one model bundle.

A temporal model (the RTRBM, the RNN-RBM) is a forward scan that turns frames
`v [B, T, nv]` into each frame's RBM biases, plus a reverse scan that turns per-frame
bias gradients back into parameter gradients. Once the biases are known the
`N = B * T` frames are independent RBM rows (`rbm.py`; their statistics, the RBM
part of the loss gradient, are `frame_statistics.py`'s); this module holds the one
backward recursion that every model here, down to the plain RNN of `rnn.py`, runs
through time:

  message_t = direct_t + derivative_t * (message_{t+1} @ w_recurrent^T),
  message_{T+1} = 0.

It also holds, once, what every model's functions share (check the inputs, run
the forward scan, take the frame RBMs' statistics, turn them into a gradient or a
likelihood): `cd_gradient`, `exact_log_likelihood`, `exact_gradient`, `frame_rbms`
and `generate` take a model's `ModelParts` (`rtrbm.PARTS`, `rnnrbm.PARTS`), and
`make_model` binds them into the one bundle the rest of the package uses, a
`TemporalModel` of pure functions (as `optax.GradientTransformation` bundles
`init`/`update`).

Loss conventions: the negative log-likelihood summed over frames and averaged over
the B sequences of a batch; gradients are of the loss.
"""

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax import checks
from rtrbm_jax.models import frame_statistics
from rtrbm_jax.models import rbm

Array = jax.Array


def time_major(x: Array) -> Array:
  """[B, T, ...] <-> [T, B, ...]: `lax.scan` runs over the leading axis."""
  return jnp.swapaxes(x, 0, 1)


rows = frame_statistics.rows


def previous_states(initial_state: Array, states: Array) -> Array:
  """The state before each frame: [s_0, s_1, ..., s_{T-1}] as `[B, T, n]`.

  Args:
    initial_state: [n] (shared by all sequences) or [B, n] state s_0.
    states: [B, T, n] states s_1..s_T.
  """
  first = jnp.broadcast_to(initial_state, states[:, 0].shape)
  return jnp.concatenate([first[:, None], states[:, :-1]], axis=1)


def reverse_scan(w_recurrent: Array, derivative: Array, direct: Array) -> Array:
  """The backward recursion of backpropagation through time, `[B, T, n]`.

  For a recurrence z_{t+1} = (terms free of z_t) + f(z_t) @ w_recurrent with f
  elementwise, the total gradient of the loss with respect to z_t is

    message_T = direct_T
    message_t = direct_t + f'(z_t) * (message_{t+1} @ w_recurrent^T),
                t = T-1, ..., 1

  where `direct_t` is the gradient that reaches z_t other than through z_{t+1}.
  Each model picks its z_t:

    RTRBM:    z_t = c_t, f'(z_t) = r_t (1 - r_t), direct_t the RBM term of frame t
              (thesis eq. 3.24).
    RNN-RBM:  z_t = the pre-activation of u_t, f'(z_t) = 1 - u_t^2, direct_t =
              f'(z_t) * (what frame t+1's biases send back to u_t).
    RNN:      z_t = the pre-activation of h_t, f'(z_t) = h_t (1 - h_t), direct_t =
              f'(z_t) * (output error_t @ w_hy^T).

  The scan carries only the `[B, n]` message; weight gradients are formed from all
  messages at once afterwards, by the caller.

  Args:
    w_recurrent: [n, n] weights from f(z_t) to z_{t+1}.
    derivative: [B, T, n] f'(z_t), for timesteps t in [1, T].
    direct: [B, T, n] direct gradients, for timesteps t in [1, T].

  Returns:
    message: [B, T, n] total gradients dL/dz_t, for timesteps t in [1, T].
  """

  def step(message_next, inputs):
    derivative_t, direct_t = inputs
    message = direct_t + derivative_t * (message_next @ w_recurrent.T)
    return message, message

  _, message = jax.lax.scan(step, jnp.zeros_like(direct[:, 0]),
                            (time_major(derivative), time_major(direct)),
                            reverse=True)
  return time_major(message)


class ModelParts(NamedTuple):
  """What the shared functions below need from a temporal model's module.

  `states` is whatever the model's forward scan carries through time, `[B, T, n]`
  for timesteps t in [1, T]: the RTRBM's r_t, the RNN-RBM's u_t.

  Attributes:
    kind: the model's name (`registry.MODEL_KINDS`).
    init_params: (key, num_visible, num_hidden, weight_scale, **init_options) ->
      params.
    init_options: the keyword arguments of `init_params` beyond the shared ones
      that `make_model` may bind (the RNN-RBM's `num_recurrent`).
    check_params: params -> None; raises a ValueError naming a parameter whose
      shape does not fit the others or whose values are not finite.
    forward_scan: (params, v [B, T, nv]) -> (`frame_statistics.FrameRBMs`,
      states [B, T, n]), the model's forward scan, with no checks.
    data_hidden: (frames, v, states) -> [B, T, nh] P(h_t = 1 | v_t) in each frame's
      RBM.
    gradient_from_statistics: (params, v, states, data_hidden, model statistics)
      -> the loss gradient as the model's params, by its reverse scan.
    frame_biases: (params, state [B, n]) -> (visible bias [nv] or [B, nv], hidden
      bias [B, nh]) of the RBM of the frame after that state.
    next_state: (params, state [B, n], frame [B, nv], hidden bias [B, nh]) -> the
      state after that frame.
  """
  kind: str
  init_params: Callable[..., Any]
  init_options: tuple[str, ...]
  check_params: Callable[[Any], None]
  forward_scan: Callable[[Any, Array], tuple[frame_statistics.FrameRBMs, Array]]
  data_hidden: Callable[[frame_statistics.FrameRBMs, Array, Array], Array]
  gradient_from_statistics: Callable[..., Any]
  frame_biases: Callable[[Any, Array], tuple[Array, Array]]
  next_state: Callable[[Any, Array, Array, Array], Any]

  def make_model(self, *args, **kwargs) -> "TemporalModel":
    """The bundle of these parts: `make_model(self, ...)` (`registry.get_model`
    calls this method of every kind's parts, whatever its frame model)."""
    return make_model(self, *args, **kwargs)


def cd_gradient(parts: ModelParts, params, v: Array, key: Array, num_gibbs_steps,
                persistent_visible: Array | None = None, *,
                sampler: str = "uniform", visible_type: str = rbm.BINARY,
                chain_start: str = "data") -> tuple[Any, frame_statistics.CDAux]:
  """CD-k for every frame's RBM term plus the exact reverse-scan BPTT term.

  The forward scan gives every frame's RBM; given those biases the B * T frames are
  independent, so they run as one batched Gibbs chain
  (`frame_statistics.cd_statistics`), and the model's reverse scan sends the
  frames' bias gradients back through its states.

  Args:
    parts: the model's `ModelParts`.
    params: the model's parameters.
    v: [B, T, nv] frames; in [0, 1] for binary units (probabilities are accepted
      as data), real-valued for Gaussian units.
    key: PRNG key.
    num_gibbs_steps: k >= 1 (a Python int or a traced integer).
    persistent_visible: [B * T, nv] the persistent chains' visible states (the
      previous update's `aux.chain_visible`), for chain_start="persistent".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    visible_type: "binary" or "gaussian".
    chain_start: where each frame's chain starts, one of
      `frame_statistics.CHAIN_STARTS` ("data": CD-k; "prediction": the model's
      prediction of the frame; "persistent": persistent CD from
      `persistent_visible`).

  Returns:
    (gradient of the loss as the model's params, `frame_statistics.CDAux`).
  """
  parts.check_params(params)
  frame_statistics.check_inputs(params.w_vh, v, visible_type)
  checks.check_num_gibbs_steps(num_gibbs_steps)
  frames, states = parts.forward_scan(params, v)
  data_hidden = parts.data_hidden(frames, v, states)
  model, chain = frame_statistics.cd_statistics(
      key, frames, data_hidden, num_gibbs_steps, visible_type, sampler,
      chain_start, persistent_visible)
  grads = parts.gradient_from_statistics(params, v, states, data_hidden, model)
  return grads, frame_statistics.cd_aux(frames, v, chain, visible_type)


def exact_log_likelihood(parts: ModelParts, params, v: Array,
                         visible_type: str = rbm.BINARY) -> Array:
  """log P(v_1..T) of each sequence in nats, by exact enumeration: `[B]`.

  Each frame's partition function sums over all 2^nv visible or 2^nh hidden states,
  whichever is fewer (hidden states for Gaussian units, whose visible integral is
  closed-form; the result is then a log density); at most `rbm.MAX_EXACT_UNITS`
  units on that side.

  Args:
    parts: the model's `ModelParts`.
    params: the model's parameters.
    v: [B, T, nv] frames, binary (0/1) for binary units.
    visible_type: "binary" or "gaussian".
  """
  parts.check_params(params)
  frame_statistics.check_exact_inputs(params.w_vh, v, visible_type)
  frames, _ = parts.forward_scan(params, v)
  return frame_statistics.frames_log_likelihood(frames, v, visible_type)


def exact_gradient(parts: ModelParts, params, v: Array,
                   visible_type: str = rbm.BINARY):
  """The exact gradient of the loss: the reverse scan with exact RBM expectations.

  Same enumeration and limits as `exact_log_likelihood`; the arguments are its.

  Returns:
    Gradient of the mean (over sequences) negative log-likelihood, as the model's
    params.
  """
  parts.check_params(params)
  frame_statistics.check_exact_inputs(params.w_vh, v, visible_type)
  frames, states = parts.forward_scan(params, v)
  model = frame_statistics.exact_statistics(frames, visible_type)
  return parts.gradient_from_statistics(params, v, states,
                                        parts.data_hidden(frames, v, states), model)


def frame_rbms(parts: ModelParts, params, v: Array) -> frame_statistics.FrameRBMs:
  """Each frame's RBM, its biases computed from the true frames v_1..v_{t-1}."""
  parts.check_params(params)
  # Binary or Gaussian frames: only the shape and finiteness are checked here.
  checks.check_frames(v, params.w_vh.shape[0], visible_type=rbm.GAUSSIAN)
  frames, _ = parts.forward_scan(params, v)
  return frames


def generate(parts: ModelParts, params, key: Array, prime: Array, num_frames: int,
             num_gibbs_steps, visible_type: str = rbm.BINARY,
             sampler: str = "uniform") -> Array:
  """Runs a temporal model freely after priming it on real frames.

  The state after the primer comes from the forward scan; each new frame is drawn
  by `num_gibbs_steps` Gibbs steps in its RBM (starting from
  P(h) = sigmoid(hidden bias)), its last visible step taken as mean field; that
  mean is the frame, and it drives the next state.

  Args:
    parts: the model's `ModelParts`.
    params: the model's parameters.
    key: PRNG key.
    prime: [B, T0, nv] real frames, T0 >= 1.
    num_frames: number of frames to generate after the primer.
    num_gibbs_steps: Gibbs steps per generated frame.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn.

  Returns:
    [B, num_frames, nv] generated frames (visible means).
  """
  parts.check_params(params)
  frame_statistics.check_inputs(params.w_vh, prime, visible_type, name="prime")
  checks.check_size("num_frames", num_frames)
  checks.check_num_gibbs_steps(num_gibbs_steps)
  _, states = parts.forward_scan(params, prime)

  def step(state, frame_key):
    visible_bias, hidden_bias = parts.frame_biases(params, state)
    chain = rbm.gibbs_chain(frame_key, params.w_vh, visible_bias, hidden_bias,
                            jax.nn.sigmoid(hidden_bias), num_gibbs_steps,
                            visible_type, sampler)
    frame = chain.visible_mean
    return parts.next_state(params, state, frame, hidden_bias), frame

  _, frames = jax.lax.scan(step, states[:, -1], jax.random.split(key, num_frames))
  return time_major(frames)


class TemporalModel(NamedTuple):
  """A temporal model as pure functions, its visible type, sampler and chain start
  bound (`make_model`); training, evaluation and sweeps take one and never branch
  on its kind. Every model has a `w_vh [nv, nh]` weight (its frames'
  visible-to-hidden weights).

  The frame model, what the distribution of a frame given the past can do, is
  told by which of three fields are set, and its readers pick their path by
  them (never by `kind`):

    frame_rbms: each frame is an RBM (RTRBM, RNN-RBM): its log-likelihood needs
      its partition function (enumerated, or AIS), its samples a Gibbs chain,
      its training CD. None for other frames.
    frame_log_probability: each frame's exact log-probability (a NADE frame:
      `tractable.py`); the log-likelihood evaluators use it. None for RBMs.
    frame_sample: exact samples of each frame given the true past; next-frame
      prediction uses it instead of a Gibbs chain. None for RBMs.

  A tractable frame's `cd_gradient` is its exact gradient (the train step needs
  nothing else), and `generate` samples it exactly.

  Attributes:
    kind: the model's name (`registry.MODEL_KINDS`).
    visible_type: "binary" or "gaussian".
    sampler: how its Gibbs chains draw Bernoulli samples
      (`rbm.BERNOULLI_SAMPLERS`), for code that runs chains of its frame RBMs.
    init_params: (key, num_visible, num_hidden, weight_scale) -> params.
    cd_gradient: (params, v [B, T, nv], key, num_gibbs_steps,
      persistent_visible=None) -> (grads, `frame_statistics.CDAux`).
    exact_log_likelihood: (params, v) -> [B] log P(v_1..T) in nats.
    exact_gradient: (params, v) -> grads of the mean negative log-likelihood.
    frame_rbms: (params, v) -> `frame_statistics.FrameRBMs`, each frame's RBM
      given the true past frames; None where frames are not RBMs.
    generate: (params, key, prime [B, T0, nv], num_frames, num_gibbs_steps) ->
      [B, num_frames, nv].
    check_params: params -> None; raises ValueError naming a parameter whose shape
      does not fit the others or whose values are not finite.
    frame_log_probability: (params, v [B, T, nv]) -> [B, T] exact
      log P(v_t | v_1..v_{t-1}), or None (RBM frames).
    frame_sample: (params, key, v [B, T, nv], greedy=False) -> (samples
      [B, T, nv], their conditional probabilities [B, T, nv]): every frame t
      drawn exactly given the true v_1..v_{t-1}, or None (RBM frames).
  """
  kind: str
  visible_type: str
  sampler: str
  init_params: Callable[..., Any]
  cd_gradient: Callable[..., Any]
  exact_log_likelihood: Callable[..., Any]
  exact_gradient: Callable[..., Any]
  frame_rbms: Callable[..., Any] | None
  generate: Callable[..., Any]
  check_params: Callable[..., Any]
  frame_log_probability: Callable[..., Any] | None = None
  frame_sample: Callable[..., Any] | None = None


def bind(function: Callable[..., Any], *bound_arguments,
         **bound_keywords) -> Callable[..., Any]:
  """`function` with its leading arguments and keyword arguments bound, keeping
  its name and docstring (`help(model.generate)` shows the model's function, not
  functools.partial's), followed by what is bound."""
  bound_function = functools.partial(function, *bound_arguments, **bound_keywords)

  @functools.wraps(function)
  def with_bound_arguments(*args, **kwargs):
    return bound_function(*args, **kwargs)

  settings = ", ".join(
      [f"parts={parts.kind}" for parts in bound_arguments]
      + [f"{name}={value!r}" for name, value in bound_keywords.items()])
  with_bound_arguments.__doc__ = (
      f"{function.__doc__ or ''}\n\n  Bound by `make_model`: {settings}.")
  return with_bound_arguments


def check_init_options(parts, init_options: dict) -> None:
  """Every keyword of `init_options` is among `parts.init_options` (a ValueError
  naming it and them if not)."""
  for name, value in init_options.items():
    if name not in parts.init_options:
      raise ValueError(
          f"{name} does not apply to model kind {parts.kind!r} (its options: "
          f"{list(parts.init_options)}), got {name}={value!r}; leave it None.")


def make_model(parts: ModelParts, visible_type: str = rbm.BINARY,
               sampler: str = "uniform", chain_start: str = "data",
               **init_options) -> TemporalModel:
  """The model of `parts` with its visible type, sampler and chain start bound.

  Args:
    parts: the model's `ModelParts` (`rtrbm.PARTS`, `rnnrbm.PARTS`).
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    chain_start: where `cd_gradient`'s negative chains start, one of
      `frame_statistics.CHAIN_STARTS`.
    **init_options: keyword arguments of `parts.init_params` to bind, among
      `parts.init_options` (the RNN-RBM's `num_recurrent`).

  Raises:
    ValueError: a value that is not one of those accepted, named.
  """
  rbm.check_visible_type(visible_type)
  rbm.check_sampler(sampler)
  frame_statistics.check_chain_start(chain_start)
  check_init_options(parts, init_options)
  return TemporalModel(
      kind=parts.kind,
      visible_type=visible_type,
      sampler=sampler,
      init_params=(bind(parts.init_params, **init_options) if init_options
                   else parts.init_params),
      cd_gradient=bind(cd_gradient, parts, sampler=sampler,
                       visible_type=visible_type, chain_start=chain_start),
      exact_log_likelihood=bind(exact_log_likelihood, parts,
                                visible_type=visible_type),
      exact_gradient=bind(exact_gradient, parts, visible_type=visible_type),
      frame_rbms=bind(frame_rbms, parts),
      generate=bind(generate, parts, visible_type=visible_type, sampler=sampler),
      check_params=parts.check_params)
