"""Pictures of a run: learning curves and generated sequences (matplotlib, Agg).

Generated sequences are drawn by kind: videos as wrapped strips of bordered frames
(and an animated GIF), piano rolls with a pitch axis, real-valued frames as lines.
"""

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from rtrbm_jax import files
from rtrbm_jax.data import datasets

# (metric, title, y label) of the learning curves.
_CURVES = (
    ("reconstruction_error", "training reconstruction error",
     "squared error per frame\n(summed over units)"),
    ("heldout_next_frame_error", "held-out next-frame error",
     "squared error per frame\n(summed over units)"),
    ("gradient_norm", "gradient norm", "L2 norm of the gradient"),
    ("free_energy_gap", "free-energy gap F(data) - F(CD sample)",
     "nats per frame (mean)"))
# Sample pictures wrap after this many frames, so long strips stay readable.
MAX_FRAMES_PER_ROW = 20
# Lowest MIDI note (A0) of the 88 piano keys; unit i of a piano roll is note 21 + i.
_LOWEST_NOTE = 21
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _save(figure, path: str) -> None:
  with files.atomic_write(path, "wb") as f:
    figure.savefig(f, format="png", dpi=100)
  plt.close(figure)


def _switches(config: dict) -> list[tuple[int, str]]:
  """(update, label) of the pretrain -> train switch and of each CD-k change."""
  pretrain_steps = config["pretrain"]["num_steps"]
  switches = [(pretrain_steps, "RBM pretraining ends")] if pretrain_steps else []
  switches += [(pretrain_steps + start, f"CD-{k} from here")
               for start, k in config["train"]["gibbs_schedule"]]
  return switches


def _mark_switches(axis, switches) -> None:
  for index, (step, label) in enumerate(switches):
    axis.axvline(step, color="0.4" if index == 0 else "tab:red",
                 linestyle="--", linewidth=0.8, label=label)


def _plot_curve(axis, records, name, label=None, color=None) -> None:
  """One metric against the update, with a band of +-1 standard error if recorded."""
  records = [r for r in records if name in r]
  if not records:
    return
  steps, values, errors = (np.asarray([r.get(key, np.nan) for r in records], float)
                           for key in ("step", name, name + "_se"))
  lines = axis.plot(steps, values, marker="." if len(records) < 50 else None,
                    label=label, color=color)
  if np.any(np.isfinite(errors)):
    axis.fill_between(steps, values - errors, values + errors, alpha=0.25,
                      color=lines[0].get_color(), linewidth=0)


def write_curves(metrics_path: str, path: str, config) -> None:
  """Plots the curves of `metrics.jsonl` against the update into `path` (PNG).

  Held-out errors carry a band of +-1 standard error; dashed lines mark the end of
  RBM pretraining and each change of k in CD-k (from the run's `config`, a
  ConfigDict or its dict).
  """
  records = files.read_records(metrics_path)
  switches = _switches(config)
  figure, axes = plt.subplots(1, len(_CURVES), figsize=(4.5 * len(_CURVES), 3.6))
  for axis, curve in zip(axes, _CURVES):
    _plot_curve(axis, records, curve[0], label="model")
    _finish_axis(axis, curve, records, switches)
  if switches:
    axes[0].legend(fontsize=7)
  figure.tight_layout()
  _save(figure, path)


def _finish_axis(axis, curve, records, switches) -> None:
  """Switch markers, the copy-last-frame line of held-out errors, title and labels.

  Args:
    axis: the axis of one curve.
    curve: its (metric, title, y label), an entry of `_CURVES`.
    records: the metric records (the baseline is read from them).
    switches: (update, label) of the lines to mark (`_switches`).
  """
  name, title, unit = curve
  _mark_switches(axis, switches)
  if name == "heldout_next_frame_error":
    _draw_copy_last(axis, records)
  axis.set_title(title, fontsize=10)
  axis.set_xlabel("update")
  axis.set_ylabel(unit)


def _draw_copy_last(axis, records) -> None:
  """The copy-last-frame baseline as a dashed line on a held-out-error axis."""
  baseline = [r["heldout_copy_last_frame_error"] for r in records
              if "heldout_copy_last_frame_error" in r]
  if baseline:
    axis.axhline(baseline[-1], color="gray", linestyle="--",
                 label="copy last frame")
    axis.legend(fontsize=8)


_REAL_COLOR = (0.25, 0.45, 0.95)
_GENERATED_COLOR = (1.0, 0.55, 0.1)


def _video_frames(prime: np.ndarray, generated: np.ndarray, side: int):
  """Each sequence's frames as bordered RGB images: blue = real, orange = generated."""
  sequences = []
  for real, fake in zip(prime, generated):
    low = min(real.min(), fake.min())
    high = max(real.max(), fake.max())
    scale = lambda frame: (frame - low) / (high - low) if high > low else frame * 0
    sequences.append(
        [_bordered(scale(frame).reshape(side, side), _REAL_COLOR) for frame in real]
        + [_bordered(scale(frame).reshape(side, side), _GENERATED_COLOR)
           for frame in fake])
  return sequences


def _bordered(grey: np.ndarray, color) -> np.ndarray:
  image = np.repeat(np.asarray(grey, np.float32)[..., None], 3, axis=-1)
  image = np.pad(image, ((1, 1), (1, 1), (0, 0)))
  image[[0, -1], :] = color
  image[:, [0, -1]] = color
  return image


def _write_video_strips(prime, generated, path: str) -> None:
  """Frames in rows of at most MAX_FRAMES_PER_ROW, one block of rows per sequence."""
  side = math.isqrt(prime.shape[-1])
  sequences = _video_frames(prime, generated, side)
  blank = np.ones_like(sequences[0][0])
  rows = []
  for frames in sequences:
    for start in range(0, len(frames), MAX_FRAMES_PER_ROW):
      row = frames[start:start + MAX_FRAMES_PER_ROW]
      row += [blank] * (min(MAX_FRAMES_PER_ROW, len(frames)) - len(row))
      rows.append(np.concatenate(row, axis=1))
    rows.append(np.ones((side // 2 + 1,) + rows[-1].shape[1:], np.float32))
  mosaic = np.concatenate(rows[:-1], axis=0)
  # Frames are drawn at an integer zoom, the picture at most ~1600 px wide.
  zoom = max(1, min(6, 1600 // mosaic.shape[1]))
  height, width = mosaic.shape[0] * zoom, mosaic.shape[1] * zoom
  figure = plt.figure(figsize=(width / 100, height / 100 + 0.6), dpi=100)
  axis = figure.add_axes((0, 0, 1, height / (height + 60)))
  axis.imshow(mosaic, interpolation="nearest")
  axis.axis("off")
  figure.suptitle(
      f"{len(sequences)} sequences: {prime.shape[1]} real frames (blue) then "
      f"{generated.shape[1]} generated (orange), {MAX_FRAMES_PER_ROW} per row",
      fontsize=11, y=1 - 0.25 / (height / 100 + 0.6))
  _save(figure, path)


def write_gif(prime: np.ndarray, generated: np.ndarray, path: str,
              zoom: int = 4, milliseconds_per_frame: int = 100) -> None:
  """An animated GIF of square frames, the sequences side by side.

  Args:
    prime: [S, T0, R * R] real frames the model was primed on.
    generated: [S, T1, R * R] frames it generated afterwards.
    path: output GIF; real frames have a blue border, generated ones orange.
    zoom: pixels per frame pixel.
    milliseconds_per_frame: display time of each frame.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  side = math.isqrt(prime.shape[-1])
  sequences = _video_frames(prime, generated, side)
  pictures = []
  for frames in zip(*sequences):
    tiled = np.concatenate(
        [np.pad(frame, ((2, 2), (2, 2), (0, 0)), constant_values=1.0)
         for frame in frames], axis=1)
    tiled = np.kron(tiled, np.ones((zoom, zoom, 1), np.float32))
    pictures.append(Image.fromarray(np.uint8(np.round(255 * tiled))))
  with files.atomic_write(path, "wb") as f:
    pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=milliseconds_per_frame, loop=0)


def _note_name(midi: int) -> str:
  return f"{_NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def _write_piano_rolls(prime, generated, path: str) -> None:
  """Each sequence as a piano roll: pitch (note names) against time step."""
  rolls = np.concatenate([prime, generated], axis=1)
  used = np.flatnonzero(rolls.max(axis=(0, 1)) > 0.05)
  low = max(0, (used.min() if used.size else 0) - 3)
  high = min(rolls.shape[-1], (used.max() + 1 if used.size else rolls.shape[-1]) + 3)
  figure, axes = plt.subplots(len(rolls), 1, squeeze=False,
                              figsize=(min(16, 3 + rolls.shape[1] * 0.12),
                                       len(rolls) * (1 + (high - low) * 0.06)))
  for index, (axis, roll) in enumerate(zip(axes[:, 0], rolls)):
    axis.imshow(roll[:, low:high].T, origin="lower", aspect="auto", cmap="Greys",
                vmin=0, vmax=1, interpolation="nearest",
                extent=(-0.5, roll.shape[0] - 0.5, low - 0.5, high - 0.5))
    axis.axvline(prime.shape[1] - 0.5, color="tab:red", linewidth=1.2)
    c_keys = [key for key in range(low, high) if (key + _LOWEST_NOTE) % 12 == 0]
    axis.set_yticks(c_keys, [_note_name(key + _LOWEST_NOTE) for key in c_keys])
    axis.set_ylabel("pitch")
    axis.set_title(f"sequence {index + 1}: primer (left of the red line), then "
                   "generated (probabilities of each key)", fontsize=9)
  axes[-1, 0].set_xlabel("time step")
  figure.tight_layout()
  _save(figure, path)


# Dimensions drawn per sequence when the real continuation is drawn beside the
# generated one (the most varied ones: 49 joint angles in one panel are a blur).
TRACED_DIMENSIONS = 4


def _write_trajectories(prime, generated, path: str, actual=None) -> None:
  """Each sequence's dimensions as lines over time; primer shaded. With `actual`
  (the real frames that followed the primer), the most varied dimensions, the
  real continuation (dashed) beside the generated one (solid), a colour each."""
  figure, axes = plt.subplots(len(prime), 1, squeeze=False,
                              figsize=(10, 2.6 * len(prime)))
  colors = plt.get_cmap("tab20" if actual is None else "tab10")
  dimensions = range(prime.shape[-1])
  if actual is not None:
    real = np.concatenate([prime, actual], axis=1)
    dimensions = np.argsort(-real.reshape(-1, real.shape[-1]).var(axis=0))[
        :TRACED_DIMENSIONS]
  for index, (axis, primer, fake) in enumerate(zip(axes[:, 0], prime, generated)):
    after = np.arange(len(primer) - 1, len(primer) + len(fake))
    for number, dimension in enumerate(dimensions):
      color = colors(number % colors.N)
      axis.plot(primer[:, dimension], color=color, linewidth=1)
      axis.plot(after, np.concatenate([primer[-1:, dimension], fake[:, dimension]]),
                color=color, linewidth=1,
                label=None if actual is None else f"dimension {dimension}")
      if actual is not None:
        axis.plot(after[:len(actual[index]) + 1], np.concatenate(
            [primer[-1:, dimension], actual[index][:, dimension]]),
                  color=color, linestyle="--", linewidth=0.8)
    axis.axvspan(-0.5, len(primer) - 0.5, color="0.85", zorder=0)
    axis.set_ylabel("value")
    axis.set_title(
        f"sequence {index + 1}: real primer (shaded), then generated" + (
            "" if actual is None else " (solid) beside the real frames "
            f"(dashed); the {len(dimensions)} most varied of "
            f"{prime.shape[-1]} dimensions"), fontsize=9)
  if actual is not None:
    axes[0, 0].legend(fontsize=7, loc="upper right")
  axes[-1, 0].set_xlabel("time step")
  figure.tight_layout()
  _save(figure, path)


def write_samples(prime: np.ndarray, generated: np.ndarray, path: str,
                  kind: str, actual: np.ndarray | None = None) -> list[str]:
  """Pictures of primed generation: video strips (and a GIF), piano rolls or lines.

  Args:
    prime: [S, T0, nv] real frames the model was primed on.
    generated: [S, T1, nv] frames it generated afterwards.
    path: output PNG; for videos an animated GIF is written beside it (.gif).
    kind: what the frames are (`datasets.DATA_KINDS`): "video" (square frames,
      drawn as strips), "music" (piano rolls) or "real_valued" (lines).
    actual: [S, T2, nv] the real frames that followed the primer (T2 <= T1), or
      None; real-valued lines draw them beside the generated ones.

  Returns:
    The paths written.
  """
  if kind not in datasets.DATA_KINDS:
    raise ValueError(f"kind must be one of {datasets.DATA_KINDS}, got {kind!r}.")
  prime, generated = np.asarray(prime), np.asarray(generated)
  if kind == "video":
    _write_video_strips(prime, generated, path)
    gif_path = os.path.splitext(path)[0] + ".gif"
    write_gif(prime, generated, gif_path)
    return [path, gif_path]
  if kind == "music":
    _write_piano_rolls(prime, generated, path)
  else:
    _write_trajectories(prime, generated, path,
                        None if actual is None else np.asarray(actual))
  return [path]


def _point_label(record: dict, swept_names) -> str:
  if not swept_names:
    return f"point {record['point']}"
  return ", ".join(f"{name}={record[name]:g}" for name in swept_names)


def write_sweep_curves(metrics_path: str, path: str, config) -> None:
  """Plots every sweep point's curves (one line per point, labelled by its swept
  values, held-out errors with +-1 standard error bands) into `path` (PNG); the
  sweep's `config` (a ConfigDict or its dict) names the swept values."""
  records = files.read_records(metrics_path)
  swept_names = list(config.get("sweep", {}))
  switches = _switches(config)
  points = sorted({r["point"] for r in records})
  colors = plt.get_cmap("tab10" if len(points) <= 10 else "tab20")
  figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
  for axis, curve in zip(axes, _CURVES[:2]):
    for index, point in enumerate(points):
      point_records = [r for r in records if r["point"] == point]
      _plot_curve(axis, point_records, curve[0],
                  _point_label(point_records[0], swept_names),
                  colors(index % colors.N))
    _finish_axis(axis, curve, records, switches)
  axes[1].legend(fontsize=7, ncol=2)
  figure.tight_layout()
  _save(figure, path)
