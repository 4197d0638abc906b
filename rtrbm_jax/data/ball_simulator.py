"""Bouncing balls in JAX: Sutskever's generator as pure, jittable functions of a key.

The same physics and rendering as `bouncing_balls.py` (read its docstring: the box,
the start states, the two sub-steps of 0.5 per frame, walls that point a velocity
component back inside, elastic exchanges of approaching pairs in the original's
order, and frames `exp(-(d^2 / radius^2)^4)` summed over balls and clipped), written
with `lax.scan` over frames, `lax.while_loop` for the rejection sampling of start
positions and `vmap` over sequences. Everything takes an explicit PRNG key and
runs inside `jit` (the train step's fresh-data mode draws every batch here, on the
device), so the host does no work per sequence.

Given the same start state, `simulate_from` follows the NumPy simulator's
trajectories (to float64 rounding when run in float64; in float32 they drift apart
slowly, as any chaotic billiard does); `render` draws the same frames from the same
positions. The start states come from JAX's random numbers, not NumPy's, so fresh
sequences match the NumPy generator in distribution, not one by one (tested).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.data import bouncing_balls

Array = jax.Array

# bouncing_balls.py's constants, so the two simulators cannot drift apart.
_START_LOW_FRACTION = bouncing_balls._START_LOW_FRACTION
_INITIAL_VELOCITY_NORM = bouncing_balls._INITIAL_VELOCITY_NORM
_SUBSTEPS_PER_FRAME = bouncing_balls._SUBSTEPS_PER_FRAME
_SUBSTEP_SIZE = bouncing_balls._SUBSTEP_SIZE
# A bound on the rejection rounds of one sequence's start positions, so that a
# jitted loop always ends. With the benchmark's 3 balls a round is accepted with
# probability 0.13 (measured on 200,000 draws), so the bound is never reached in
# practice; `initial_state` refuses geometries where the balls cannot fit at all.
MAX_PLACEMENT_ROUNDS = 10_000


def _check_balls(num_balls: int, radius: float, box_size: float):
  num_balls = checks.positive_int("num_balls", num_balls)
  radius, box_size = bouncing_balls._check_geometry(radius, box_size)
  if num_balls * np.pi * radius**2 > box_size**2:
    raise ValueError(
        f"num_balls={num_balls} is not accepted: {num_balls} balls of radius "
        f"{radius} cannot fit without overlap in a box of side {box_size}; use "
        "fewer or smaller balls")
  return num_balls, radius, box_size


def _placement_accepted(position: Array, radius: float, box_size: float) -> Array:
  """Whether balls `[n, 2]` lie inside the walls and no two overlap: [] bool."""
  inside = jnp.all((position >= radius) & (position <= box_size - radius))
  apart = jnp.bool_(True)
  for ball, other in bouncing_balls._ball_pairs(position.shape[0]):
    distance = jnp.sqrt(jnp.sum(jnp.square(position[ball] - position[other])))
    apart &= distance >= 2 * radius
  return inside & apart


def initial_state(key: Array, num_balls: int = bouncing_balls.DEFAULT_NUM_BALLS,
                  radius: float = bouncing_balls.DEFAULT_RADIUS,
                  box_size: float = bouncing_balls.DEFAULT_BOX_SIZE,
                  dtype=jnp.float32) -> tuple[Array, Array]:
  """One sequence's start state, drawn as `bouncing_balls.simulate` draws it.

  The velocity matrix `[n, 2]` is standard normal scaled to Frobenius norm 0.5;
  the positions are uniform in `[0.2 * box_size, box_size]^2`, all redrawn until
  every ball is inside the walls and no two overlap (at most
  `MAX_PLACEMENT_ROUNDS` rounds).

  Args:
    key: PRNG key.
    num_balls: number n of balls.
    radius: ball radius.
    box_size: side of the square box.
    dtype: floating dtype of the state.

  Returns:
    (position [n, 2], velocity [n, 2]).
  """
  num_balls, radius, box_size = _check_balls(num_balls, radius, box_size)
  velocity_key, position_key = jax.random.split(key)
  velocity = jax.random.normal(velocity_key, (num_balls, 2), dtype)
  velocity *= _INITIAL_VELOCITY_NORM / jnp.sqrt(jnp.sum(jnp.square(velocity)))
  low = _START_LOW_FRACTION * box_size

  def draw(round_index):
    uniform = jax.random.uniform(jax.random.fold_in(position_key, round_index),
                                 (num_balls, 2), dtype)
    return low + uniform * (box_size - low)

  def rejected(carry):
    round_index, position = carry
    return ((round_index < MAX_PLACEMENT_ROUNDS)
            & ~_placement_accepted(position, radius, box_size))

  def redraw(carry):
    round_index, _ = carry
    return round_index + 1, draw(round_index + 1)

  _, position = jax.lax.while_loop(rejected, redraw, (0, draw(0)))
  return position, velocity


def _substep(position: Array, velocity: Array, radius: float,
             box_size: float) -> tuple[Array, Array]:
  """One sub-step of `bouncing_balls._substep`: move, bounce, collide.

  Args:
    position, velocity: [..., n, 2].

  Returns:
    (position, velocity) after the sub-step, [..., n, 2] each.
  """
  position = position + _SUBSTEP_SIZE * velocity
  velocity = jnp.where(position - radius < 0, jnp.abs(velocity), velocity)
  velocity = jnp.where(position + radius > box_size, -jnp.abs(velocity), velocity)
  # A Python loop over the (static, few) pairs: each exchange sees the previous
  # one, in the original's order.
  for ball, other in bouncing_balls._ball_pairs(position.shape[-2]):
    offset = position[..., ball, :] - position[..., other, :]
    distance = jnp.sqrt(jnp.sum(jnp.square(offset), axis=-1))
    direction = offset / jnp.where(distance > 0, distance, 1.0)[..., None]
    closing_speed = jnp.sum(
        (velocity[..., ball, :] - velocity[..., other, :]) * direction, axis=-1)
    collides = (distance < 2 * radius) & (distance > 0) & (closing_speed < 0)
    exchange = jnp.where(collides, closing_speed, 0.0)[..., None] * direction
    velocity = velocity.at[..., ball, :].add(-exchange)
    velocity = velocity.at[..., other, :].add(exchange)
  return position, velocity


def simulate_from(position: Array, velocity: Array, num_frames: int,
                  radius: float = bouncing_balls.DEFAULT_RADIUS,
                  box_size: float = bouncing_balls.DEFAULT_BOX_SIZE
                  ) -> bouncing_balls.Trajectories:
  """The trajectories from a given start state: `lax.scan` over frames.

  Each frame records the state, then takes two sub-steps (as
  `bouncing_balls.simulate`). Runs in the dtype of `position`.

  Args:
    position: [..., n, 2] ball centres at the first frame.
    velocity: [..., n, 2] their velocities.
    num_frames: number T of recorded frames.
    radius: ball radius.
    box_size: side of the square box.

  Returns:
    `Trajectories(positions, velocities)`, each a jax array [..., T, n, 2].
  """
  num_frames = checks.positive_int("num_frames", num_frames)
  radius, box_size = bouncing_balls._check_geometry(radius, box_size)
  if jnp.ndim(position) < 2 or jnp.shape(position)[-1] != 2 or (
      jnp.shape(velocity) != jnp.shape(position)):
    raise ValueError(
        f"position.shape={jnp.shape(position)} and velocity.shape="
        f"{jnp.shape(velocity)} are not accepted: expected equal shapes "
        "[..., num_balls, 2]")
  velocity = jnp.asarray(velocity, jnp.result_type(position))

  def record_then_step(state, _):
    position, velocity = state
    for _ in range(_SUBSTEPS_PER_FRAME):
      position, velocity = _substep(position, velocity, radius, box_size)
    return (position, velocity), state

  _, (positions, velocities) = jax.lax.scan(
      record_then_step, (jnp.asarray(position), velocity), None, length=num_frames)
  # scan stacks frames first: [T, ..., n, 2] -> [..., T, n, 2].
  return bouncing_balls.Trajectories(jnp.moveaxis(positions, 0, -3),
                                     jnp.moveaxis(velocities, 0, -3))


def simulate(key: Array, num_sequences: int, num_frames: int,
             num_balls: int = bouncing_balls.DEFAULT_NUM_BALLS,
             radius: float = bouncing_balls.DEFAULT_RADIUS,
             box_size: float = bouncing_balls.DEFAULT_BOX_SIZE
             ) -> bouncing_balls.Trajectories:
  """Fresh sequences: `initial_state` of each (vmapped), then `simulate_from`.

  Returns:
    `Trajectories`, float32 [N, T, n, 2] each.
  """
  num_sequences = checks.positive_int("num_sequences", num_sequences)
  position, velocity = jax.vmap(functools.partial(
      initial_state, num_balls=num_balls, radius=radius, box_size=box_size))(
          jax.random.split(key, num_sequences))
  return simulate_from(position, velocity, num_frames, radius, box_size)


def render(positions: Array, resolution: int = bouncing_balls.DEFAULT_RESOLUTION,
           radius: float = bouncing_balls.DEFAULT_RADIUS,
           box_size: float = bouncing_balls.DEFAULT_BOX_SIZE) -> Array:
  """Grey-level frames of ball positions, as `bouncing_balls.render` draws them.

  Args:
    positions: [..., n, 2] ball centres (cast to float32 first, as there).
    resolution: number R of pixels along each side.
    radius: ball radius.
    box_size: side of the square box.

  Returns:
    float32 [..., R * R] frames in [0, 1], row-major, columns along coordinate 0.
  """
  resolution = checks.positive_int("resolution", resolution)
  radius, box_size = bouncing_balls._check_geometry(radius, box_size)
  if jnp.ndim(positions) < 2 or jnp.shape(positions)[-1] != 2:
    raise ValueError(f"positions.shape={jnp.shape(positions)} is not accepted: "
                     "expected [..., num_balls, 2]")
  # Computed in NumPy, as bouncing_balls.render does, so the constants agree.
  pixel_centres = ((np.arange(resolution) + 0.5)
                   * (box_size / resolution)).astype(np.float32)
  centres = jnp.asarray(positions).astype(jnp.float32)
  scale = np.float32(radius)
  scaled_dx2 = jnp.square((pixel_centres - centres[..., 0:1]) / scale)
  scaled_dy2 = jnp.square((pixel_centres - centres[..., 1:2]) / scale)
  # [..., n, rows, cols]: rows follow coordinate 1, columns coordinate 0.
  falloff = scaled_dy2[..., :, None] + scaled_dx2[..., None, :]
  falloff = jnp.square(jnp.square(falloff))
  images = jnp.clip(jnp.sum(jnp.exp(-falloff), axis=-3), 0.0, 1.0)
  return images.reshape(*images.shape[:-2], resolution * resolution)


def generate(key: Array, num_sequences: int,
             num_frames: int = bouncing_balls.DEFAULT_NUM_FRAMES,
             resolution: int = bouncing_balls.DEFAULT_RESOLUTION,
             num_balls: int = bouncing_balls.DEFAULT_NUM_BALLS) -> Array:
  """Fresh bouncing-balls videos with the benchmark's box and balls.

  A pure function of `key` (jit it with the counts static).

  Returns:
    float32 [N, T, R * R] frames in [0, 1].
  """
  return render(simulate(key, num_sequences, num_frames, num_balls).positions,
                resolution)
