"""What a run shows of its generated sequences: pictures, a GIF, MIDI, TensorBoard.

One call, `write_generated_samples`, shared by training (`samples.*`) and evaluation
(`eval_samples.*`): it primes the model, generates, and writes the same kinds of
files for the same data.
"""

import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.data import real_valued
from rtrbm_jax.outputs import metric_writers
from rtrbm_jax.outputs import plotting


class Samples(NamedTuple):
  """Frames a model generated after a primer, and the files that show them.

  Attributes:
    generated: [S, T1, nv] generated frames, in the model's units (standardised
      for real-valued data).
    files: the paths written.
  """
  generated: jax.Array
  files: list[str]


def write_generated_samples(
    workdir: str, name: str, kind: str, model, params, key: jax.Array, prime,
    num_frames: int, num_gibbs_steps: int, step: int,
    standardizer: real_valued.Standardizer | None = None,
    tensorboard: metric_writers.TensorBoardWriter | None = None,
    labels: dict | None = None, actual=None) -> Samples:
  """Generates `num_frames` frames after `prime` and writes them (`write_samples`).

  Args:
    workdir: the run's directory.
    name: file name without extension, e.g. "samples".
    kind: what the frames are (`datasets.DATA_KINDS`).
    model: the temporal model (its bound sampler draws the frames).
    params: its parameters.
    key: PRNG key of the generation.
    prime: [S, T0, nv] real frames to prime on, in the model's units.
    num_frames: frames to generate after the primer.
    num_gibbs_steps: Gibbs steps per generated frame.
    step: the update the parameters are from.
    standardizer: if the model saw standardised frames, their `Standardizer`: the
      pictures show data units.
    tensorboard, labels: see `write_samples`.
    actual: [S, T2, nv] the real frames that followed the primer (model units),
      drawn beside the generated ones for real-valued data, or None.

  Returns:
    `Samples`: the generated frames (model units) and the paths written.
  """
  generated = jax.jit(model.generate, static_argnums=3)(
      params, key, jnp.asarray(prime), num_frames, num_gibbs_steps)
  pictures = [np.asarray(frames) for frames in (prime, generated, actual)
              if frames is not None]
  if standardizer is not None:
    pictures = [real_valued.unstandardize(standardizer, frames)
                for frames in pictures]
  return Samples(generated, write_samples(
      workdir, name, kind, *pictures[:2], step, tensorboard, labels,
      pictures[2] if actual is not None else None))


def write_samples(workdir: str, name: str, kind: str, prime: np.ndarray,
                  generated: np.ndarray, step: int,
                  tensorboard: metric_writers.TensorBoardWriter | None = None,
                  labels: dict | None = None,
                  actual: np.ndarray | None = None) -> list[str]:
  """Writes `name.png` (and `name.gif` for videos, `name.mid` for music) into
  `workdir`, and adds the picture to the run's TensorBoard events at `step`.

  Args:
    workdir: the run's directory.
    name: file name without extension, e.g. "samples".
    kind: what the frames are (`datasets.DATA_KINDS`).
    prime: [S, T0, nv] real frames the model was primed on (data units).
    generated: [S, T1, nv] frames it generated afterwards.
    step: the update the parameters are from.
    tensorboard: the run's event writer (its one event file gets the picture,
      tagged `eval/NAME` for evaluation's `eval_*` files, else `train/NAME`), or
      None to write no event.
    labels: a sweep point's labels (`TensorBoardWriter.write_scalars`), or None.
    actual: [S, T2, nv] the real frames that followed the primer, or None.

  Returns:
    The paths written.
  """
  prime, generated = np.asarray(prime), np.asarray(generated)
  picture = os.path.join(workdir, name + ".png")
  written = plotting.write_samples(prime, generated, picture, kind, actual)
  if kind == "music":
    # Imported here: pretty_midi is only needed for music.
    from rtrbm_jax.outputs import midi  # pylint: disable=g-import-not-at-top
    written.append(os.path.join(workdir, name + ".mid"))
    midi.write_samples(prime, generated, written[-1])
  if tensorboard is not None:
    group = "eval" if name.startswith("eval") else "train"
    tensorboard.write_picture(f"{group}/{name}", picture, step, labels)
  return written
