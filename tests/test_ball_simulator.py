"""The JAX bouncing-balls simulator against the NumPy one (`bouncing_balls.py`).

Trajectories from the same start state, frames from the same positions, and the
statistics of fresh sequences from each.
"""

import functools

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.data import ball_simulator
from rtrbm_jax.data import bouncing_balls
from tests import helpers

RADIUS = bouncing_balls.DEFAULT_RADIUS
BOX = bouncing_balls.DEFAULT_BOX_SIZE


def _collisions(velocities):
  """(wall bounces, ball-ball exchanges) between recorded frames `[N, T, n, 2]`.

  A wall bounce flips a velocity component and keeps the ball's speed; an
  exchange between balls changes speeds.
  """
  speeds = np.linalg.norm(velocities, axis=-1)
  exchanges = np.abs(np.diff(speeds, axis=1)) > 1e-9
  bounces = np.sign(velocities[:, 1:]) == -np.sign(velocities[:, :-1])
  return int(bounces.sum()), int(exchanges.sum())


class TrajectoryTest(chex.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.reference = bouncing_balls.simulate(0, num_sequences=40, num_frames=100)

  def test_the_reference_has_wall_bounces_and_ball_collisions(self):
    bounces, exchanges = _collisions(self.reference.velocities)
    self.assertGreater(bounces, 100)
    self.assertGreater(exchanges, 20)

  @chex.variants(with_jit=True, without_jit=True)
  def test_same_start_state_gives_the_numpy_trajectories_in_float64(self):
    with helpers.float64():
      simulate_from = self.variant(functools.partial(
          ball_simulator.simulate_from, num_frames=100))
      trajectories = simulate_from(jnp.asarray(self.reference.positions[:, 0]),
                                   jnp.asarray(self.reference.velocities[:, 0]))
      self.assertEqual(trajectories.positions.dtype, jnp.float64)
      chex.assert_shape(trajectories, (40, 100, 3, 2))
      np.testing.assert_allclose(trajectories.positions,
                                 self.reference.positions, atol=1e-9)
      np.testing.assert_allclose(trajectories.velocities,
                                 self.reference.velocities, atol=1e-9)

  @chex.variants(with_jit=True, without_jit=True)
  def test_same_start_state_stays_close_in_float32(self):
    # float32 rounding grows through collisions (a billiard is chaotic), so the
    # comparison is over the first 30 frames, each with several bounces.
    simulate_from = self.variant(functools.partial(
        ball_simulator.simulate_from, num_frames=30))
    trajectories = simulate_from(
        jnp.asarray(self.reference.positions[:, 0], jnp.float32),
        jnp.asarray(self.reference.velocities[:, 0], jnp.float32))
    np.testing.assert_allclose(trajectories.positions,
                               self.reference.positions[:, :30], atol=1e-3)

  @chex.variants(with_jit=True, without_jit=True)
  def test_same_positions_give_the_numpy_frames(self):
    positions = self.reference.positions[:, :50].astype(np.float32)
    for resolution in (10, 30):
      render = self.variant(functools.partial(ball_simulator.render,
                                              resolution=resolution))
      frames = render(jnp.asarray(positions))
      self.assertEqual(frames.dtype, jnp.float32)
      chex.assert_shape(frames, (40, 50, resolution**2))
      np.testing.assert_allclose(
          frames, bouncing_balls.render(positions, resolution), atol=2e-6)


class FreshSequencesTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_start_states_are_drawn_as_numpy_draws_them(self):
    initial_state = self.variant(jax.vmap(ball_simulator.initial_state))
    position, velocity = initial_state(jax.random.split(jax.random.key(0), 1000))
    position, velocity = np.asarray(position), np.asarray(velocity)
    np.testing.assert_allclose(np.linalg.norm(velocity, axis=(1, 2)), 0.5,
                               rtol=1e-5)
    self.assertTrue(np.all(position >= RADIUS) and np.all(position <= BOX - RADIUS))
    for ball, other in ((1, 0), (2, 0), (2, 1)):
      distances = np.linalg.norm(position[:, ball] - position[:, other], axis=-1)
      self.assertTrue(np.all(distances >= 2 * RADIUS))
    reference = bouncing_balls.simulate(1, num_sequences=1000, num_frames=1)
    # Uniform start positions under the same rejection: the same mean and spread
    # (standard errors about 0.04 and 0.03).
    expected = reference.positions[:, 0]
    self.assertAlmostEqual(position.mean(), expected.mean(), delta=0.1)
    self.assertAlmostEqual(position.std(), expected.std(), delta=0.08)

  @chex.variants(with_jit=True, without_jit=True)
  def test_fresh_frames_have_the_statistics_of_the_numpy_generator(self):
    num_sequences, num_frames, resolution = 300, 30, 10
    generate = self.variant(functools.partial(
        ball_simulator.generate, num_sequences=num_sequences,
        num_frames=num_frames, resolution=resolution))
    fresh = np.asarray(generate(jax.random.key(3)))
    reference = bouncing_balls.generate(3, num_sequences, num_frames, resolution)
    self.assertEqual(fresh.shape, reference.shape)
    # Per-sequence means are independent: compare with their standard errors.
    for statistic in (
        lambda v: v.mean(axis=(1, 2)),                       # mean intensity
        lambda v: (v > 0.5).mean(axis=(1, 2)),               # pixels occupied
        lambda v: np.square(np.diff(v, axis=1)).sum(-1).mean(-1)):  # motion
      ours, theirs = statistic(fresh), statistic(reference)
      standard_error = np.sqrt(ours.var() / ours.size + theirs.var() / theirs.size)
      self.assertLess(abs(ours.mean() - theirs.mean()), 4 * standard_error)
    # Per-pixel occupancy: the same map (edges less visited than the middle),
    # each pixel within 5 standard errors over sequences.
    ours, theirs = fresh.mean(axis=1), reference.mean(axis=1)
    standard_error = np.sqrt(ours.var(axis=0) / len(ours)
                             + theirs.var(axis=0) / len(theirs))
    self.assertLess(np.max(np.abs(ours.mean(0) - theirs.mean(0)) / standard_error),
                    5)
    self.assertGreater(np.corrcoef(ours.mean(0), theirs.mean(0))[0, 1], 0.9)

  def test_a_key_gives_the_same_sequences_and_another_key_others(self):
    generate = jax.jit(ball_simulator.generate, static_argnums=(1, 2, 3))
    first = generate(jax.random.key(5), 3, 10, 10)
    np.testing.assert_array_equal(first, generate(jax.random.key(5), 3, 10, 10))
    self.assertGreater(float(jnp.abs(first - generate(jax.random.key(6), 3, 10,
                                                       10)).max()), 0.5)

  def test_balls_that_cannot_fit_are_refused(self):
    with self.assertRaisesRegex(ValueError, "num_balls=30 is not accepted"):
      ball_simulator.initial_state(jax.random.key(0), num_balls=30)


if __name__ == "__main__":
  absltest.main()
