"""Tests of the bouncing-balls generator: physics, rendering, seeding, caching."""

import itertools
import re

import numpy as np
import pytest

from rtrbm_jax.data import bouncing_balls as bb

RADIUS = bb.DEFAULT_RADIUS
BOX = bb.DEFAULT_BOX_SIZE
# The velocity matrix has Frobenius norm 0.5 and collisions and bounces keep
# it, so no ball ever moves faster than this.
MAX_SPEED = 0.5


@pytest.fixture(scope="module")
def three_ball_trajectories():
    return bb.simulate(0, num_sequences=200, num_frames=100, num_balls=3)


@pytest.fixture(scope="module")
def one_ball_trajectories():
    return bb.simulate(1, num_sequences=50, num_frames=100, num_balls=1)


def wall_overshoot(positions):
    """How far each ball reaches beyond the nearer wall, per coordinate (<= 0 inside)."""
    return np.maximum(RADIUS - positions, positions + RADIUS - BOX)


def test_simulate_returns_positions_and_velocities_of_every_frame(three_ball_trajectories):
    assert three_ball_trajectories.positions.shape == (200, 100, 3, 2)
    assert three_ball_trajectories.velocities.shape == (200, 100, 3, 2)


def test_initial_velocity_matrix_has_frobenius_norm_one_half(three_ball_trajectories):
    norms = np.linalg.norm(three_ball_trajectories.velocities[:, 0], axis=(1, 2))
    np.testing.assert_allclose(norms, 0.5, rtol=1e-12)


def test_initial_balls_are_inside_walls_and_do_not_overlap():
    start = bb.simulate(2, num_sequences=500, num_frames=1, num_balls=4).positions[:, 0]
    assert np.all(start >= RADIUS) and np.all(start <= BOX - RADIUS)
    assert np.all(start >= 0.2 * BOX)
    for i, j in itertools.combinations(range(4), 2):
        assert np.all(np.linalg.norm(start[:, i] - start[:, j], axis=-1) >= 2 * RADIUS)


def test_single_ball_speed_is_preserved_by_wall_bounces(one_ball_trajectories):
    velocities = one_ball_trajectories.velocities
    bounced = np.any(np.sign(velocities[:, 1:]) != np.sign(velocities[:, :-1]), axis=(1, 2, 3))
    assert bounced.mean() > 0.9
    speeds = np.linalg.norm(velocities, axis=-1)
    np.testing.assert_allclose(speeds, 0.5, rtol=1e-12)


def test_single_ball_overshoots_a_wall_by_at_most_one_substep(one_ball_trajectories):
    # A lone ball beyond a wall has just bounced and heads back in with the
    # same speed component it went out with, during one sub-step of 0.5.
    positions, velocities = one_ball_trajectories
    assert wall_overshoot(positions).max() > 0
    assert np.all(wall_overshoot(positions) <= 0.5 * np.abs(velocities) + 1e-12)


def test_colliding_balls_overshoot_a_wall_by_at_most_one_frame_of_travel(three_ball_trajectories):
    # A collision right after a bounce can send a ball outwards for another
    # sub-step, so the lone-ball bound of one sub-step (0.25 at top speed) can
    # be exceeded (by ~1 ball-frame in a million, up to ~0.30 seen over 2M
    # ball-frames); a frame's travel at top speed (0.5) has never been.
    overshoot = wall_overshoot(three_ball_trajectories.positions)
    assert overshoot.max() > 0
    assert overshoot.max() <= 1.0 * MAX_SPEED


def test_kinetic_energy_is_preserved_at_every_frame(three_ball_trajectories):
    twice_energy = np.sum(three_ball_trajectories.velocities**2, axis=(2, 3))
    np.testing.assert_allclose(twice_energy, 0.25, rtol=1e-12)


def test_momentum_is_preserved_by_collisions_away_from_walls(three_ball_trajectories):
    positions, velocities = three_ball_trajectories
    # A frame moves a ball by at most MAX_SPEED, so balls this far from every
    # wall at a frame cannot touch one before the next frame.
    clear_of_walls = np.all(wall_overshoot(positions[:, :-1]) <= -MAX_SPEED, axis=(2, 3))
    changed = np.any(velocities[:, 1:] != velocities[:, :-1], axis=(2, 3))
    collisions = clear_of_walls & changed
    assert collisions.sum() >= 50
    momentum = velocities.sum(axis=2)
    np.testing.assert_allclose(
        momentum[:, 1:][collisions], momentum[:, :-1][collisions], rtol=0, atol=1e-12
    )


def test_frames_are_float32_in_unit_interval_with_requested_shape():
    frames = bb.generate(3, num_sequences=4, num_frames=6, resolution=12)
    assert frames.shape == (4, 6, 144)
    assert frames.dtype == np.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert frames.max() == 1.0


def test_same_seed_gives_identical_data():
    np.testing.assert_array_equal(bb.generate(4, 3, num_frames=5), bb.generate(4, 3, num_frames=5))


def test_different_seeds_give_different_data():
    assert not np.array_equal(bb.generate(4, 3, num_frames=5), bb.generate(5, 3, num_frames=5))


def test_render_puts_single_ball_maximum_at_expected_pixel():
    # Pixel centres lie at 0.5, 1.5, ..., 9.5: x = 2.5 is column 2 and
    # y = 7.5 is row 7, where the ball sits exactly on a pixel centre.
    frame = bb.render(np.array([[[[2.5, 7.5]]]]), resolution=10)
    assert frame.shape == (1, 1, 100)
    assert np.argmax(frame[0, 0]) == 7 * 10 + 2
    assert frame[0, 0, 7 * 10 + 2] == 1.0


def test_render_clips_overlapping_balls_at_one():
    frame = bb.render(np.array([[4.0, 4.0], [4.0, 4.0]]), resolution=10)
    assert frame.max() == 1.0


def test_standard_split_round_trips_through_cache_and_second_call_reads_it(tmp_path, monkeypatch):
    sizes = dict(num_train=3, num_test=2, num_frames=4, resolution=8)
    train, test = bb.standard_split(tmp_path, **sizes)
    assert train.shape == (3, 4, 64) and test.shape == (2, 4, 64)
    assert train.dtype == np.float32
    np.testing.assert_array_equal(train, bb.generate(bb.STANDARD_TRAIN_SEED, 3, 4, 8))
    np.testing.assert_array_equal(test, bb.generate(bb.STANDARD_TEST_SEED, 2, 4, 8))
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".npy", ".npy"]

    def fail(*args, **kwargs):
        raise AssertionError("the second call regenerated the split instead of reading the cache")

    monkeypatch.setattr(bb, "simulate", fail)
    cached_train, cached_test = bb.standard_split(tmp_path, **sizes)
    np.testing.assert_array_equal(cached_train, train)
    np.testing.assert_array_equal(cached_test, test)


def test_interrupted_cache_write_leaves_no_file_behind(tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(np.lib.format, "write_array", interrupt)
        with pytest.raises(KeyboardInterrupt):
            bb.standard_split(tmp_path, num_train=2, num_test=2, num_frames=3, resolution=6)
    assert list(tmp_path.iterdir()) == []
    train, _ = bb.standard_split(tmp_path, num_train=2, num_test=2, num_frames=3, resolution=6)
    assert train.shape == (2, 3, 36)


def test_cache_holds_trajectories_a_fraction_of_the_frames_size_and_says_where(
    tmp_path, caplog
):
    sizes = dict(num_train=20, num_test=2, num_frames=10, resolution=30)
    with caplog.at_level("INFO"):
        train, _ = bb.standard_split(tmp_path, **sizes)
    (train_file,) = tmp_path.glob("bouncing_balls_train_*.npy")
    # 3 balls x 2 float32 coordinates per frame instead of 900 float32 pixels.
    assert train_file.stat().st_size < train.nbytes / 100
    assert str(train_file) in caplog.text and "MB" in caplog.text
    # Rendering from the float32 trajectories loses nothing: the same frames.
    np.testing.assert_array_equal(train, bb.generate(bb.STANDARD_TRAIN_SEED, 20, 10, 30))


@pytest.mark.parametrize("size", [0, 100, 400])
def test_a_truncated_cache_is_generated_again(tmp_path, size, caplog):
    sizes = dict(num_train=3, num_test=2, num_frames=4, resolution=8)
    expected, _ = (np.array(split) for split in bb.standard_split(tmp_path, **sizes))
    cached = next(path for path in tmp_path.iterdir() if "_train_" in path.name)
    with open(cached, "r+b") as file:
        file.truncate(size)
    train, _ = bb.standard_split(tmp_path, **sizes)
    np.testing.assert_array_equal(train, expected)
    assert "are damaged; generating them again" in caplog.text


def test_standard_split_cache_dir_defaults_to_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(bb.CACHE_ENV_VAR, str(tmp_path))
    bb.standard_split(num_train=1, num_test=1, num_frames=2, resolution=4)
    assert len(list(tmp_path.glob("bouncing_balls_*.npy"))) == 2


def test_stream_yields_batch_at_consecutive_indices_from_start_index():
    sizes = dict(num_frames=3, resolution=6)
    batches = list(itertools.islice(bb.stream(7, 2, **sizes), 3))
    for index, batch in enumerate(batches):
        assert batch.shape == (2, 3, 36)
        np.testing.assert_array_equal(batch, bb.batch_at(7, index, 2, **sizes))
    assert not np.array_equal(batches[0], batches[1])
    resumed = next(bb.stream(7, 2, start_index=2, **sizes))
    np.testing.assert_array_equal(resumed, batches[2])


def test_stream_batches_differ_from_generate_with_the_same_seed():
    assert not np.array_equal(bb.batch_at(7, 0, 2, num_frames=3), bb.generate(7, 2, num_frames=3))


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: bb.simulate(0, 0, 5), "num_sequences=0"),
        (lambda: bb.simulate(0, 2, -1), "num_frames=-1"),
        (lambda: bb.simulate(0, 2, 5, num_balls=0), "num_balls=0"),
        (lambda: bb.simulate(0, 2, 5, num_balls=2.0), "num_balls=2.0"),
        (lambda: bb.simulate(0, 2, 5, radius=0.0), "radius=0.0"),
        (lambda: bb.simulate(0, 2, 5, radius=5.0), "radius=5.0"),
        (lambda: bb.simulate(0, 2, 5, box_size=-1.0), "box_size=-1.0"),
        (lambda: bb.simulate(0, 2, 5, num_balls=30), "num_balls=30"),
        (lambda: bb.render(np.zeros((2, 3)), resolution=0), "resolution=0"),
        (lambda: bb.render(np.zeros((2, 3))), "positions.shape=(2, 3)"),
        (lambda: bb.batch_at(-1, 0, 2), "seed=-1"),
        (lambda: bb.batch_at(0, -1, 2), "index=-1"),
        (lambda: bb.stream(0, 0), "batch_size=0"),
        (lambda: bb.stream(0, 2, start_index=-3), "start_index=-3"),
        (lambda: bb.standard_split(num_train=0), "num_train=0"),
    ],
)
def test_bad_arguments_raise_value_error_naming_argument_and_value(call, argument):
    with pytest.raises(ValueError, match="^" + re.escape(f"{argument} is not accepted")):
        call()


def test_crowded_box_raises_value_error_instead_of_sampling_forever(monkeypatch):
    monkeypatch.setattr(bb, "_MAX_PLACEMENT_ROUNDS", 3)
    with pytest.raises(ValueError, match="^num_balls=5 is not accepted: .*fewer or smaller balls"):
        bb.simulate(0, 50, 1, num_balls=5)
