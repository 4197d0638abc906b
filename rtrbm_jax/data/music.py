"""Polyphonic music as 88-key binary piano rolls.

Sources
-------
* N. Boulanger-Lewandowski, Y. Bengio, P. Vincent, "Modeling Temporal Dependencies
  in High-Dimensional Sequences: Application to Polyphonic Music Generation and
  Transcription", ICML 2012 (the RNN-RBM paper). It introduced the four benchmark
  piano-roll pickles (JSB Chorales, Nottingham, MuseData, Piano-midi.de) that
  :func:`load_piano_rolls` reads.
* M. S. Cuthbert, C. Ariza, "music21: A Toolkit for Computer-Aided Musicology and
  Symbolic Music Data", ISMIR 2010. Its corpus ships the Bach chorales used by
  :func:`bach_chorales` so no download is needed.

Pickle format (:func:`load_piano_rolls`)
----------------------------------------
A pickle of a ``dict`` with (at least) the keys ``'train'``, ``'valid'`` and
``'test'``. Each value is a list of sequences; a sequence is a list of frames (time
steps); a frame is a list/tuple (possibly empty, meaning silence) of MIDI note
numbers in 21..108, the 88 keys of a piano from A0 to C8. Unit ``i`` of the
88-dimensional binary vector is MIDI note ``21 + i``. The file is read with
`pickles.load_plain_data`, which refuses any pickle that asks for a class or
function, so a downloaded file cannot run code.

Array conventions
-----------------
Every sequence returned here is a ``float32`` array of shape ``[T, 88]`` with
entries in {0, 1}; ``T`` differs between sequences. The models take fixed-shape
batches: `datasets.load_dataset` cuts training windows ``[B, W, 88]`` and
`datasets.pad_sequences` zero-pads whole pieces with a mask for evaluation.
"""

from __future__ import annotations

import hashlib
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rtrbm_jax.data import cache
from rtrbm_jax.data import pickles
from rtrbm_jax.progress import Progress

#: Number of piano keys / visible units.
NUM_KEYS = 88
#: MIDI number of the lowest piano key (A0); unit ``i`` is MIDI note
#: ``LOWEST_NOTE + i``.
LOWEST_NOTE = 21
#: MIDI number of the highest piano key (C8).
HIGHEST_NOTE = LOWEST_NOTE + NUM_KEYS - 1
#: Split names, in the order the pickles and :func:`bach_chorales` use.
SPLITS = ("train", "valid", "test")

# Bump when the cached .npz layout or the conversion rule changes, so stale caches
# are ignored rather than silently reused (the version is part of the file name).
_CACHE_FORMAT_VERSION = 1
# Salt of the hash that orders the chorales before the split (see split_by_hash).
BACH_SPLIT_SEED = 1234
# Fractions of the data set for train / valid (test gets the rest); roughly JSB's
# 229/76/77 of 382 chorales.
BACH_SPLIT_FRACTIONS = (0.6, 0.2)
_PICKLE_EXAMPLE = "expected a piano-roll .pickle (e.g. 'JSB Chorales.pickle')"


# ------------------------------------------------------------------------------------
# Loading the RNN-RBM paper's pickles
# ------------------------------------------------------------------------------------


def _as_midi_note(value: Any, where: str) -> int:
  """`value` as an int MIDI note in 21..108, or a ValueError naming `where`."""
  # The published pickles were written by Python 2; depending on the file, notes
  # are ints, numpy integers or integral floats. Accept all of those, reject
  # anything else.
  try:
    note = int(value)
    integral = note == value
  except (TypeError, ValueError, OverflowError):
    # OverflowError: int() of an infinite float.
    integral = False
  if not integral:
    raise ValueError(
        f"{where}: note {value!r} is not an integer MIDI note number; "
        f"expected integers in {LOWEST_NOTE}..{HIGHEST_NOTE}")
  if not LOWEST_NOTE <= note <= HIGHEST_NOTE:
    raise ValueError(
        f"{where}: note {note} is outside the piano range; "
        f"expected MIDI notes in {LOWEST_NOTE}..{HIGHEST_NOTE} (A0..C8)")
  return note


def frames_to_piano_roll(frames: Sequence[Sequence[int]],
                         where: str = "sequence") -> np.ndarray:
  """Converts a list of frames of MIDI note numbers into a binary piano roll.

  Args:
    frames: length-``T`` list; frame ``t`` is an iterable of MIDI notes in 21..108
      sounding at time step ``t`` (empty means silence, duplicates are harmless).
    where: text naming the sequence, used in error messages.

  Returns:
    ``float32`` array ``[T, 88]``; entry ``[t, n - 21]`` is 1 iff note ``n`` is in
    frame ``t``.

  Raises:
    ValueError: if ``frames`` is not a non-empty list, tuple or array, a frame
      is not one either, or a note is not an integer in 21..108.
  """
  if not isinstance(frames, (list, tuple, np.ndarray)):
    raise ValueError(f"{where}: is a {type(frames).__name__}; expected a list of "
                     "frames (each a list or tuple of MIDI notes)")
  if len(frames) == 0:
    raise ValueError(f"{where}: sequence is empty (0 frames); every sequence needs "
                     ">= 1 frame")
  roll = np.zeros((len(frames), NUM_KEYS), dtype=np.float32)
  for time, frame in enumerate(frames):
    if not isinstance(frame, (list, tuple, np.ndarray)):
      raise ValueError(f"{where}, frame {time}: is a {type(frame).__name__} "
                       f"({frame!r}); expected a list or tuple of MIDI notes "
                       f"in {LOWEST_NOTE}..{HIGHEST_NOTE} (empty for silence)")
    for value in frame:
      note = _as_midi_note(value, f"{where}, frame {time}")
      roll[time, note - LOWEST_NOTE] = 1.0
  return roll


def _read_pickle(path: Path, name: str) -> Any:
  """The plain data pickled in `path`, or a ValueError naming the file `name`."""
  if not path.is_file():
    raise ValueError(f"{name} does not exist or is not a file; {_PICKLE_EXAMPLE}")
  return pickles.load_plain_data(path, name)


def load_piano_rolls(path: str | os.PathLike,
                     source: str | None = None) -> dict[str, list[np.ndarray]]:
  """Loads one of the RNN-RBM paper's piano-roll pickles (format: module docstring).

  Args:
    path: the ``.pickle`` file, e.g. ``JSB Chorales.pickle``.
    source: how errors name the file (default ``path=...``), e.g. the URL a
      download came from.

  Returns:
    ``{'train': [...], 'valid': [...], 'test': [...]}``; each list holds one
    ``float32`` array ``[T_i, 88]`` per sequence, in file order. Extra keys are
    ignored.

  Raises:
    ValueError: the file is missing, is not a dict with the three split keys, a
      split is not a list, a sequence is empty, or a note is outside 21..108 (the
      message names the split, the sequence index and the note).
  """
  path = Path(path)
  name = source or f"path={str(path)!r}"
  data = _read_pickle(path, name)
  if not isinstance(data, Mapping) or not all(split in data for split in SPLITS):
    found = (sorted(map(repr, data.keys())) if isinstance(data, Mapping)
             else type(data).__name__)
    raise ValueError(f"{name} holds {found}; expected a dict with keys "
                     f"{list(SPLITS)} each mapping to a list of sequences")
  rolls: dict[str, list[np.ndarray]] = {}
  for split in SPLITS:
    sequences = data[split]
    if not isinstance(sequences, (list, tuple)):
      raise ValueError(f"{name}: split {split!r} is a "
                       f"{type(sequences).__name__}; expected a list of sequences "
                       "(lists of frames)")
    rolls[split] = [
        frames_to_piano_roll(sequence,
                             where=f"{name}: split {split!r}, sequence {index}")
        for index, sequence in enumerate(sequences)]
  return rolls


# ------------------------------------------------------------------------------------
# Bach chorales from the music21 corpus
# ------------------------------------------------------------------------------------


def _import_music21():
  # music21 is an optional dependency (large, only needed to build the chorale data
  # once): import it lazily so the rest of the package works without it.
  try:
    import music21  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError("bach_chorales / piano_roll_from_score need the optional "
                      "dependency music21; install it with `pip install music21`"
                      ) from error
  return music21


def _check_step(step: float) -> None:
  if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
    raise ValueError(f"step={step!r} is invalid; expected a positive number of "
                     "quarter notes (1.0 = quarter note)")


def _sounding_notes(score: Any, grid_step: Fraction, music21: Any):
  """The notes of `score` as grid spans, and where the last note ends.

  Returns:
    `(spans, end)`: `spans` lists `(first_step, end_step, midi_numbers)` per note
    or chord that sounds at some grid point `k * grid_step` (steps `first_step <=
    k < end_step`); `end` is the latest note end in quarter notes.
  """
  spans = []
  end = Fraction(0)
  for element in score.flatten().getElementsByClass(("Note", "Chord")):
    if isinstance(element, music21.harmony.Harmony):
      continue  # chord symbols are annotations, not sounding notes
    start = Fraction(element.offset)
    stop = start + Fraction(element.duration.quarterLength)
    if stop <= start:
      continue  # grace notes have zero duration
    end = max(end, stop)
    # The steps k with start <= k * grid_step < stop.
    first_step = math.ceil(start / grid_step)
    end_step = math.ceil(stop / grid_step)
    if end_step > first_step:
      spans.append((first_step, end_step,
                    [pitch.midi for pitch in element.pitches]))
  return spans, end


def piano_roll_from_score(score: Any, step: float = 1.0) -> np.ndarray:
  """Samples a music21 stream into a binary piano roll on a regular grid.

  Rule: frame ``k`` covers ``[k*step, (k+1)*step)`` quarter notes from the start of
  the stream and contains exactly the pitches **sounding at its start**
  ``k*step``, i.e. notes with ``offset <= k*step < offset + duration`` (all parts
  together; a note held or tied across several steps is on in each of them). Notes
  that start and end strictly inside a step (passing eighths, ornaments, grace
  notes) do not appear. Sampling (rather than "any overlap with the step") keeps
  at most one note per voice per frame, matching quarter-note-quantised JSB
  chorales, and makes a repeated note and a held note look the same, as in any
  binary piano roll. ``T = ceil(end / step)`` where ``end`` is the latest note end,
  so trailing rests are dropped; repeats are not expanded; chord symbols (harmony
  annotations) are ignored.

  Args:
    score: a ``music21.stream.Stream`` (usually a ``Score`` with several parts).
    step: grid spacing in quarter notes (1.0 = quarter note, 0.5 = eighth note).

  Returns:
    ``float32`` array ``[T, 88]``; entry ``[k, midi - 21]`` is 1 iff that pitch is
    sounding at time ``k*step``.

  Raises:
    ValueError: ``step`` is not positive, the stream has no pitched notes, or a
      pitch is outside MIDI 21..108.
  """
  music21 = _import_music21()
  _check_step(step)
  # Exact rational arithmetic: music21 offsets can be Fractions (triplets), and
  # float rounding at a grid point would flip whether a note counts as sounding.
  grid_step = Fraction(step)
  spans, end = _sounding_notes(score, grid_step, music21)
  if end == 0:
    raise ValueError(f"score={score!r} contains no pitched notes of positive "
                     "duration; expected a stream with Note/Chord objects")
  roll = np.zeros((math.ceil(end / grid_step), NUM_KEYS), dtype=np.float32)
  for first_step, end_step, midi_numbers in spans:
    for midi_number in midi_numbers:
      if not LOWEST_NOTE <= midi_number <= HIGHEST_NOTE:
        raise ValueError(
            f"score={score!r}: pitch with MIDI number {midi_number} at step "
            f"{first_step} is outside the piano range; expected "
            f"{LOWEST_NOTE}..{HIGHEST_NOTE}")
      roll[first_step:end_step, midi_number - LOWEST_NOTE] = 1.0
  return roll


def bach_chorale_paths() -> list[tuple[str, Path]]:
  """Lists the Riemenschneider 371 chorales in the music21 corpus, one file each.

  The chorale list is ``music21.corpus.chorales.Iterator`` (Riemenschneider
  numbering, 1..371). Several numbers share a file (Riemenschneider repeats some
  harmonisations), so the list is de-duplicated by file. Names are resolved to
  files by exact stem (preferring ``.mxl``, then ``.xml``, then ``.krn``, since
  MusicXML carries part names); a name with no exact match (music21 10 lists
  ``bach/bwv18.5-l`` whose file is ``bwv18.5-lz``) falls back to music21's own
  ``corpus.getWork`` match if unique.

  Returns:
    ``(name, path)`` pairs sorted by name, where name is e.g. ``'bach/bwv269.mxl'``.
  """
  corpus = _import_music21().corpus
  paths_by_stem: dict[str, list[Path]] = {}
  for path in corpus.getComposer("bach"):
    paths_by_stem.setdefault(Path(path).stem, []).append(Path(path))
  preference = {".mxl": 0, ".xml": 1, ".musicxml": 1, ".krn": 2}
  resolved: dict[str, Path] = {}
  for work in corpus.chorales.Iterator(returnType="filename"):
    stem = work.split("/")[-1]
    candidates = [path for path in paths_by_stem.get(stem, [])
                  if path.suffix in preference]
    if candidates:
      path = min(candidates, key=lambda candidate: preference[candidate.suffix])
    else:
      found = corpus.getWork(work)
      if isinstance(found, list):
        if len(found) != 1:
          raise RuntimeError(f"music21 corpus work {work!r} matches {found}; "
                             "expected one file")
        found = found[0]
      path = Path(found)
    resolved[f"bach/{path.name}"] = path
  return sorted(resolved.items())


def split_by_hash(names: Sequence[str], seed: int = BACH_SPLIT_SEED,
                  fractions: tuple[float, float] = BACH_SPLIT_FRACTIONS
                  ) -> dict[str, list[str]]:
  """Deterministic train/valid/test split of a list of item names.

  The names are ordered by ``sha256(f"{seed}:{name}")`` (a fixed pseudo-random
  permutation that, unlike ``numpy.random``, can never change between library
  versions, and which keeps each name's position independent of which other names
  exist); the first ``round(train_fraction * n)`` go to train, the next
  ``round(valid_fraction * n)`` to valid, the rest to test. Each split is returned
  sorted.

  Args:
    names: distinct item names.
    seed: salt of the hash.
    fractions: ``(train_fraction, valid_fraction)``; the test fraction is the
      remainder.

  Returns:
    ``{'train': [...], 'valid': [...], 'test': [...]}`` of names.
  """
  if len(set(names)) != len(names):
    raise ValueError(f"names has {len(names) - len(set(names))} duplicates; "
                     "expected distinct names")
  train_fraction, valid_fraction = fractions
  if not (0 <= train_fraction and 0 <= valid_fraction
          and train_fraction + valid_fraction <= 1):
    raise ValueError(f"fractions={fractions!r} is invalid; expected (f_train, "
                     "f_valid) >= 0 with f_train + f_valid <= 1")
  order = sorted(
      names, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())
  num_train = round(train_fraction * len(order))
  num_valid = round(valid_fraction * len(order))
  return {"train": sorted(order[:num_train]),
          "valid": sorted(order[num_train:num_train + num_valid]),
          "test": sorted(order[num_train + num_valid:])}


_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


def _vocal_parts(score: Any) -> list:
  """The choir's parts of a chorale score: those whose name starts with a voice name.

  About 20 of the corpus files are cantata movements that also notate trumpets,
  horns, timpani, strings or continuo (``bwv41.6``, ``bwv248.42-4``, ...). Those
  instruments double the voices or add descants and would put up to 8 notes in a
  frame, so only the parts named Soprano/Alto/Tenor/Bass (``'Soprano 1'`` and
  ``'Soprano Oboe 1 Violin1'`` count, ``'Continuo'`` does not) are kept, which
  gives 4 voices everywhere except ``bwv27.6`` (5: two sopranos). A score with
  fewer than 4 such names (e.g. unnamed parts) is used whole.
  """
  parts = list(score.parts)
  vocal = [part for part in parts
           if (part.partName or "").strip().lower().split(" ")[0] in _VOICE_NAMES]
  return vocal if len(vocal) >= 4 else parts


def _transposition_key(roll: np.ndarray) -> tuple:
  """Key that is equal for two rolls iff one is the other shifted along the keys."""
  used_keys = np.flatnonzero(roll.any(axis=0))
  lowest_key = used_keys[0] if used_keys.size else 0
  shifted = np.zeros(roll.shape, dtype=bool)  # fixed width, so shifts compare equal
  shifted[:, :NUM_KEYS - lowest_key] = roll[:, lowest_key:]
  return roll.shape, np.packbits(shifted).tobytes()


def _chorale_roll(score: Any, step: float) -> np.ndarray:
  """The OR of a chorale's vocal parts' rolls `[T, 88]`, leading rests dropped."""
  part_rolls = [piano_roll_from_score(part, step=step)
                for part in _vocal_parts(score)]
  roll = np.zeros((max(len(part_roll) for part_roll in part_rolls), NUM_KEYS),
                  dtype=np.float32)
  for part_roll in part_rolls:
    roll[:len(part_roll)] = np.maximum(roll[:len(part_roll)], part_roll)
  # A written rest before the first note carries no information.
  return roll[np.flatnonzero(roll.any(axis=1))[0]:]


def _build_bach_chorales(step: float) -> tuple[list[str], list[np.ndarray]]:
  """Parses every chorale (the slow part, ~40 ms each): names and `[T, 88]` rolls.

  Per chorale: the vocal parts (:func:`_vocal_parts`) are each converted with
  :func:`piano_roll_from_score` and OR-ed together, then leading all-silent frames
  (a written rest before the first note) are dropped. Chorales whose roll equals
  an earlier one (in name order) up to transposition are dropped so that no piece
  is in two splits: music21 10.5 has two (``bwv62.6`` = ``bwv274``; ``bwv18.5-w``
  = ``bwv18.5-lz`` a tone lower).
  """
  music21 = _import_music21()
  names, rolls, seen = [], [], set()
  paths = bach_chorale_paths()
  progress = Progress("Bach chorales: parsing music21's scores into piano rolls "
                      "(once; cached afterwards)", len(paths), "chorales")
  for name, path in paths:
    progress.update(1)
    # forceSource: parse the file itself rather than reading/writing music21's own
    # pickle cache in its scratch directory; our .npz is the cache.
    roll = _chorale_roll(music21.converter.parse(path, forceSource=True), step)
    key = _transposition_key(roll)
    if key in seen:
      continue
    seen.add(key)
    names.append(name)
    rolls.append(roll)
  return names, rolls


def _write_chorale_cache(path: Path, step: float, names: list[str],
                         rolls: list[np.ndarray]) -> None:
  """Saves the split chorales as one .npz: per split frames, lengths and names."""
  roll_by_name = dict(zip(names, rolls))
  arrays: dict[str, np.ndarray] = {"step": np.float64(step)}
  for split, split_names in split_by_hash(names).items():
    split_rolls = [roll_by_name[name] for name in split_names]
    # uint8 + lengths keeps the file small; sequences are ragged so store them
    # concatenated along time.
    arrays[f"{split}_frames"] = (
        np.concatenate(split_rolls).astype(np.uint8) if split_rolls
        else np.zeros((0, NUM_KEYS), np.uint8))
    arrays[f"{split}_lengths"] = np.array([len(roll) for roll in split_rolls],
                                          dtype=np.int64)
    arrays[f"{split}_names"] = np.array(split_names, dtype=np.str_)
  path.parent.mkdir(parents=True, exist_ok=True)
  # A crash or a concurrent reader never sees a half-written cache. Given a file
  # object, numpy adds no ".npz" to the name.
  with cache.atomic_write(path, "wb") as file:
    np.savez_compressed(file, **arrays)


def _read_chorale_cache(path: Path) -> dict[str, list[np.ndarray]]:
  """The `[T_i, 88]` float32 rolls of each split saved by `_write_chorale_cache`."""
  rolls = {}
  with np.load(path) as archive:
    for split in SPLITS:
      frames = archive[f"{split}_frames"].astype(np.float32)
      lengths = archive[f"{split}_lengths"]
      rolls[split] = (list(np.split(frames, np.cumsum(lengths)[:-1]))
                      if len(lengths) else [])
  return rolls


def bach_chorales(cache_dir: str | os.PathLike | None = None, step: float = 1.0
                  ) -> dict[str, list[np.ndarray]]:
  """Bach's chorales from the music21 corpus as 88-key piano rolls, with a fixed split.

  Data: the Riemenschneider 371 chorales as listed by music21, one per file (350
  files; :func:`bach_chorale_paths`), choir parts only, leading rests trimmed, and
  duplicates up to transposition removed (:func:`_build_bach_chorales`): 348
  chorales with music21 10.5. Each is converted with :func:`piano_roll_from_score`
  (the pitches sounding at the start of each ``step``; quarter notes by default,
  as in JSB Chorales), in its written key (not transposed). Rests written inside a
  chorale (e.g. between phrases) stay as silent frames. Split: 60/20/20 by
  :func:`split_by_hash` (seed ``BACH_SPLIT_SEED``) of the names; with music21 10.5
  that is 209/70/69 chorales and 11533/3908/3550 frames at ``step=1``. Each split
  lists its chorales in name order.

  The first call parses the scores (needs ``pip install music21``; ~15 s on one
  CPU core) and caches the result as ``bach_chorales_v{version}_step{step}.npz``
  in ``cache_dir``; later calls only read that file (milliseconds, music21 not
  needed). Delete the file to rebuild, e.g. after upgrading music21 (whose corpus
  may change).

  Args:
    cache_dir: where the .npz lives; default `cache.default_cache_dir()`
      (``$RTRBM_JAX_CACHE`` or ``~/.cache/rtrbm_jax``).
    step: grid spacing in quarter notes.

  Returns:
    ``{'train': [...], 'valid': [...], 'test': [...]}``, lists of ``float32``
    arrays ``[T_i, 88]``. The cache file also stores the names as
    ``{split}_names``.
  """
  _check_step(step)
  cache_dir = (Path(cache_dir) if cache_dir is not None
               else cache.default_cache_dir())
  path = cache_dir / f"bach_chorales_v{_CACHE_FORMAT_VERSION}_step{float(step):g}.npz"
  if not path.is_file():
    names, rolls = _build_bach_chorales(step)
    _write_chorale_cache(path, step, names, rolls)
  return _read_chorale_cache(path)
