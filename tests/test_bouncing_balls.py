"""Tests of the bouncing-balls generator: physics, rendering, seeding, caching.

The data code is NumPy, not JAX, so these tests have no jitted variants.
"""

import itertools
import os
from pathlib import Path
import re

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax.data import bouncing_balls as bb

RADIUS = bb.DEFAULT_RADIUS
BOX = bb.DEFAULT_BOX_SIZE
# The velocity matrix has Frobenius norm 0.5 and collisions and bounces keep
# it, so no ball ever moves faster than this.
MAX_SPEED = 0.5


def wall_overshoot(positions):
  """How far each ball reaches beyond the nearer wall, per coordinate (<= 0 inside)."""
  return np.maximum(RADIUS - positions, positions + RADIUS - BOX)


class PhysicsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.three_balls = bb.simulate(0, num_sequences=200, num_frames=100,
                                  num_balls=3)
    cls.one_ball = bb.simulate(1, num_sequences=50, num_frames=100, num_balls=1)

  def test_simulate_returns_positions_and_velocities_of_every_frame(self):
    self.assertEqual(self.three_balls.positions.shape, (200, 100, 3, 2))
    self.assertEqual(self.three_balls.velocities.shape, (200, 100, 3, 2))

  def test_initial_velocity_matrix_has_frobenius_norm_one_half(self):
    norms = np.linalg.norm(self.three_balls.velocities[:, 0], axis=(1, 2))
    np.testing.assert_allclose(norms, 0.5, rtol=1e-12)

  def test_initial_balls_are_inside_walls_and_do_not_overlap(self):
    start = bb.simulate(2, num_sequences=500, num_frames=1,
                        num_balls=4).positions[:, 0]
    self.assertTrue(np.all(start >= RADIUS) and np.all(start <= BOX - RADIUS))
    self.assertTrue(np.all(start >= 0.2 * BOX))
    for ball, other in itertools.combinations(range(4), 2):
      distances = np.linalg.norm(start[:, ball] - start[:, other], axis=-1)
      self.assertTrue(np.all(distances >= 2 * RADIUS))

  def test_single_ball_speed_is_preserved_by_wall_bounces(self):
    velocities = self.one_ball.velocities
    bounced = np.any(np.sign(velocities[:, 1:]) != np.sign(velocities[:, :-1]),
                     axis=(1, 2, 3))
    self.assertGreater(bounced.mean(), 0.9)
    speeds = np.linalg.norm(velocities, axis=-1)
    np.testing.assert_allclose(speeds, 0.5, rtol=1e-12)

  def test_single_ball_overshoots_a_wall_by_at_most_one_substep(self):
    # A lone ball beyond a wall has just bounced and heads back in with the
    # same speed component it went out with, during one sub-step of 0.5.
    positions, velocities = self.one_ball
    self.assertGreater(wall_overshoot(positions).max(), 0)
    self.assertTrue(np.all(
        wall_overshoot(positions) <= 0.5 * np.abs(velocities) + 1e-12))

  def test_colliding_balls_overshoot_a_wall_by_at_most_one_frame_of_travel(self):
    # A collision right after a bounce can send a ball outwards for another
    # sub-step, so the lone-ball bound of one sub-step (0.25 at top speed) can
    # be exceeded (by ~1 ball-frame in a million, up to ~0.30 seen over 2M
    # ball-frames); a frame's travel at top speed (0.5) has never been.
    overshoot = wall_overshoot(self.three_balls.positions)
    self.assertGreater(overshoot.max(), 0)
    self.assertLessEqual(overshoot.max(), 1.0 * MAX_SPEED)

  def test_kinetic_energy_is_preserved_at_every_frame(self):
    twice_energy = np.sum(self.three_balls.velocities**2, axis=(2, 3))
    np.testing.assert_allclose(twice_energy, 0.25, rtol=1e-12)

  def test_momentum_is_preserved_by_collisions_away_from_walls(self):
    positions, velocities = self.three_balls
    # A frame moves a ball by at most MAX_SPEED, so balls this far from every
    # wall at a frame cannot touch one before the next frame.
    clear_of_walls = np.all(wall_overshoot(positions[:, :-1]) <= -MAX_SPEED,
                            axis=(2, 3))
    changed = np.any(velocities[:, 1:] != velocities[:, :-1], axis=(2, 3))
    collisions = clear_of_walls & changed
    self.assertGreaterEqual(collisions.sum(), 50)
    momentum = velocities.sum(axis=2)
    np.testing.assert_allclose(momentum[:, 1:][collisions],
                               momentum[:, :-1][collisions], rtol=0, atol=1e-12)


class RenderingAndSeedingTest(absltest.TestCase):

  def test_frames_are_float32_in_unit_interval_with_requested_shape(self):
    frames = bb.generate(3, num_sequences=4, num_frames=6, resolution=12)
    self.assertEqual(frames.shape, (4, 6, 144))
    self.assertEqual(frames.dtype, np.float32)
    self.assertTrue(frames.min() >= 0.0 and frames.max() <= 1.0)
    self.assertEqual(frames.max(), 1.0)

  def test_same_seed_gives_identical_data(self):
    np.testing.assert_array_equal(bb.generate(4, 3, num_frames=5),
                                  bb.generate(4, 3, num_frames=5))

  def test_different_seeds_give_different_data(self):
    self.assertFalse(np.array_equal(bb.generate(4, 3, num_frames=5),
                                    bb.generate(5, 3, num_frames=5)))

  def test_render_puts_single_ball_maximum_at_expected_pixel(self):
    # Pixel centres lie at 0.5, 1.5, ..., 9.5: x = 2.5 is column 2 and
    # y = 7.5 is row 7, where the ball sits exactly on a pixel centre.
    frame = bb.render(np.array([[[[2.5, 7.5]]]]), resolution=10)
    self.assertEqual(frame.shape, (1, 1, 100))
    self.assertEqual(np.argmax(frame[0, 0]), 7 * 10 + 2)
    self.assertEqual(frame[0, 0, 7 * 10 + 2], 1.0)

  def test_render_clips_overlapping_balls_at_one(self):
    frame = bb.render(np.array([[4.0, 4.0], [4.0, 4.0]]), resolution=10)
    self.assertEqual(frame.max(), 1.0)


class StandardSplitTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.directory = Path(self.create_tempdir().full_path)

  def test_standard_split_round_trips_through_cache_and_second_call_reads_it(self):
    sizes = dict(num_train=3, num_test=2, num_frames=4, resolution=8)
    train, test = bb.standard_split(self.directory, **sizes)
    self.assertTrue(train.shape == (3, 4, 64) and test.shape == (2, 4, 64))
    self.assertEqual(train.dtype, np.float32)
    np.testing.assert_array_equal(train, bb.generate(bb.STANDARD_TRAIN_SEED, 3, 4, 8))
    np.testing.assert_array_equal(test, bb.generate(bb.STANDARD_TEST_SEED, 2, 4, 8))
    self.assertEqual(sorted(path.suffix for path in self.directory.iterdir()),
                     [".npy", ".npy"])
    fail = AssertionError(
        "the second call regenerated the split instead of reading the cache")
    with absltest.mock.patch.object(bb, "simulate", side_effect=fail):
      cached_train, cached_test = bb.standard_split(self.directory, **sizes)
    np.testing.assert_array_equal(cached_train, train)
    np.testing.assert_array_equal(cached_test, test)

  def test_interrupted_cache_write_leaves_no_file_behind(self):
    sizes = dict(num_train=2, num_test=2, num_frames=3, resolution=6)
    with absltest.mock.patch.object(np.lib.format, "write_array",
                                    side_effect=KeyboardInterrupt):
      with self.assertRaises(KeyboardInterrupt):
        bb.standard_split(self.directory, **sizes)
    self.assertEqual(list(self.directory.iterdir()), [])
    train, _ = bb.standard_split(self.directory, **sizes)
    self.assertEqual(train.shape, (2, 3, 36))

  def test_cache_holds_trajectories_a_fraction_of_the_frames_size_and_says_where(
      self):
    sizes = dict(num_train=20, num_test=2, num_frames=10, resolution=30)
    with self.assertLogs(level="INFO") as logs:
      train, _ = bb.standard_split(self.directory, **sizes)
    (train_file,) = self.directory.glob("bouncing_balls_train_*.npy")
    # 3 balls x 2 float32 coordinates per frame instead of 900 float32 pixels.
    self.assertLess(train_file.stat().st_size, train.nbytes / 100)
    log_text = "\n".join(logs.output)
    self.assertIn(str(train_file), log_text)
    self.assertIn("MB", log_text)
    # Rendering from the float32 trajectories loses nothing: the same frames.
    np.testing.assert_array_equal(train,
                                  bb.generate(bb.STANDARD_TRAIN_SEED, 20, 10, 30))

  @parameterized.parameters(0, 100, 400)
  def test_a_truncated_cache_is_generated_again(self, size):
    sizes = dict(num_train=3, num_test=2, num_frames=4, resolution=8)
    expected, _ = (np.array(split)
                   for split in bb.standard_split(self.directory, **sizes))
    cached = next(path for path in self.directory.iterdir()
                  if "_train_" in path.name)
    with open(cached, "r+b") as file:
      file.truncate(size)
    with self.assertLogs(level="WARNING") as logs:
      train, _ = bb.standard_split(self.directory, **sizes)
    np.testing.assert_array_equal(train, expected)
    self.assertIn("are damaged; generating them again", "\n".join(logs.output))

  def test_standard_split_cache_dir_defaults_to_environment_variable(self):
    with absltest.mock.patch.dict(os.environ,
                                  {"RTRBM_JAX_CACHE": str(self.directory)}):
      bb.standard_split(num_train=1, num_test=1, num_frames=2, resolution=4)
    self.assertLen(list(self.directory.glob("bouncing_balls_*.npy")), 2)


class ArgumentsTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("no_sequences", lambda: bb.simulate(0, 0, 5), "num_sequences=0"),
      ("negative_frames", lambda: bb.simulate(0, 2, -1), "num_frames=-1"),
      ("no_balls", lambda: bb.simulate(0, 2, 5, num_balls=0), "num_balls=0"),
      ("float_balls", lambda: bb.simulate(0, 2, 5, num_balls=2.0),
       "num_balls=2.0"),
      ("zero_radius", lambda: bb.simulate(0, 2, 5, radius=0.0), "radius=0.0"),
      ("radius_over_half_box", lambda: bb.simulate(0, 2, 5, radius=5.0),
       "radius=5.0"),
      ("negative_box", lambda: bb.simulate(0, 2, 5, box_size=-1.0),
       "box_size=-1.0"),
      ("too_many_balls", lambda: bb.simulate(0, 2, 5, num_balls=30),
       "num_balls=30"),
      ("no_pixels", lambda: bb.render(np.zeros((2, 3)), resolution=0),
       "resolution=0"),
      ("positions_not_pairs", lambda: bb.render(np.zeros((2, 3))),
       "positions.shape=(2, 3)"),
      ("no_training_sequences", lambda: bb.standard_split(num_train=0),
       "num_train=0"),
  )
  def test_bad_arguments_raise_value_error_naming_argument_and_value(
      self, call, argument):
    with self.assertRaisesRegex(ValueError,
                                "^" + re.escape(f"{argument} is not accepted")):
      call()

  def test_crowded_box_raises_value_error_instead_of_sampling_forever(self):
    with absltest.mock.patch.object(bb, "_MAX_PLACEMENT_ROUNDS", 3):
      with self.assertRaisesRegex(
          ValueError, "^num_balls=5 is not accepted: .*fewer or smaller balls"):
        bb.simulate(0, 50, 1, num_balls=5)


if __name__ == "__main__":
  absltest.main()
