"""Tests for rtrbm_jax.data.music: piano-roll loading, Bach chorales, batching, accuracy."""

import os
import pickle
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rtrbm_jax.data import music


# --------------------------------------------------------------------------------------
# load_piano_rolls
# --------------------------------------------------------------------------------------


def _write_pickle(path, obj, protocol=2):
    # Protocol 2 is what the published (Python 2) RNN-RBM pickles use.
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


@pytest.fixture
def tiny_pickle(tmp_path):
    """A small data set in the RNN-RBM paper's format (dict of lists of lists of tuples)."""
    data = {
        "train": [
            [(21, 60), (), [108], (60, 64, 67)],  # lists and tuples, a silent frame
            [(48,)],
        ],
        "valid": [[(np.int64(55), 59.0)]],  # numpy ints / integral floats, as in some files
        "test": [[(), (72,)], [(36, 40)], [(21,)]],
    }
    return _write_pickle(tmp_path / "tiny.pickle", data)


def test_notes_map_to_units_21_to_108(tiny_pickle):
    rolls = music.load_piano_rolls(tiny_pickle)
    first = rolls["train"][0]
    assert first.shape == (4, 88)
    assert np.flatnonzero(first[0]).tolist() == [0, 39]  # A0 = 21 -> 0, C4 = 60 -> 39
    assert np.flatnonzero(first[2]).tolist() == [87]  # C8 = 108 -> 87
    assert np.flatnonzero(first[3]).tolist() == [39, 43, 46]
    assert np.flatnonzero(rolls["valid"][0][0]).tolist() == [34, 38]


def test_loaded_splits_keep_file_order_as_binary_float32(tiny_pickle):
    rolls = music.load_piano_rolls(tiny_pickle)
    assert set(rolls) == {"train", "valid", "test"}
    assert [len(rolls[s]) for s in music.SPLITS] == [2, 1, 3]
    assert [len(x) for x in rolls["test"]] == [2, 1, 1]
    for seqs in rolls.values():
        for x in seqs:
            assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 88
            assert set(np.unique(x)) <= {0.0, 1.0}


def test_empty_frame_is_silence(tiny_pickle):
    rolls = music.load_piano_rolls(tiny_pickle)
    assert rolls["train"][0][1].sum() == 0
    assert rolls["test"][0][0].sum() == 0


def test_missing_file_raises_value_error_naming_path(tmp_path):
    with pytest.raises(ValueError, match="path=.*nope.pickle.*does not exist"):
        music.load_piano_rolls(tmp_path / "nope.pickle")


@pytest.mark.parametrize("obj", [[1, 2, 3], {"train": [], "valid": []}])
def test_non_dict_or_missing_split_raises_value_error(tmp_path, obj):
    path = _write_pickle(tmp_path / "bad.pickle", obj)
    with pytest.raises(ValueError, match="expected a dict with keys"):
        music.load_piano_rolls(path)


@pytest.mark.parametrize("note", [20, 109])
def test_note_outside_piano_error_names_split_sequence_and_note(tmp_path, note):
    data = {"train": [[(60,)]], "valid": [[(60,)], [(62,), (note, 64)]], "test": [[(60,)]]}
    path = _write_pickle(tmp_path / "bad.pickle", data)
    with pytest.raises(ValueError, match=rf"split 'valid', sequence 1, frame 1: note {note} .*21\.\.108"):
        music.load_piano_rolls(path)


def test_non_integer_note_raises_value_error(tmp_path):
    path = _write_pickle(tmp_path / "bad.pickle", {"train": [[(60.5,)]], "valid": [], "test": []})
    with pytest.raises(ValueError, match="split 'train', sequence 0, frame 0: note 60.5 is not an integer"):
        music.load_piano_rolls(path)


def test_empty_sequence_raises_value_error(tmp_path):
    path = _write_pickle(tmp_path / "bad.pickle", {"train": [], "valid": [], "test": [[(60,)], []]})
    with pytest.raises(ValueError, match="split 'test', sequence 1: sequence is empty"):
        music.load_piano_rolls(path)


# --------------------------------------------------------------------------------------
# piano_roll_from_score (music21)
# --------------------------------------------------------------------------------------


def _tiny_score():
    """Two parts, 4 quarter notes long (hand-computed rolls in the tests below).

    Upper part: C4 half [0, 2), E4 eighth [2, 2.5), F4 eighth [2.5, 3), G4 quarter [3, 4).
    Lower part: quarter rest [0, 1), chord C3+G3 dotted half [1, 4).
    """
    m21 = pytest.importorskip("music21")
    upper = m21.stream.Part()
    for name, ql in [("C4", 2.0), ("E4", 0.5), ("F4", 0.5), ("G4", 1.0)]:
        upper.append(m21.note.Note(name, quarterLength=ql))
    lower = m21.stream.Part()
    lower.append(m21.note.Rest(quarterLength=1.0))
    lower.append(m21.chord.Chord(["C3", "G3"], quarterLength=3.0))
    score = m21.stream.Score()
    score.insert(0, upper)
    score.insert(0, lower)
    return score


def _roll(frames):
    roll = np.zeros((len(frames), 88), np.float32)
    for t, notes in enumerate(frames):
        for n in notes:
            roll[t, n - 21] = 1
    return roll


def test_quarter_grid_keeps_pitches_sounding_at_each_step_start():
    # t=0: C4; t=1: C4 held + chord; t=2: E4 + chord; t=3: G4 + chord. F4 starts at 2.5,
    # between grid points, so it is not sampled.
    expected = _roll([[60], [60, 48, 55], [64, 48, 55], [67, 48, 55]])
    np.testing.assert_array_equal(music.piano_roll_from_score(_tiny_score(), step=1.0), expected)


def test_eighth_grid_also_samples_offbeat_notes():
    expected = _roll([[60], [60], [60, 48, 55], [60, 48, 55],
                      [64, 48, 55], [65, 48, 55], [67, 48, 55], [67, 48, 55]])
    roll = music.piano_roll_from_score(_tiny_score(), step=0.5)
    assert roll.dtype == np.float32
    np.testing.assert_array_equal(roll, expected)


def test_triplet_offsets_are_sampled_exactly():
    m21 = pytest.importorskip("music21")
    part = m21.stream.Part()
    for name in ["C4", "D4", "E4"]:  # quarter-note triplet: 2/3 each, ends exactly at 2
        part.append(m21.note.Note(name, quarterLength=Fraction(2, 3)))
    part.append(m21.note.Note("F4", quarterLength=1.0))
    # Grid points 0, 1, 2: C4 [0, 2/3), D4 [2/3, 4/3) sounds at 1, F4 starts at exactly 2.
    np.testing.assert_array_equal(music.piano_roll_from_score(part, step=1.0),
                                  _roll([[60], [62], [65]]))


@pytest.mark.parametrize("step", [0, -1.0, float("nan")])
def test_nonpositive_step_raises_value_error(step):
    pytest.importorskip("music21")
    with pytest.raises(ValueError, match="step=.* positive number of quarter notes"):
        music.piano_roll_from_score(_tiny_score(), step=step)


def test_real_chorales_give_four_voice_quarter_note_rolls():
    m21 = pytest.importorskip("music21")
    paths = dict(music.bach_chorale_paths())
    for name in ["bach/bwv269.mxl", "bach/bwv347.mxl", "bach/bwv153.1.mxl"]:
        score = m21.converter.parse(paths[name], forceSource=True)
        roll = music.piano_roll_from_score(score, step=1.0)
        assert roll.shape[1] == 88 and 16 <= roll.shape[0] <= np.ceil(score.highestTime)
        counts = roll.sum(axis=1)
        assert counts.max() == 4  # SATB
        assert (counts > 0).mean() > 0.9


def test_vocal_parts_drop_cantata_instruments():
    m21 = pytest.importorskip("music21")
    paths = dict(music.bach_chorale_paths())
    score = m21.converter.parse(paths["bach/bwv41.6.mxl"], forceSource=True)
    assert len(score.parts) == 9  # trumpets, timpani, oboe + 4 doubled voices
    kept = [p.partName.split()[0] for p in music._vocal_parts(score)]
    assert kept == ["Soprano", "Alto", "Tenor", "Bass"]


def test_chorale_list_is_riemenschneider_deduplicated_by_file():
    pytest.importorskip("music21")
    pairs = music.bach_chorale_paths()
    names = [n for n, _ in pairs]
    assert names == sorted(set(names))
    assert 300 <= len(names) <= 371
    assert all(p.is_file() for _, p in pairs)


# --------------------------------------------------------------------------------------
# bach_chorales: split, cache, full build
# --------------------------------------------------------------------------------------


def test_split_by_hash_is_deterministic_disjoint_and_60_20_20():
    names = [f"piece{i:03d}" for i in range(100)]
    split = music.split_by_hash(names)
    assert split == music.split_by_hash(list(reversed(names)))  # input order is irrelevant
    assert [len(split[s]) for s in music.SPLITS] == [60, 20, 20]
    assert sorted(sum(split.values(), [])) == names
    assert split != music.split_by_hash(names, seed=music.BACH_SPLIT_SEED + 1)


def test_missing_music21_error_says_pip_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)  # makes `import music21` fail
    with pytest.raises(ImportError, match="pip install music21"):
        music.bach_chorales(cache_dir=tmp_path)


def test_default_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RTRBM_JAX_CACHE", str(tmp_path / "c"))
    assert music.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RTRBM_JAX_CACHE")
    assert music.default_cache_dir() == Path.home() / ".cache" / "rtrbm_jax"


def test_cache_is_built_once_then_reused(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    names = [f"bach/fake{i}.mxl" for i in range(10)]
    rolls = [(rng.random((5 + i, 88)) < 0.05).astype(np.float32) for i in range(10)]
    calls = []

    def fake_build(step):
        calls.append(step)
        return names, rolls

    monkeypatch.setattr(music, "_build_bach_chorales", fake_build)
    first = music.bach_chorales(cache_dir=tmp_path / "cache")
    second = music.bach_chorales(cache_dir=tmp_path / "cache")
    assert calls == [1.0]
    assert os.listdir(tmp_path / "cache") == ["bach_chorales_v1_step1.npz"]  # no temp file left
    assert [len(first[s]) for s in music.SPLITS] == [6, 2, 2]
    expected = music.split_by_hash(names)
    by_name = dict(zip(names, rolls))
    for s in music.SPLITS:
        assert len(second[s]) == len(first[s])
        for got, again, name in zip(first[s], second[s], expected[s]):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, by_name[name])
            np.testing.assert_array_equal(again, got)


def test_bach_chorales_build_gives_348_chorales_split_209_70_69(tmp_path):
    """The real uncached build (~15 s): checks counts and invariants of the data set."""
    pytest.importorskip("music21")
    data = music.bach_chorales(cache_dir=tmp_path)
    sizes = [len(data[s]) for s in music.SPLITS]
    # Pinned for music21 10.5's corpus; a different corpus version may shift these.
    assert sizes == [209, 70, 69]
    for seqs in data.values():
        for x in seqs:
            assert x.dtype == np.float32 and x.shape[1] == 88 and x.shape[0] >= 16
            assert set(np.unique(x)) <= {0.0, 1.0}
            assert x[0].sum() > 0  # leading rests trimmed
            assert x.sum(axis=1).max() <= 5  # 4 voices (5 in bwv27.6), no instruments
    with np.load(tmp_path / "bach_chorales_v1_step1.npz") as z:
        split_names = [set(z[f"{s}_names"].tolist()) for s in music.SPLITS]
    assert not (split_names[0] & split_names[1] or split_names[0] & split_names[2]
                or split_names[1] & split_names[2])


# --------------------------------------------------------------------------------------
# random_windows / pad_batch
# --------------------------------------------------------------------------------------


def _numbered_sequence(seq_id, length):
    """[length, 88] roll whose frame t has unit seq_id on and unit 40 + t on (identifiable)."""
    x = np.zeros((length, 88), np.float32)
    x[:, seq_id] = 1
    x[np.arange(length), 40 + np.arange(length)] = 1
    return x


def test_random_windows_are_contiguous_slices_of_long_enough_sequences():
    seqs = [_numbered_sequence(0, 2), _numbered_sequence(1, 6), _numbered_sequence(2, 4)]
    batch = music.random_windows(seqs, np.random.default_rng(0), batch_size=64, window_length=3)
    assert batch.shape == (64, 3, 88) and batch.dtype == np.float32
    for w in batch:
        seq_id = int(np.flatnonzero(w[0, :3])[0])
        assert seq_id in (1, 2)  # sequence 0 is shorter than the window
        start = int(np.flatnonzero(w[0, 40:])[0])
        np.testing.assert_array_equal(w, seqs[seq_id][start:start + 3])


def test_random_windows_are_uniform_over_all_window_positions():
    # Lengths 3 and 5 with W=3: 1 + 3 = 4 possible windows, each should get ~1/4.
    seqs = [_numbered_sequence(0, 3), _numbered_sequence(1, 5)]
    batch = music.random_windows(seqs, np.random.default_rng(1), batch_size=8000, window_length=3)
    keys = [(int(np.flatnonzero(w[0, :2])[0]), int(np.flatnonzero(w[0, 40:])[0])) for w in batch]
    counts = {k: keys.count(k) for k in set(keys)}
    assert set(counts) == {(0, 0), (1, 0), (1, 1), (1, 2)}
    for c in counts.values():
        assert abs(c / 8000 - 0.25) < 0.03


def test_random_windows_same_seed_same_batch():
    seqs = [_numbered_sequence(i, 10 + i) for i in range(5)]
    a = music.random_windows(seqs, np.random.default_rng(7), 8, 4)
    b = music.random_windows(seqs, 7, 8, 4)  # int seed == default_rng(seed)
    np.testing.assert_array_equal(a, b)


def test_random_windows_without_long_enough_sequence_raises():
    seqs = [_numbered_sequence(0, 3), _numbered_sequence(1, 5)]
    with pytest.raises(ValueError, match=r"window_length=6 exceeds every sequence .*window_length <= 5"):
        music.random_windows(seqs, np.random.default_rng(0), 4, 6)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"batch_size": 0, "window_length": 2}, "batch_size=0"),
    ({"batch_size": 2, "window_length": 0}, "window_length=0"),
])
def test_random_windows_rejects_bad_sizes(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        music.random_windows([_numbered_sequence(0, 5)], np.random.default_rng(0), **kwargs)


def test_pad_batch_zero_pads_and_masks():
    seqs = [_numbered_sequence(0, 2), _numbered_sequence(1, 4), _numbered_sequence(2, 1)]
    frames, mask = music.pad_batch(seqs)
    assert frames.shape == (3, 4, 88) and frames.dtype == np.float32
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    for b, s in enumerate(seqs):
        np.testing.assert_array_equal(frames[b, :len(s)], s)
        assert frames[b, len(s):].sum() == 0


@pytest.mark.parametrize("seqs, pattern", [
    ([], "sequences is empty"),
    ([np.zeros((3, 88)), np.zeros((3, 87))], r"sequences\[1\] has shape \(3, 87\)"),
    ([np.zeros((0, 88))], r"sequences\[0\] has shape \(0, 88\)"),
])
def test_pad_batch_rejects_bad_sequences(seqs, pattern):
    with pytest.raises(ValueError, match=pattern):
        music.pad_batch(seqs)


# --------------------------------------------------------------------------------------
# frame_accuracy
# --------------------------------------------------------------------------------------


def _acc_case():
    target = _roll([[60, 64, 67], [50], [70]])
    predicted = _roll([[60, 64, 65], [], [70, 72, 74, 76]])
    return predicted, target


def test_frame_accuracy_sums_counts_over_the_whole_set():
    # Frame 0: TP 2 (60, 64), FP 1 (65), FN 1 (67). Frame 1: FN 1 (50).
    # Frame 2: TP 1 (70), FP 3. Total TP 3, FP 4, FN 2 -> 3 / 9.
    # (Averaging per frame would give (2/4 + 0 + 1/4) / 3 = 0.25 instead.)
    predicted, target = _acc_case()
    assert music.frame_accuracy(predicted, target) == pytest.approx(3 / 9)


def test_frame_accuracy_ignores_masked_frames():
    predicted, target = _acc_case()
    frames_p, frames_t = predicted[None], target[None]  # [B=1, T=3, 88]
    # Masking frame 2 leaves TP 2, FP 1, FN 2 -> 2 / 5.
    assert music.frame_accuracy(frames_p, frames_t, mask=np.array([[1, 1, 0]])) == pytest.approx(0.4)


def test_frame_accuracy_perfect_and_silent_cases():
    _, target = _acc_case()
    assert music.frame_accuracy(target, target) == 1.0
    silent = np.zeros((4, 88))
    assert music.frame_accuracy(silent, silent) == 1.0  # TP + FP + FN = 0 is defined as 1
    assert music.frame_accuracy(silent, target[:1].repeat(4, 0)) == 0.0


def test_frame_accuracy_rejects_non_binary_and_mismatched_inputs():
    predicted, target = _acc_case()
    with pytest.raises(ValueError, match="predicted has non-binary value 0.7"):
        music.frame_accuracy(predicted * 0.7, target)
    with pytest.raises(ValueError, match=r"target has shape \(2, 88\)"):
        music.frame_accuracy(predicted, target[:2])
    with pytest.raises(ValueError, match=r"mask has shape \(2,\); expected"):
        music.frame_accuracy(predicted, target, mask=np.ones(2))
    with pytest.raises(ValueError, match="mask is all zeros"):
        music.frame_accuracy(predicted, target, mask=np.zeros(3))
