"""A whole split at once: sequences of many lengths, in chunks, with progress.

The figures of `evaluators.py` take a batch of sequences; a split of music holds
pieces of 45 to 4,273 frames. Here the split is zero-padded and masked (the models
are causal, so padding after a sequence changes none of its frames' values), and
the costly per-frame work (prediction chains, AIS) runs on chunks of sequences of
similar length, each cut after its longest sequence, so the padding is not
computed. `experiments.evaluate` (`runs/evaluate.py`) summarises the results.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import progress
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais

# The split's sequences are processed this many at a time, so progress is visible.
SEQUENCES_PER_CHUNK = 8
# A chunk of sequences is cut after its longest one, rounded up to a multiple of
# this many frames, so that few shapes compile.
CHUNK_LENGTH_QUANTUM = 32

_predict_next_frames = jax.jit(prediction.predict_next_frames,
                               static_argnums=(0, 4, 5, 6))
_errors_by_chain_length = jax.jit(prediction.next_frame_errors_by_chain_length,
                                  static_argnums=(0, 4))


def map_by_length(function, frames, mask, description: str, per_sequence=()):
  """`function(frames)` computed on chunks of sequences of similar length.

  Sequences are taken longest first, `SEQUENCES_PER_CHUNK` at a time, and each
  chunk is cut after its longest sequence (rounded up to a multiple of
  `CHUNK_LENGTH_QUANTUM` frames), so the padding of short sequences to the
  longest of the split is not computed: on MuseData, whose test pieces run from
  45 to 4,273 frames, it would be 8 times the real frames. The models are causal,
  so frames after a sequence's end never change its values.

  Args:
    function: `(frames [S, T', nv], *per_sequence cut the same way, chunk=index)
      -> pytree of [S, T' + c, ...]` arrays (c the same for every chunk, e.g. -1
      for predictions of frames 2..T).
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    description: what is computed, for the progress lines.
    per_sequence: more [B, T, ...] arrays that `function` takes, chunk by chunk.

  Returns:
    The pytree of numpy arrays `[B, T + c, ...]` (zeros after each chunk's cut).
  """
  frames = np.asarray(frames)
  lengths = np.asarray(mask).sum(axis=1)
  order = np.argsort(-lengths, kind="stable")
  tracker = progress.Progress(description, int(lengths.sum()), "frames")
  outputs, compiled_shapes = None, set()
  for index, start in enumerate(range(0, len(order), SEQUENCES_PER_CHUNK)):
    rows = order[start:start + SEQUENCES_PER_CHUNK]
    cut = min(frames.shape[1], -(-int(lengths[rows].max()) // CHUNK_LENGTH_QUANTUM)
              * CHUNK_LENGTH_QUANTUM)
    output = jax.tree.map(np.asarray, function(
        frames[rows, :cut], *(np.asarray(array)[rows, :cut]
                              for array in per_sequence), chunk=index))
    if outputs is None:
      outputs = jax.tree.map(lambda leaf: np.zeros(
          (len(frames), frames.shape[1] + leaf.shape[1] - cut) + leaf.shape[2:],
          leaf.dtype), output)
    for whole, part in zip(jax.tree.leaves(outputs), jax.tree.leaves(output)):
      whole[rows, :part.shape[1]] = part
    tracker.update(int(lengths[rows].sum()),
                   compiling=(len(rows), cut) not in compiled_shapes)
    compiled_shapes.add((len(rows), cut))
  return outputs


def predict(model, params, frames, mask, key, num_gibbs_steps: int,
            num_chains: int, description: str, rule: str = "gibbs") -> jax.Array:
  """`prediction.predict_next_frames` of a split: `[B, T - 1, nv]`."""
  return jnp.asarray(map_by_length(
      lambda chunk_frames, chunk: _predict_next_frames(
          model, params, jnp.asarray(chunk_frames),
          jax.random.fold_in(key, chunk), num_gibbs_steps, num_chains, rule),
      frames, mask, description))


def errors_by_chain_length(model, params, frames, mask, key,
                           chain_lengths: tuple[int, ...]) -> np.ndarray:
  """`prediction.next_frame_errors_by_chain_length` of a split: `[B, T - 1, K]`.

  Chunked with the keys of `predict`, so the value at the evaluation's
  `num_gibbs_steps` equals the one-chain prediction's error.
  """
  # The time axis second, as `map_by_length` cuts and pastes it.
  return map_by_length(
      lambda chunk_frames, chunk: jnp.moveaxis(_errors_by_chain_length(
          model, params, jnp.asarray(chunk_frames),
          jax.random.fold_in(key, chunk), chain_lengths), 0, -1),
      frames, mask, "next-frame error by prediction chain length")


def sample_frames(mask, num_frames: int | None, key) -> np.ndarray:
  """[B, T] True at `num_frames` of `mask`'s frames drawn uniformly without
  replacement with `key`; `mask` itself when None or not fewer than its frames."""
  mask = np.asarray(mask, bool)
  positions = np.flatnonzero(mask)
  if num_frames is None or num_frames >= positions.size:
    return mask
  chosen = np.asarray(jax.random.choice(key, positions.size, (num_frames,),
                                        replace=False))
  selected = np.zeros(mask.size, bool)
  selected[positions[chosen]] = True
  return selected.reshape(mask.shape)


def log_likelihoods(model, params, frames, mask, selected, key,
                    num_temperatures: int, num_chains: int, method: str,
                    ais_path: str = ais.WEIGHTS) -> likelihood.FrameLogLikelihoods:
  """The log-likelihood figure's per-frame values of a split: `[B, T]` each
  (values, standard errors, upper bounds).

  `selected` ([B, T] bool, or None for every frame): only these frames are
  evaluated (AIS on their rows alone); the others' values are zero. `method`:
  "exact", "ais" or "auto" (`likelihood.model_method`); `ais_path`: `ais.PATHS`.
  """
  names = ("log_likelihood", "standard_error", "upper_bound")
  method = likelihood.model_method(model, params, method)
  log_likelihood = evaluators.EVALUATORS[evaluators.LOG_LIKELIHOOD].per_frame

  def chunk_values(chunk_frames, *chunk_selected, chunk):
    shape = chunk_frames.shape[:2]
    rows = np.flatnonzero(chunk_selected[0]) if chunk_selected else None
    if rows is not None and not rows.size:
      return tuple(np.zeros(shape, np.float32) for _ in names)
    # Not jitted: the number of rows differs from chunk to chunk.
    values = log_likelihood(evaluators.Inputs(
        model, params, jnp.asarray(chunk_frames), jax.random.fold_in(key, chunk),
        likelihood_rows=None if rows is None else jnp.asarray(rows),
        num_temperatures=num_temperatures, num_chains=num_chains,
        likelihood_method=method, ais_path=ais_path))
    if rows is None:
      return tuple(np.asarray(values[name]).reshape(shape) for name in names)
    outputs = tuple(np.zeros(math.prod(shape), np.float32) for _ in names)
    for output, name in zip(outputs, names):
      output[rows] = values[name]
    return tuple(output.reshape(shape) for output in outputs)

  per_frame, standard_error, upper_bound = map_by_length(
      chunk_values, frames, mask, "log-likelihood (exact or AIS)",
      per_sequence=() if selected is None else (selected,))
  return likelihood.FrameLogLikelihoods(per_frame, standard_error, method,
                                        upper_bound)
