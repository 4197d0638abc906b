"""Pictures of a run: learning curves and generated sequences (matplotlib, Agg)."""

import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

_CURVES = (("reconstruction_error", "training reconstruction error"),
           ("heldout_next_frame_error", "held-out next-frame error"),
           ("gradient_norm", "gradient norm"))


def _save(figure, path: str) -> None:
  # Written under a temporary name first, so a crash never leaves half a picture.
  temporary = path + ".tmp.png"
  figure.savefig(temporary, dpi=100)
  plt.close(figure)
  os.replace(temporary, path)


def write_curves(metrics_path: str, path: str) -> None:
  """Plots the curves of `metrics.jsonl` against the step into `path` (PNG)."""
  with open(metrics_path) as f:
    records = [json.loads(line) for line in f if line.strip()]
  figure, axes = plt.subplots(1, len(_CURVES), figsize=(5 * len(_CURVES), 3.5))
  for axis, (name, title) in zip(axes, _CURVES):
    points = [(r["step"], r[name]) for r in records if name in r]
    if points:
      steps, values = zip(*points)
      axis.plot(steps, values, marker="." if len(points) < 50 else None,
                label="model")
    if name == "heldout_next_frame_error":
      _draw_copy_last(axis, records)
    axis.set_title(title)
    axis.set_xlabel("update")
  figure.tight_layout()
  _save(figure, path)


def _draw_copy_last(axis, records) -> None:
  """The copy-last-frame baseline as a dashed line on a held-out-error axis."""
  baseline = [r["heldout_copy_last_frame_error"] for r in records
              if "heldout_copy_last_frame_error" in r]
  if baseline:
    axis.axhline(baseline[-1], color="gray", linestyle="--",
                 label="copy last frame")
    axis.legend(fontsize=8)


def _frame_image(frame: np.ndarray) -> np.ndarray:
  """A frame as an image: square frames as pixels, others as a column."""
  side = math.isqrt(frame.size)
  if side * side == frame.size:
    return frame.reshape(side, side)
  return frame.reshape(-1, 1)


def write_samples(prime: np.ndarray, generated: np.ndarray, path: str) -> None:
  """A PNG strip per sequence: the priming frames, a gap, then the generated ones.

  Args:
    prime: [S, T0, nv] real frames the model was primed on.
    generated: [S, T1, nv] frames it generated afterwards.
    path: output PNG.
  """
  rows = []
  for real, fake in zip(prime, generated):
    images = [_frame_image(frame) for frame in real]
    gap = np.full_like(images[0][:, :1], np.nan)
    images += [gap] + [_frame_image(frame) for frame in fake]
    rows.append(np.concatenate(
        [np.pad(image, ((0, 0), (0, 1)), constant_values=np.nan)
         for image in images], axis=1))
  height = rows[0].shape[0]
  figure, axes = plt.subplots(len(rows), 1, squeeze=False,
                              figsize=(rows[0].shape[1] / 12 + 1,
                                       len(rows) * (height / 12 + 0.3)))
  for axis, row in zip(axes[:, 0], rows):
    axis.imshow(row, cmap="gray", vmin=np.nanmin(row), vmax=np.nanmax(row),
                interpolation="nearest", aspect="auto")
    axis.axis("off")
  axes[0, 0].set_title(f"primed on {prime.shape[1]} real frames | "
                       f"{generated.shape[1]} generated", fontsize=9)
  figure.tight_layout()
  _save(figure, path)


def write_sweep_curves(metrics_path: str, path: str) -> None:
  """Plots every sweep point's curves (one line per point) into `path` (PNG)."""
  with open(metrics_path) as f:
    records = [json.loads(line) for line in f if line.strip()]
  points = sorted({r["point"] for r in records})
  figure, axes = plt.subplots(1, 2, figsize=(11, 4))
  for axis, (name, title) in zip(axes, _CURVES[:2]):
    for point in points:
      curve = [(r["step"], r[name]) for r in records
               if r["point"] == point and name in r]
      if curve:
        axis.plot(*zip(*curve), label=str(point))
    if name == "heldout_next_frame_error":
      _draw_copy_last(axis, records)
    axis.set_title(title)
    axis.set_xlabel("update")
  axes[1].legend(title="point", fontsize=7, ncol=2)
  figure.tight_layout()
  _save(figure, path)
