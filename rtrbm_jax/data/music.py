"""Polyphonic music as 88-key binary piano rolls, plus batching and evaluation helpers.

Sources
-------
* N. Boulanger-Lewandowski, Y. Bengio, P. Vincent, "Modeling Temporal Dependencies in
  High-Dimensional Sequences: Application to Polyphonic Music Generation and
  Transcription", ICML 2012 (the RNN-RBM paper). It introduced the four benchmark
  piano-roll pickles (JSB Chorales, Nottingham, MuseData, Piano-midi.de) that
  :func:`load_piano_rolls` reads.
* M. Bay, A. F. Ehmann, J. S. Downie, "Evaluation of Multiple-F0 Estimation and
  Tracking Systems", ISMIR 2009: the frame-level accuracy of :func:`frame_accuracy`,
  which the RNN-RBM paper reports for its sequence-prediction experiments.
* M. S. Cuthbert, C. Ariza, "music21: A Toolkit for Computer-Aided Musicology and
  Symbolic Music Data", ISMIR 2010. Its corpus ships the Bach chorales used by
  :func:`bach_chorales` so no download is needed.

Pickle format (:func:`load_piano_rolls`)
----------------------------------------
A pickle of a ``dict`` with (at least) the keys ``'train'``, ``'valid'`` and ``'test'``.
Each value is a list of sequences; a sequence is a list of frames (time steps); a frame
is a list/tuple (possibly empty, meaning silence) of MIDI note numbers in 21..108, the
88 keys of a piano from A0 to C8. Unit ``i`` of the 88-dimensional binary vector is
MIDI note ``21 + i``. Pickles are code: only load files from a trusted source.

Array conventions
-----------------
Every sequence returned here is a ``float32`` array of shape ``[T, 88]`` with entries
in {0, 1}; ``T`` differs between sequences. The models take fixed-shape batches, so
:func:`random_windows` cuts equal-length training windows ``[B, W, 88]`` and
:func:`pad_batch` zero-pads whole sequences to ``[B, T_max, 88]`` with a ``[B, T_max]``
mask for evaluation.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rtrbm_jax import files
from rtrbm_jax.progress import Progress

#: Number of piano keys / visible units.
NUM_KEYS = 88
#: MIDI number of the lowest piano key (A0); unit ``i`` is MIDI note ``LOWEST_NOTE + i``.
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


# --------------------------------------------------------------------------------------
# Loading the RNN-RBM paper's pickles
# --------------------------------------------------------------------------------------


def _as_midi_note(value: Any, where: str) -> int:
    """Returns ``value`` as an int MIDI note in 21..108 or raises a ValueError naming ``where``."""
    # The published pickles were written by Python 2; depending on the file, notes are
    # ints, numpy integers or integral floats. Accept all of those, reject anything else.
    try:
        note = int(value)
        integral = note == value
    except (TypeError, ValueError):
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


def frames_to_piano_roll(frames: Sequence[Sequence[int]], where: str = "sequence") -> np.ndarray:
    """Converts a list of frames of MIDI note numbers into a binary piano roll.

    Args:
      frames: length-``T`` list; frame ``t`` is an iterable of MIDI notes in 21..108
        sounding at time step ``t`` (empty means silence, duplicates are harmless).
      where: text naming the sequence, used in error messages.

    Returns:
      ``float32`` array ``[T, 88]``; entry ``[t, n - 21]`` is 1 iff note ``n`` is in
      frame ``t``.

    Raises:
      ValueError: if ``frames`` is empty or a note is not an integer in 21..108.
    """
    if len(frames) == 0:
        raise ValueError(f"{where}: sequence is empty (0 frames); every sequence needs >= 1 frame")
    roll = np.zeros((len(frames), NUM_KEYS), dtype=np.float32)
    for t, frame in enumerate(frames):
        for value in frame:
            roll[t, _as_midi_note(value, f"{where}, frame {t}") - LOWEST_NOTE] = 1.0
    return roll


def load_piano_rolls(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """Loads one of the RNN-RBM paper's piano-roll pickles (format in the module docstring).

    Args:
      path: the ``.pickle`` file, e.g. ``JSB Chorales.pickle``.

    Returns:
      ``{'train': [...], 'valid': [...], 'test': [...]}``; each list holds one
      ``float32`` array ``[T_i, 88]`` per sequence, in file order. Extra keys are ignored.

    Raises:
      ValueError: the file is missing, is not a dict with the three split keys, a split
        is not a list, a sequence is empty, or a note is outside 21..108 (the message
        names the split, the sequence index and the note).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} does not exist or is not a file; "
                         "expected a piano-roll .pickle (e.g. 'JSB Chorales.pickle')")
    try:
        with open(path, "rb") as f:
            # latin1 lets Python 3 read Python 2 pickles (the published files are such).
            data = pickle.load(f, encoding="latin1")
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as error:
        # What unpickling an empty, truncated or foreign file raises.
        raise ValueError(f"path={str(path)!r} is not a readable pickle "
                         f"({type(error).__name__}: {error}); expected a piano-roll "
                         ".pickle (e.g. 'JSB Chorales.pickle')") from None
    if not isinstance(data, Mapping) or not all(k in data for k in SPLITS):
        found = sorted(map(repr, data.keys())) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"path={str(path)!r} holds {found}; expected a dict with keys "
                         f"{list(SPLITS)} each mapping to a list of sequences")
    rolls: dict[str, list[np.ndarray]] = {}
    for split in SPLITS:
        sequences = data[split]
        if not isinstance(sequences, (list, tuple)):
            raise ValueError(f"path={str(path)!r}: split {split!r} is a {type(sequences).__name__}; "
                             "expected a list of sequences (lists of frames)")
        rolls[split] = [frames_to_piano_roll(seq, where=f"split {split!r}, sequence {i}")
                        for i, seq in enumerate(sequences)]
    return rolls


# --------------------------------------------------------------------------------------
# Bach chorales from the music21 corpus
# --------------------------------------------------------------------------------------


def _import_music21():
    # music21 is an optional dependency (large, only needed to build the chorale data
    # once): import it lazily so the rest of the package works without it.
    try:
        import music21  # noqa: PLC0415
    except ImportError as e:
        raise ImportError("bach_chorales / piano_roll_from_score need the optional dependency "
                          "music21; install it with `pip install music21`") from e
    return music21


def piano_roll_from_score(score: Any, step: float = 1.0) -> np.ndarray:
    """Samples a music21 stream into a binary piano roll on a regular grid.

    Rule: frame ``k`` covers ``[k*step, (k+1)*step)`` quarter notes from the start of
    the stream and contains exactly the pitches **sounding at its start** ``k*step``,
    i.e. notes with ``offset <= k*step < offset + duration`` (all parts together; a
    note held or tied across several steps is on in each of them). Notes that start
    and end strictly inside a step (passing eighths, ornaments, grace notes) do not
    appear. Sampling (rather than "any overlap with the step") keeps at most one note
    per voice per frame, matching quarter-note-quantised JSB chorales, and makes a
    repeated note and a held note look the same, as in any binary piano roll.
    ``T = ceil(end / step)`` where ``end`` is the latest note end, so trailing rests
    are dropped; repeats are not expanded; chord symbols (harmony annotations) are ignored.

    Args:
      score: a ``music21.stream.Stream`` (usually a ``Score`` with several parts).
      step: grid spacing in quarter notes (1.0 = quarter note, 0.5 = eighth note).

    Returns:
      ``float32`` array ``[T, 88]``; entry ``[k, midi - 21]`` is 1 iff that pitch is
      sounding at time ``k*step``.

    Raises:
      ValueError: ``step`` is not positive, the stream has no pitched notes, or a pitch
        is outside MIDI 21..108.
    """
    music21 = _import_music21()
    if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
        raise ValueError(f"step={step!r} is invalid; expected a positive number of quarter notes "
                         "(1.0 = quarter note)")
    # Exact rational arithmetic: music21 offsets can be Fractions (triplets), and float
    # rounding at a grid point would flip whether a note counts as sounding there.
    q = Fraction(step)
    events = []  # (first step, end step exclusive, midi numbers)
    end = Fraction(0)
    for el in score.flatten().getElementsByClass(("Note", "Chord")):
        if isinstance(el, music21.harmony.Harmony):
            continue  # chord symbols are annotations, not sounding notes
        start = Fraction(el.offset)
        stop = start + Fraction(el.duration.quarterLength)
        if stop <= start:
            continue  # grace notes have zero duration
        end = max(end, stop)
        # Steps k with start <= k*q < stop.
        k0, k1 = math.ceil(start / q), math.ceil(stop / q)
        if k1 > k0:
            events.append((k0, k1, [p.midi for p in el.pitches]))
    if end == 0:
        raise ValueError(f"score={score!r} contains no pitched notes of positive duration; "
                         "expected a stream with Note/Chord objects")
    roll = np.zeros((math.ceil(end / q), NUM_KEYS), dtype=np.float32)
    for k0, k1, midis in events:
        for m in midis:
            if not LOWEST_NOTE <= m <= HIGHEST_NOTE:
                raise ValueError(f"score={score!r}: pitch with MIDI number {m} at step {k0} is "
                                 f"outside the piano range; expected {LOWEST_NOTE}..{HIGHEST_NOTE}")
            roll[k0:k1, m - LOWEST_NOTE] = 1.0
    return roll


def bach_chorale_paths() -> list[tuple[str, Path]]:
    """Lists the Riemenschneider 371 chorales in the music21 corpus, one file each.

    The chorale list is ``music21.corpus.chorales.Iterator`` (Riemenschneider numbering,
    1..371). Several numbers share a file (Riemenschneider repeats some harmonisations),
    so the list is de-duplicated by file. Names are resolved to files by exact stem
    (preferring ``.mxl``, then ``.xml``, then ``.krn``, since MusicXML carries part
    names); a name with no exact match (music21 10 lists ``bach/bwv18.5-l`` whose file
    is ``bwv18.5-lz``) falls back to music21's own ``corpus.getWork`` match if unique.

    Returns:
      ``(name, path)`` pairs sorted by name, where name is e.g. ``'bach/bwv269.mxl'``.
    """
    music21 = _import_music21()
    corpus = music21.corpus
    by_stem: dict[str, list[Path]] = {}
    for p in corpus.getComposer("bach"):
        by_stem.setdefault(Path(p).stem, []).append(Path(p))
    preference = {".mxl": 0, ".xml": 1, ".musicxml": 1, ".krn": 2}
    resolved: dict[str, Path] = {}
    for work in corpus.chorales.Iterator(returnType="filename"):
        stem = work.split("/")[-1]
        candidates = [p for p in by_stem.get(stem, []) if p.suffix in preference]
        if candidates:
            path = min(candidates, key=lambda p: preference[p.suffix])
        else:
            found = corpus.getWork(work)
            if isinstance(found, list):
                if len(found) != 1:
                    raise RuntimeError(f"music21 corpus work {work!r} matches {found}; expected one file")
                found = found[0]
            path = Path(found)
        resolved[f"bach/{path.name}"] = path
    return sorted(resolved.items())


def split_by_hash(names: Sequence[str], seed: int = BACH_SPLIT_SEED,
                  fractions: tuple[float, float] = BACH_SPLIT_FRACTIONS) -> dict[str, list[str]]:
    """Deterministic train/valid/test split of a list of item names.

    The names are ordered by ``sha256(f"{seed}:{name}")`` (a fixed pseudo-random
    permutation that, unlike ``numpy.random``, can never change between library
    versions, and which keeps each name's position independent of which other names
    exist); the first ``round(f_train * n)`` go to train, the next
    ``round(f_valid * n)`` to valid, the rest to test. Each split is returned sorted.

    Args:
      names: distinct item names.
      seed: salt of the hash.
      fractions: ``(f_train, f_valid)``; the test fraction is the remainder.

    Returns:
      ``{'train': [...], 'valid': [...], 'test': [...]}`` of names.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"names has {len(names) - len(set(names))} duplicates; expected distinct names")
    f_train, f_valid = fractions
    if not (0 <= f_train and 0 <= f_valid and f_train + f_valid <= 1):
        raise ValueError(f"fractions={fractions!r} is invalid; expected (f_train, f_valid) >= 0 "
                         "with f_train + f_valid <= 1")
    order = sorted(names, key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())
    n_train = round(f_train * len(order))
    n_valid = round(f_valid * len(order))
    return {"train": sorted(order[:n_train]),
            "valid": sorted(order[n_train:n_train + n_valid]),
            "test": sorted(order[n_train + n_valid:])}


_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


def _vocal_parts(score: Any) -> list:
    """The choir's parts of a chorale score: those whose name starts with a voice name.

    About 20 of the corpus files are cantata movements that also notate trumpets,
    horns, timpani, strings or continuo (``bwv41.6``, ``bwv248.42-4``, ...). Those
    instruments double the voices or add descants and would put up to 8 notes in a
    frame, so only the parts named Soprano/Alto/Tenor/Bass (``'Soprano 1'`` and
    ``'Soprano Oboe 1 Violin1'`` count, ``'Continuo'`` does not) are kept, which gives
    4 voices everywhere except ``bwv27.6`` (5: two sopranos). A score with fewer than 4
    such names (e.g. unnamed parts) is used whole.
    """
    parts = list(score.parts)
    vocal = [p for p in parts
             if (p.partName or "").strip().lower().split(" ")[0] in _VOICE_NAMES]
    return vocal if len(vocal) >= 4 else parts


def _transposition_key(roll: np.ndarray) -> tuple:
    """Key that is equal for two rolls iff one is the other shifted along the keyboard."""
    used = np.flatnonzero(roll.any(axis=0))
    lo = used[0] if used.size else 0
    shifted = np.zeros(roll.shape, dtype=bool)  # fixed width, so shifts compare equal
    shifted[:, :NUM_KEYS - lo] = roll[:, lo:]
    return roll.shape, np.packbits(shifted).tobytes()


def _build_bach_chorales(step: float) -> tuple[list[str], list[np.ndarray]]:
    """Parses every chorale (the slow part, ~40 ms each); returns names and ``[T, 88]`` rolls.

    Per chorale: the vocal parts (:func:`_vocal_parts`) are each converted with
    :func:`piano_roll_from_score` and OR-ed together, then leading all-silent frames
    (a written rest before the first note) are dropped. Chorales whose roll equals an
    earlier one (in name order) up to transposition are dropped so that no piece is in
    two splits: music21 10.5 has two (``bwv62.6`` = ``bwv274``; ``bwv18.5-w`` =
    ``bwv18.5-lz`` a tone lower).
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
        score = music21.converter.parse(path, forceSource=True)
        part_rolls = [piano_roll_from_score(p, step=step) for p in _vocal_parts(score)]
        roll = np.zeros((max(len(r) for r in part_rolls), NUM_KEYS), dtype=np.float32)
        for r in part_rolls:
            roll[:len(r)] = np.maximum(roll[:len(r)], r)
        roll = roll[np.flatnonzero(roll.any(axis=1))[0]:]
        key = _transposition_key(roll)
        if key in seen:
            continue
        seen.add(key)
        names.append(name)
        rolls.append(roll)
    return names, rolls


def default_cache_dir() -> Path:
    """``$RTRBM_JAX_CACHE`` if set, else ``~/.cache/rtrbm_jax``."""
    env = os.environ.get("RTRBM_JAX_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "rtrbm_jax"


def _save_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    # A crash or a concurrent reader never sees a half-written cache.
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_write(path, "wb") as f:  # a file object: numpy adds no ".npz"
        np.savez_compressed(f, **arrays)


def bach_chorales(cache_dir: str | os.PathLike | None = None, step: float = 1.0
                  ) -> dict[str, list[np.ndarray]]:
    """Bach's chorales from the music21 corpus as 88-key piano rolls, with a fixed split.

    Data: the Riemenschneider 371 chorales as listed by music21, one per file (350
    files; :func:`bach_chorale_paths`), choir parts only, leading rests trimmed, and
    duplicates up to transposition removed (:func:`_build_bach_chorales`): 348
    chorales with music21 10.5. Each is converted with :func:`piano_roll_from_score`
    (the pitches sounding at the start of each ``step``; quarter notes by default, as
    in JSB Chorales), in its written key (not transposed). Rests written inside a
    chorale (e.g. between phrases) stay as silent frames. Split: 60/20/20 by
    :func:`split_by_hash` (seed ``BACH_SPLIT_SEED``) of the names; with music21 10.5
    that is 209/70/69 chorales and 11533/3908/3550 frames at ``step=1``. Each split
    lists its chorales in name order.

    The first call parses the scores (needs ``pip install music21``; ~15 s on one
    CPU core) and caches the result as ``bach_chorales_v{version}_step{step}.npz`` in
    ``cache_dir``; later calls only read that file (milliseconds, music21 not needed).
    Delete the file to rebuild, e.g. after upgrading music21 (whose corpus may change).

    Args:
      cache_dir: where the .npz lives; default :func:`default_cache_dir`
        (``$RTRBM_JAX_CACHE`` or ``~/.cache/rtrbm_jax``).
      step: grid spacing in quarter notes.

    Returns:
      ``{'train': [...], 'valid': [...], 'test': [...]}``, lists of ``float32`` arrays
      ``[T_i, 88]``. The cache file also stores the names as ``{split}_names``.
    """
    if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
        raise ValueError(f"step={step!r} is invalid; expected a positive number of quarter notes "
                         "(1.0 = quarter note)")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"bach_chorales_v{_CACHE_FORMAT_VERSION}_step{float(step):g}.npz"
    if not path.is_file():
        names, rolls = _build_bach_chorales(step)
        by_name = dict(zip(names, rolls))
        arrays: dict[str, np.ndarray] = {"step": np.float64(step)}
        for split, split_names in split_by_hash(names).items():
            split_rolls = [by_name[n] for n in split_names]
            # uint8 + lengths keeps the file small; sequences are ragged so store them
            # concatenated along time.
            arrays[f"{split}_frames"] = (np.concatenate(split_rolls).astype(np.uint8) if split_rolls
                                         else np.zeros((0, NUM_KEYS), np.uint8))
            arrays[f"{split}_lengths"] = np.array([len(r) for r in split_rolls], dtype=np.int64)
            arrays[f"{split}_names"] = np.array(split_names, dtype=np.str_)
        _save_npz_atomic(path, arrays)
    with np.load(path) as z:
        out = {}
        for split in SPLITS:
            frames = z[f"{split}_frames"].astype(np.float32)
            bounds = np.cumsum(z[f"{split}_lengths"])[:-1]
            out[split] = list(np.split(frames, bounds)) if len(z[f"{split}_lengths"]) else []
    return out


# --------------------------------------------------------------------------------------
# Batching helpers
# --------------------------------------------------------------------------------------


def _check_sequences(sequences: Sequence[np.ndarray], name: str = "sequences") -> list[np.ndarray]:
    if len(sequences) == 0:
        raise ValueError(f"{name} is empty; expected a non-empty list of [T_i, {NUM_KEYS}] arrays")
    out = []
    for i, s in enumerate(sequences):
        a = np.asarray(s)
        if a.ndim != 2 or a.shape[1] != NUM_KEYS or a.shape[0] == 0:
            raise ValueError(f"{name}[{i}] has shape {a.shape}; expected [T, {NUM_KEYS}] with T >= 1")
        out.append(a)
    return out


def random_windows(sequences: Sequence[np.ndarray], rng: np.random.Generator | int,
                   batch_size: int, window_length: int) -> np.ndarray:
    """Draws a batch of equal-length training windows from variable-length sequences.

    Each window is drawn independently and uniformly from all
    ``(sequence, start)`` pairs with ``start + window_length <= T_i`` (so a sequence
    contributes in proportion to its number of windows, i.e. roughly its length, and
    every frame of a long sequence is used about equally). Sequences shorter than
    ``window_length`` are skipped.

    Args:
      sequences: list of arrays ``[T_i, 88]``.
      rng: a ``numpy.random.Generator`` (advanced in place) or an int seed.
      batch_size: ``B``.
      window_length: ``W``.

    Returns:
      ``float32`` array ``[B, W, 88]``.

    Raises:
      ValueError: bad sizes, or no sequence has at least ``window_length`` frames.
    """
    sequences = _check_sequences(sequences)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is invalid; expected an int >= 1")
    if not isinstance(window_length, (int, np.integer)) or window_length < 1:
        raise ValueError(f"window_length={window_length!r} is invalid; expected an int >= 1")
    if not isinstance(rng, np.random.Generator):
        if isinstance(rng, (int, np.integer)):
            rng = np.random.default_rng(rng)
        else:
            raise TypeError(f"rng={rng!r} is a {type(rng).__name__}; expected a numpy.random.Generator "
                            "or an int seed")
    lengths = np.array([len(s) for s in sequences])
    n_windows = np.maximum(lengths - window_length + 1, 0)
    total = int(n_windows.sum())
    if total == 0:
        raise ValueError(f"window_length={window_length} exceeds every sequence (longest has "
                         f"{lengths.max()} frames); expected window_length <= {lengths.max()}")
    # Flat index over all valid (sequence, start) pairs -> uniform over windows.
    flat = rng.integers(0, total, size=batch_size)
    ends = np.cumsum(n_windows)
    seq_idx = np.searchsorted(ends, flat, side="right")
    starts = flat - (ends[seq_idx] - n_windows[seq_idx])
    return np.stack([sequences[i][s:s + window_length] for i, s in zip(seq_idx, starts)]
                    ).astype(np.float32)


def pad_batch(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pads whole sequences to a common length, for evaluation.

    Args:
      sequences: list of ``B`` arrays ``[T_i, 88]``.

    Returns:
      ``(frames, mask)``: ``frames`` ``float32 [B, T_max, 88]`` with
      ``frames[b, :T_b] = sequences[b]`` and zeros after; ``mask`` ``float32 [B, T_max]``,
      1 for real frames and 0 for padding.
    """
    sequences = _check_sequences(sequences)
    t_max = max(len(s) for s in sequences)
    frames = np.zeros((len(sequences), t_max, NUM_KEYS), dtype=np.float32)
    mask = np.zeros((len(sequences), t_max), dtype=np.float32)
    for b, s in enumerate(sequences):
        frames[b, :len(s)] = s
        mask[b, :len(s)] = 1.0
    return frames, mask


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------


def frame_accuracy(predicted: Any, target: Any, mask: Any = None) -> float:
    """Frame-level accuracy of Bay et al. (2009), as reported in the RNN-RBM paper.

    ``ACC = TP / (TP + FP + FN)`` where the counts are summed over **all** notes of all
    (unmasked) frames of the whole set passed in, not averaged per frame or per
    sequence; pass the whole test set (e.g. a padded batch with its mask) to get the
    paper's number. True negatives do not count, so silence predicted as silence
    neither helps nor hurts. If there are no positives at all (``TP + FP + FN == 0``,
    all-silent target predicted as silence) the accuracy is defined as 1.0.

    Args:
      predicted: binary ``{0, 1}`` array ``[..., 88]`` (threshold or sample
        probabilities first).
      target: binary array of the same shape.
      mask: optional array of shape ``predicted.shape[:-1]`` (e.g. ``[B, T]`` from
        :func:`pad_batch`); frames where it is 0 are ignored.

    Returns:
      The accuracy as a Python float in [0, 1].
    """
    p = np.asarray(predicted)
    y = np.asarray(target)
    if p.shape != y.shape:
        raise ValueError(f"predicted has shape {p.shape} but target has shape {y.shape}; "
                         "expected equal shapes [..., 88]")
    for name, a in (("predicted", p), ("target", y)):
        bad = (a != 0) & (a != 1)
        if bad.any():
            raise ValueError(f"{name} has non-binary value {float(a[bad].flat[0]):g}; expected only 0/1 "
                             "(threshold or sample probabilities first)")
    p = p.astype(bool)
    y = y.astype(bool)
    if mask is None:
        w = np.ones(p.shape[:-1], dtype=np.float64)
    else:
        w = np.asarray(mask, dtype=np.float64)
        if w.shape != p.shape[:-1]:
            raise ValueError(f"mask has shape {w.shape}; expected predicted.shape[:-1] = {p.shape[:-1]}")
        if not (w != 0).any():
            raise ValueError("mask is all zeros; expected at least one unmasked frame (mask 1 = real frame)")
    tp = float((w * (p & y).sum(-1)).sum())
    fp = float((w * (p & ~y).sum(-1)).sum())
    fn = float((w * (~p & y).sum(-1)).sum())
    denom = tp + fp + fn
    return 1.0 if denom == 0 else tp / denom
