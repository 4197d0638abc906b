"""Piano rolls to MIDI files and back (pretty_midi), to listen to generated music.

A piano roll `[T, 88]` has unit `i` = MIDI note `21 + i` (A0..C8), one frame per
time step. Written as MIDI, a run of consecutive on-frames of a key is one note
from the start of its first frame to the end of its last (a binary piano roll
cannot tell a held note from a repeated one, so held is the reading that does not
add onsets). Read back, a note sounds in frame k when its start <= k * step <
its end, times rounded to the nearest frame: the same rule that built the rolls
(`data.music.piano_roll_from_score`), so a roll survives the round trip exactly.
"""

import numpy as np
import pretty_midi

from rtrbm_jax import files
from rtrbm_jax.data import music

# The piano-roll layout is the data's: unit i is MIDI note LOWEST_NOTE + i.
NUM_KEYS = music.NUM_KEYS
LOWEST_NOTE = music.LOWEST_NOTE
# The RNN-RBM paper's JSB Chorales and our Bach chorales are in quarter notes:
# 0.5 s per frame is a quarter note at 120 beats per minute.
DEFAULT_SECONDS_PER_FRAME = 0.5


# A MIDI tempo is the microseconds of a beat (here a frame) in 3 bytes.
MAX_SECONDS_PER_FRAME = (2**24 - 1) / 1e6


def _check_seconds_per_frame(seconds_per_frame) -> None:
  if not (isinstance(seconds_per_frame, (int, float, np.number))
          and 0 < seconds_per_frame <= MAX_SECONDS_PER_FRAME):
    raise ValueError(f"seconds_per_frame={seconds_per_frame!r} is not accepted: a "
                     f"duration > 0 and <= {MAX_SECONDS_PER_FRAME} (the longest "
                     "beat a MIDI tempo holds).")


def _check_frames(name: str, frames) -> np.ndarray:
  """`frames` as an array `[S, T, 88]` of values in [0, 1], S, T >= 1."""
  frames = np.asarray(frames)
  if frames.ndim != 3 or frames.shape[2] != NUM_KEYS or 0 in frames.shape:
    raise ValueError(f"{name} has shape {frames.shape}; expected [S, T, "
                     f"{NUM_KEYS}] with S, T >= 1 (one column per piano key, "
                     "A0..C8).")
  outside = ~((frames >= 0) & (frames <= 1))  # NaN is outside too
  if np.any(outside):
    index = tuple(int(i) for i in np.argwhere(outside)[0])
    raise ValueError(f"{name} has {float(frames[index])!r} at (sequence, frame, key) "
                     f"{index}; expected probabilities in [0, 1] or 0/1.")
  return frames


def _check_roll(roll: np.ndarray) -> np.ndarray:
  roll = np.asarray(roll)
  if roll.ndim != 2 or roll.shape[1] != NUM_KEYS:
    raise ValueError(f"piano roll has shape {roll.shape}; expected [T, {NUM_KEYS}] "
                     "(one column per piano key, A0..C8).")
  if not np.all((roll == 0) | (roll == 1)):
    raise ValueError("piano roll has values other than 0 and 1; threshold or "
                     "sample the model's probabilities first (e.g. roll > 0.5).")
  return roll.astype(bool)


def piano_roll_to_midi(roll: np.ndarray,
                       seconds_per_frame: float = DEFAULT_SECONDS_PER_FRAME,
                       program: int = 0, velocity: int = 90) -> pretty_midi.PrettyMIDI:
  """A `pretty_midi.PrettyMIDI` of a binary piano roll (one instrument).

  Args:
    roll: `[T, 88]` frames of 0/1.
    seconds_per_frame: duration of a frame.
    program: the General MIDI instrument (0 = acoustic grand piano).
    velocity: the loudness of every note, 0..127.
  """
  roll = _check_roll(roll)
  _check_seconds_per_frame(seconds_per_frame)
  midi_file = pretty_midi.PrettyMIDI(initial_tempo=60 / seconds_per_frame)
  instrument = pretty_midi.Instrument(program=program)
  # Onsets and offsets of every run of on-frames, key by key.
  padded = np.pad(roll, ((1, 1), (0, 0))).astype(np.int8)
  changes = np.diff(padded, axis=0)
  for key in range(NUM_KEYS):
    starts = np.flatnonzero(changes[:, key] == 1)
    ends = np.flatnonzero(changes[:, key] == -1)
    for start, end in zip(starts, ends):
      instrument.notes.append(pretty_midi.Note(
          velocity=velocity, pitch=LOWEST_NOTE + key,
          start=start * seconds_per_frame, end=end * seconds_per_frame))
  midi_file.instruments.append(instrument)
  return midi_file


def write_midi(roll: np.ndarray, path: str,
               seconds_per_frame: float = DEFAULT_SECONDS_PER_FRAME) -> None:
  """Writes a binary piano roll `[T, 88]` as a MIDI file."""
  with files.atomic_write(path, "wb") as file:
    piano_roll_to_midi(roll, seconds_per_frame).write(file)


def read_midi(path: str, seconds_per_frame: float = DEFAULT_SECONDS_PER_FRAME,
              num_frames: int | None = None) -> np.ndarray:
  """A MIDI file as a binary piano roll `float32 [T, 88]` (all instruments but drums).

  Args:
    path: the MIDI file.
    seconds_per_frame: duration of a frame.
    num_frames: T; default: up to the end of the last note.
  """
  midi_file = pretty_midi.PrettyMIDI(path)
  notes = [note for instrument in midi_file.instruments if not instrument.is_drum
           for note in instrument.notes]
  if num_frames is None:
    num_frames = max((int(round(note.end / seconds_per_frame)) for note in notes),
                     default=0)
  roll = np.zeros((num_frames, NUM_KEYS), np.float32)
  for note in notes:
    if LOWEST_NOTE <= note.pitch < LOWEST_NOTE + NUM_KEYS:
      # MIDI stores ticks, so times come back within a tick of a frame boundary.
      start = int(round(note.start / seconds_per_frame))
      end = int(round(note.end / seconds_per_frame))
      roll[start:end, note.pitch - LOWEST_NOTE] = 1.0
  return roll


def write_samples(prime: np.ndarray, generated: np.ndarray, path: str,
                  seconds_per_frame: float = DEFAULT_SECONDS_PER_FRAME) -> np.ndarray:
  """Writes primed generations as one MIDI file and returns its piano roll.

  Each sequence contributes its primer, then what the model generated (keys with
  probability > 0.5), then two silent frames.

  Args:
    prime: [S, T0, 88] real frames the model was primed on.
    generated: [S, T1, 88] generated frames (probabilities or 0/1).
    path: the MIDI file.
    seconds_per_frame: duration of a frame.

  Returns:
    The piano roll written, `[S * (T0 + T1 + 2), 88]`.

  Raises:
    ValueError: one line naming the argument: frames of another shape, no
      sequences, as many primers as generated sequences, values outside [0, 1]
      (NaN included), or a duration MIDI cannot hold.
  """
  prime, generated = _check_frames("prime", prime), _check_frames("generated",
                                                                  generated)
  if prime.shape[0] != generated.shape[0]:
    raise ValueError(f"prime has {prime.shape[0]} sequences and generated "
                     f"{generated.shape[0]}; expected one generated sequence per "
                     "primer.")
  _check_seconds_per_frame(seconds_per_frame)
  silence = np.zeros((2, NUM_KEYS), np.float32)
  roll = np.concatenate([
      part for real, fake in zip(prime, generated)
      for part in (real > 0.5, fake > 0.5, silence)]).astype(np.float32)
  write_midi(roll, path, seconds_per_frame)
  return roll
