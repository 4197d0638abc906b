"""The frames' RBMs: once a temporal model's forward scan has given every frame
its biases, the `N = B * T` frames are independent RBM rows (`rbm.py`), and the
RBM part of the loss gradient is one batched computation over them: CD-k
statistics from one batched Gibbs chain (or exact ones, by enumeration), the
per-frame bias gradients, and the checks of a model's inputs.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax import checks
from rtrbm_jax.models import rbm

Array = jax.Array


def rows(x: Array) -> Array:
  """[B, T, n] -> [B * T, n]: every frame of every sequence is one RBM row."""
  return x.reshape(-1, x.shape[-1])


class FrameRBMs(NamedTuple):
  """The RBM of every frame given the true past frames.

  Attributes:
    w_vh: [nv, nh] weights shared by all frames.
    visible_bias: [nv] (shared by all frames) or [B, T, nv].
    hidden_bias: [B, T, nh].
  """
  w_vh: Array
  visible_bias: Array
  hidden_bias: Array

  def row_biases(self) -> tuple[Array, Array]:
    """The biases as RBM rows: ([nv] or [B * T, nv], [B * T, nh])."""
    visible = self.visible_bias
    return (visible if visible.ndim == 1 else rows(visible),
            rows(self.hidden_bias))


class CDAux(NamedTuple):
  """By-products of a model's `cd_gradient`.

  Attributes:
    reconstruction_error: [] squared error between the data and the chain's last
      visible mean, summed over units and averaged over frames.
    free_energy_gap: [] mean over frames of F(data) - F(chain sample); a cheap
      proxy of the loss, useful to watch for divergence.
    chain_visible: [B * T, nv] the chains' last visible samples, where persistent
      chains go on from at the next update.
  """
  reconstruction_error: Array
  free_energy_gap: Array
  chain_visible: Array


def check_inputs(w_vh: Array, v: Array, visible_type: str,
                 require_binary: bool = False, name: str = "v") -> None:
  """Checks the visible type and the frames `v [B, T, nv]` against the weights."""
  rbm.check_visible_type(visible_type)
  checks.check_frames(v, w_vh.shape[0], name=name, visible_type=visible_type,
                      require_binary=require_binary)


def check_exact_inputs(w_vh: Array, v: Array, visible_type: str) -> None:
  """`check_inputs` for exact mode: binary data for binary units, a small model."""
  check_inputs(w_vh, v, visible_type, require_binary=True)
  rbm.check_exact_size(*w_vh.shape, visible_type)


# Where the negative-phase chain of frame t starts (see `cd_statistics`).
CHAIN_STARTS = ("data", "prediction", "persistent")


def check_chain_start(chain_start: str) -> None:
  """`chain_start` is one of `CHAIN_STARTS` (a ValueError naming them if not)."""
  if chain_start not in CHAIN_STARTS:
    raise ValueError(f"chain_start must be one of {CHAIN_STARTS}, got "
                     f"{chain_start!r}.")


def cd_statistics(key: Array, frames: FrameRBMs, data_hidden: Array,
                  num_gibbs_steps, visible_type: str, sampler: str,
                  chain_start: str = "data",
                  persistent_visible: Array | None = None
                  ) -> tuple[rbm.Statistics, rbm.GibbsResult]:
  """Model statistics of all B * T frame RBMs from k Gibbs steps, one batched chain.

  `chain_start` picks where frame t's chain starts, as hidden probabilities:

    "data":        P(h_t | v_t) = r_t, contrastive divergence (CD-k; the papers').
    "prediction":  sigmoid(c_t), what frame t's RBM expects before seeing v_t: the
                   chain is the model's prediction of v_t from the past, run
                   exactly as `prediction.predict_next_frames` runs it. Its
                   statistics teach c_t to produce v_t by k Gibbs steps (short-run
                   MCMC learning, Nijkamp et al. 2019), which CD's chain, started
                   at the answer, cannot: at small k it barely leaves v_t.
    "persistent":  P(h_t | x_t) for the visible state x_t that the same chain slot
                   ended in at the previous update (persistent CD, Tieleman 2008),
                   given here as `persistent_visible`.

  Args:
    key: PRNG key.
    frames: the frame RBMs.
    data_hidden: [B, T, nh] P(h_t = 1 | v_t) in each frame's RBM.
    num_gibbs_steps: k >= 1.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    chain_start: one of `CHAIN_STARTS`.
    persistent_visible: [B * T, nv] the chains' visible states, for "persistent".

  Returns:
    (model statistics with rows in the order of `rows(v)`, the chain's last step).
  """
  visible_bias, hidden_bias = frames.row_biases()
  if chain_start == "data":
    initial_hidden = rows(data_hidden)
  elif chain_start == "prediction":
    initial_hidden = jax.nn.sigmoid(hidden_bias)
  elif chain_start == "persistent":
    if persistent_visible is None:
      raise ValueError("chain_start='persistent' needs persistent_visible, the "
                       "[B * T, nv] visible states of the chains.")
    initial_hidden = rbm.hidden_probabilities(frames.w_vh, hidden_bias,
                                              persistent_visible)
  else:
    check_chain_start(chain_start)
  return rbm.cd_statistics(key, frames.w_vh, visible_bias, hidden_bias,
                           initial_hidden, num_gibbs_steps, visible_type, sampler)


def exact_statistics(frames: FrameRBMs, visible_type: str) -> rbm.Statistics:
  """Exact model statistics of all B * T frame RBMs (rows in the order of `rows`)."""
  visible_bias, hidden_bias = frames.row_biases()
  return rbm.exact_statistics(frames.w_vh, visible_bias, hidden_bias, visible_type)


def frame_bias_gradients(v: Array, data_hidden: Array,
                         model: rbm.Statistics) -> tuple[Array, Array]:
  """The loss gradient with respect to each frame's RBM biases, taken as free.

  Frame t's term of the loss is -log P_RBM(v_t) / B, whose gradient with respect to
  its own biases is the model's expectations minus the data's:

    dL/d(visible bias_t) = (E_model[v] - v_t) / B
    dL/d(hidden bias_t)  = (E_model[h] - P(h | v_t)) / B

  with CD estimates or exact expectations in `model`. The temporal models send these
  back through time to the parameters that produced the biases.

  Args:
    v: [B, T, nv] frames.
    data_hidden: [B, T, nh] P(h_t = 1 | v_t) in each frame's RBM.
    model: statistics of the B * T frame RBMs, rows in the order of `rows(v)`.

  Returns:
    ([B, T, nv] visible-bias gradients, [B, T, nh] hidden-bias gradients).
  """
  batch_size = v.shape[0]
  return ((model.visible.reshape(v.shape) - v) / batch_size,
          (model.hidden.reshape(data_hidden.shape) - data_hidden) / batch_size)


def cd_aux(frames: FrameRBMs, v: Array, chain: rbm.GibbsResult,
           visible_type: str) -> CDAux:
  """Reconstruction error and free-energy gap of a CD chain over all frames."""
  visible_bias, hidden_bias = frames.row_biases()
  data = rows(v)

  def free_energy(x):
    return rbm.free_energy(frames.w_vh, visible_bias, hidden_bias, x, visible_type)

  return CDAux(
      reconstruction_error=jnp.mean(
          jnp.sum(jnp.square(data - chain.visible_mean), axis=-1)),
      free_energy_gap=jnp.mean(free_energy(data)
                               - free_energy(chain.visible_sample)),
      chain_visible=chain.visible_sample)


def frames_log_likelihood(frames: FrameRBMs, v: Array, visible_type: str) -> Array:
  """sum_t log P_RBM(v_t) over each sequence's frame RBMs, exactly: `[B]`."""
  visible_bias, hidden_bias = frames.row_biases()
  log_probability = rbm.exact_log_probability(frames.w_vh, visible_bias, hidden_bias,
                                              rows(v), visible_type)
  return jnp.sum(log_probability.reshape(v.shape[:2]), axis=1)
