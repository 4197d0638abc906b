"""What a run shows of its generated sequences: pictures, a GIF, MIDI, TensorBoard.

One call, shared by training (`samples.*`) and evaluation (`eval_samples.*`), so both
write the same kinds of files for the same data.
"""

import os

import numpy as np

from rtrbm_jax import metric_writers
from rtrbm_jax import plotting


def write_samples(workdir: str, name: str, prime: np.ndarray,
                  generated: np.ndarray, step: int) -> list[str]:
  """Writes `name.png` (and `name.gif` for videos, `name.mid` for piano rolls) into
  `workdir`, and adds the picture to the run's TensorBoard events at `step`.

  Args:
    workdir: the run's directory.
    name: file name without extension, e.g. "samples".
    prime: [S, T0, nv] real frames the model was primed on (data units).
    generated: [S, T1, nv] frames it generated afterwards.
    step: the update the parameters are from.

  Returns:
    The paths written.
  """
  prime, generated = np.asarray(prime), np.asarray(generated)
  picture = os.path.join(workdir, name + ".png")
  written = plotting.write_samples(prime, generated, picture)
  if plotting.sample_kind(prime) == "piano_roll":
    # Imported here: pretty_midi is only needed for music.
    from rtrbm_jax import midi  # pylint: disable=g-import-not-at-top
    written.append(os.path.join(workdir, name + ".mid"))
    midi.write_samples(prime, generated, written[-1])
  metric_writers.write_picture(workdir, name, picture, step)
  return written
