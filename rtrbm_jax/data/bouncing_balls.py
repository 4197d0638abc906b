"""Bouncing-balls videos, the benchmark of Sutskever, Hinton & Taylor (2008).

"The Recurrent Temporal Restricted Boltzmann Machine" (NIPS 2008) trains on
videos of balls bouncing in a box. This module reproduces the process of
Sutskever's own generator (``bounce_n`` / ``matricize`` in the RTRBM code),
vectorised with numpy over sequences and balls:

* The box is a square of side ``box_size`` (10). It holds ``num_balls`` (3)
  equal balls of radius ``radius`` (1.2) and equal mass.
* Start: the velocity matrix (``num_balls x 2``) of each sequence is drawn
  standard normal and scaled to Frobenius norm 0.5. Positions are drawn
  uniform in ``[0.2 * box_size, box_size]^2`` (``2 + 8 * rand`` in the
  original) and redrawn until every ball lies inside the walls
  (``radius <= x <= box_size - radius`` per coordinate) and no two balls
  overlap (centre distance ``>= 2 * radius``).
* Each frame records the positions, then takes two sub-steps of size 0.5.
  A sub-step moves every ball by ``0.5 * v``; then a coordinate whose ball
  touches a wall (``x - radius < 0`` or ``x + radius > box_size``) gets its
  velocity component pointed back into the box; then every overlapping pair
  (centre distance ``< 2 * radius``), in the original's order, collides
  elastically: equal masses exchange their velocity components along the
  line between their centres.
* Rendering: pixel centres lie at ``(k + 0.5) * box_size / resolution``; a
  ball at distance ``d`` adds ``exp(-(d^2 / radius^2)^4)``, and the sum over
  balls is clipped to ``[0, 1]``.

As in the original, a ball can reach beyond a wall by up to one sub-step's
travel before it bounces, and rarely a little further when a collision sends
it straight back out.

One deliberate departure from the original: a colliding pair exchanges
velocities only while the balls approach each other. The original also
"collides" overlapping balls that are already separating, which flips them
back towards each other and can glue a pair together for several frames.

Frame layout: a frame is an image ``img[row, col]`` flattened row-major to
``row * resolution + col``; the column index follows coordinate 0
(``positions[..., 0]``, "x") and the row index follows coordinate 1
(``positions[..., 1]``, "y"), as ``meshgrid`` arranges them in the original.

The benchmark split (4000 training and 200 test sequences of 100 frames at
30 x 30 pixels, 3 balls) comes from :func:`standard_split`, simulated once and
cached. (The original training code drew fresh sequences on the fly; a fixed
split makes runs comparable and resumable from a checkpoint alone.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from absl import logging
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.data import cache

DEFAULT_BOX_SIZE = 10.0
DEFAULT_RADIUS = 1.2
DEFAULT_NUM_BALLS = 3
DEFAULT_NUM_FRAMES = 100
DEFAULT_RESOLUTION = 30

# The original draws start positions as 2 + 8 * rand in a box of side 10.
_START_LOW_FRACTION = 0.2
_INITIAL_VELOCITY_NORM = 0.5
_SUBSTEPS_PER_FRAME = 2
_SUBSTEP_SIZE = 0.5
# Every round redraws the positions of all still-rejected sequences at once;
# a configuration that needs more rounds than this is too crowded to sample.
# With the default box and radius, 5 balls still place quickly (~1 s for 4200
# sequences) while 6 fail, after ~15 s at 4200 sequences.
_MAX_PLACEMENT_ROUNDS = 10_000
# Caps the [frames, balls, rows, cols] float32 intermediate of render at 4 MiB:
# small enough to stay in cache across its several in-place passes.
_RENDER_CHUNK_ELEMENTS = 1 << 20
# standard_split renders this many bytes of frames per call of render.
_SPLIT_CHUNK_BYTES = 64 << 20

STANDARD_TRAIN_SEED = 2008_4000
STANDARD_TEST_SEED = 2008_0200
STANDARD_NUM_TRAIN = 4000
STANDARD_NUM_TEST = 200
# Part of every cache file name; bump it whenever the generated data change so
# that stale caches are ignored rather than silently reused.
_CACHE_FORMAT_VERSION = 2


class Trajectories(NamedTuple):
  """Ball states at every recorded frame.

  Attributes:
    positions: float64 ``[num_sequences, num_frames, num_balls, 2]`` ball
      centres.
    velocities: float64 ``[num_sequences, num_frames, num_balls, 2]``
      velocities at the same instants, i.e. the velocities with which the
      first sub-step after each recorded frame starts.
  """

  positions: np.ndarray
  velocities: np.ndarray


def _check_geometry(radius: float, box_size: float) -> tuple[float, float]:
  radius, box_size = float(radius), float(box_size)
  if not box_size > 0:
    raise ValueError(
        f"box_size={box_size!r} is not accepted: expected a positive number")
  if not 0 < radius < box_size / 2:
    raise ValueError(
        f"radius={radius!r} is not accepted: "
        f"expected 0 < radius < box_size / 2 = {box_size / 2}")
  return radius, box_size


def _ball_pairs(num_balls: int) -> list[tuple[int, int]]:
  # The original's loop order; it matters because a ball may be in several
  # overlapping pairs in one sub-step and each exchange sees the previous.
  return [(ball, other) for ball in range(num_balls) for other in range(ball)]


def _initial_positions(rng: np.random.Generator, num_sequences: int,
                       num_balls: int, radius: float,
                       box_size: float) -> np.ndarray:
  """Start positions ``[num_sequences, num_balls, 2]``: inside, not overlapping.

  Rejection sampling, vectorised: every round redraws all balls of each
  sequence that has a ball outside the walls or two balls overlapping.
  """
  low = _START_LOW_FRACTION * box_size
  # Disjoint balls inside the box cannot cover more than its area; catching
  # that here avoids running all placement rounds for an impossible request.
  if num_balls * np.pi * radius**2 > box_size**2:
    raise ValueError(
        f"num_balls={num_balls} is not accepted: {num_balls} balls of radius "
        f"{radius} cannot fit without overlap in a box of side {box_size}; use "
        "fewer or smaller balls")
  positions = np.empty((num_sequences, num_balls, 2))
  rejected = np.arange(num_sequences)
  for _ in range(_MAX_PLACEMENT_ROUNDS):
    draw = low + rng.random((rejected.size, num_balls, 2)) * (box_size - low)
    inside = np.all((draw >= radius) & (draw <= box_size - radius), axis=(1, 2))
    offsets = draw[:, :, None, :] - draw[:, None, :, :]
    distances = np.sqrt(np.sum(offsets**2, axis=-1))
    distances[:, np.arange(num_balls), np.arange(num_balls)] = np.inf
    apart = np.all(distances >= 2 * radius, axis=(1, 2))
    accepted = inside & apart
    positions[rejected[accepted]] = draw[accepted]
    rejected = rejected[~accepted]
    if rejected.size == 0:
      return positions
  raise ValueError(
      f"num_balls={num_balls} is not accepted: {num_balls} balls of radius "
      f"{radius} rarely fit without overlap in a box of side {box_size} "
      f"({rejected.size} of {num_sequences} sequences still unplaced after "
      f"{_MAX_PLACEMENT_ROUNDS} rounds); use fewer or smaller balls")


def _substep(position: np.ndarray, velocity: np.ndarray, radius: float,
             box_size: float, pairs: list[tuple[int, int]]) -> np.ndarray:
  """One sub-step: moves `position` in place, returns the new velocity.

  Args:
    position: float64 ``[N, n, 2]`` ball centres, updated in place.
    velocity: float64 ``[N, n, 2]`` velocities before the sub-step.
    radius: ball radius.
    box_size: side of the square box.
    pairs: ball index pairs in the order their collisions are resolved.

  Returns:
    float64 ``[N, n, 2]`` velocities after bounces and collisions.
  """
  position += _SUBSTEP_SIZE * velocity
  # Pointing the component inwards (rather than negating it) keeps a ball that
  # is still beyond the wall after a bounce from bouncing back out again.
  velocity = np.where(position - radius < 0, np.abs(velocity), velocity)
  velocity = np.where(position + radius > box_size, -np.abs(velocity), velocity)
  for ball, other in pairs:
    offset = position[:, ball] - position[:, other]
    distance = np.sqrt(np.sum(offset**2, axis=-1))
    direction = offset / np.where(distance > 0, distance, 1.0)[:, None]
    closing_speed = np.sum((velocity[:, ball] - velocity[:, other]) * direction,
                           axis=-1)
    # Only approaching pairs exchange velocities (see the module docstring).
    collides = (distance < 2 * radius) & (distance > 0) & (closing_speed < 0)
    exchange = np.where(collides, closing_speed, 0.0)[:, None] * direction
    velocity[:, ball] -= exchange
    velocity[:, other] += exchange
  return velocity


def simulate(rng_or_seed, num_sequences: int, num_frames: int,
             num_balls: int = DEFAULT_NUM_BALLS, radius: float = DEFAULT_RADIUS,
             box_size: float = DEFAULT_BOX_SIZE) -> Trajectories:
  """Simulates bouncing balls, vectorised over sequences.

  Args:
    rng_or_seed: a ``np.random.Generator`` (advanced in place) or anything
      ``np.random.default_rng`` accepts as a seed.
    num_sequences: number ``N`` of independent sequences.
    num_frames: number ``T`` of recorded frames per sequence.
    num_balls: number ``n`` of balls per sequence.
    radius: ball radius.
    box_size: side of the square box.

  Returns:
    ``Trajectories(positions, velocities)``, each float64 ``[N, T, n, 2]``.
  """
  num_sequences = checks.positive_int("num_sequences", num_sequences)
  num_frames = checks.positive_int("num_frames", num_frames)
  num_balls = checks.positive_int("num_balls", num_balls)
  radius, box_size = _check_geometry(radius, box_size)
  rng = np.random.default_rng(rng_or_seed)

  velocity = rng.standard_normal((num_sequences, num_balls, 2))
  velocity *= _INITIAL_VELOCITY_NORM / np.sqrt(
      np.sum(velocity**2, axis=(1, 2), keepdims=True))
  position = _initial_positions(rng, num_sequences, num_balls, radius, box_size)

  pairs = _ball_pairs(num_balls)
  positions = np.empty((num_sequences, num_frames, num_balls, 2))
  velocities = np.empty_like(positions)
  for time in range(num_frames):
    positions[:, time] = position
    velocities[:, time] = velocity
    for _ in range(_SUBSTEPS_PER_FRAME):
      velocity = _substep(position, velocity, radius, box_size, pairs)
  return Trajectories(positions, velocities)


def render(positions, resolution: int = DEFAULT_RESOLUTION,
           radius: float = DEFAULT_RADIUS,
           box_size: float = DEFAULT_BOX_SIZE) -> np.ndarray:
  """Renders ball positions as grey-level frames.

  Args:
    positions: ``[..., n, 2]`` ball centres, typically ``[N, T, n, 2]``.
    resolution: number ``R`` of pixels along each side of a frame.
    radius: ball radius.
    box_size: side of the square box the pixels cover.

  Returns:
    float32 ``[..., R * R]`` frames in ``[0, 1]``, typically ``[N, T, R * R]``;
    row-major, columns along coordinate 0 and rows along coordinate 1 (see the
    module docstring).
  """
  resolution = checks.positive_int("resolution", resolution)
  radius, box_size = _check_geometry(radius, box_size)
  positions = np.asarray(positions)
  if positions.ndim < 2 or positions.shape[-1] != 2:
    raise ValueError(f"positions.shape={positions.shape} is not accepted: "
                     "expected [..., num_balls, 2]")
  leading_shape, num_balls = positions.shape[:-2], positions.shape[-2]
  flat_positions = positions.reshape(-1, num_balls, 2)
  num_images = flat_positions.shape[0]
  pixel_centres = ((np.arange(resolution) + 0.5)
                   * (box_size / resolution)).astype(np.float32)
  images = np.empty((num_images, resolution, resolution), np.float32)
  chunk = max(1, _RENDER_CHUNK_ELEMENTS // max(1, num_balls * resolution**2))
  for start in range(0, num_images, chunk):
    centres = flat_positions[start:start + chunk].astype(np.float32)
    scaled_dx2 = np.square((pixel_centres - centres[..., 0:1]) / np.float32(radius))
    scaled_dy2 = np.square((pixel_centres - centres[..., 1:2]) / np.float32(radius))
    # exp(-(d^2 / radius^2)^4), computed in place to keep one buffer per chunk.
    falloff = scaled_dy2[..., :, None] + scaled_dx2[..., None, :]
    np.square(falloff, out=falloff)
    np.square(falloff, out=falloff)
    np.negative(falloff, out=falloff)
    np.exp(falloff, out=falloff)
    np.clip(falloff.sum(axis=1), 0.0, 1.0, out=images[start:start + chunk])
  return images.reshape(*leading_shape, resolution * resolution)


def generate(seed, num_sequences: int, num_frames: int = DEFAULT_NUM_FRAMES,
             resolution: int = DEFAULT_RESOLUTION,
             num_balls: int = DEFAULT_NUM_BALLS) -> np.ndarray:
  """Generates bouncing-balls videos with the benchmark's box and balls.

  Args:
    seed: anything ``np.random.default_rng`` accepts as a seed.
    num_sequences: number ``N`` of videos.
    num_frames: number ``T`` of frames per video.
    resolution: number ``R`` of pixels along each side of a frame.
    num_balls: number of balls per video.

  Returns:
    float32 ``[N, T, R * R]`` frames in ``[0, 1]``.
  """
  trajectories = simulate(np.random.default_rng(seed), num_sequences, num_frames,
                          num_balls)
  return render(trajectories.positions, resolution)


def _cached_positions(path: Path, name: str, seed: int, num_sequences: int,
                      num_frames: int) -> np.ndarray:
  """The split's float32 ball centres ``[N, T, balls, 2]``, simulated once.

  A cache file that cannot be read or has the wrong shape (truncated, or
  written by something else) is simulated and written again.
  """
  expected_shape = (num_sequences, num_frames, DEFAULT_NUM_BALLS, 2)
  if path.exists():
    try:
      positions = np.load(path)
    except (ValueError, OSError, EOFError):
      positions = None
    if positions is not None and positions.shape == expected_shape:
      return positions
    logging.warning(
        "The cached bouncing balls %s are damaged; generating them again.", path)
    path.unlink()
  path.parent.mkdir(parents=True, exist_ok=True)
  positions = simulate(np.random.default_rng(seed), num_sequences,
                       num_frames).positions.astype(np.float32)
  # Readers see no cache or a complete one; concurrent writers race harmlessly.
  with cache.atomic_write(path, "wb") as file:
    np.lib.format.write_array(file, positions)
  logging.info(
      "Bouncing balls: cached the %s split's %d simulated trajectories in %s "
      "(%.1f MB); frames are rendered from them on every load.",
      name, num_sequences, path, path.stat().st_size / 1e6)
  return positions


def _cached_split(cache_dir: Path, name: str, seed: int, num_sequences: int,
                  num_frames: int, resolution: int) -> np.ndarray:
  """The split's float32 frames ``[N, T, R * R]``, rendered from cached trajectories.

  The cache holds the simulated ball centres as float32 ``[N, T, balls, 2]``
  (9.6 MB for the 4000-sequence training split, against 1.44 GB of float32
  frames). :func:`render` casts the centres to float32 before drawing, so frames
  rendered from the cache are bit for bit those rendered from the simulation;
  rendering the training split takes about 2 s on one core.
  """
  path = cache_dir / (
      f"bouncing_balls_{name}_seed{seed}_n{num_sequences}_t{num_frames}"
      f"_balls{DEFAULT_NUM_BALLS}_v{_CACHE_FORMAT_VERSION}.npy")
  positions = _cached_positions(path, name, seed, num_sequences, num_frames)
  frames = np.empty((num_sequences, num_frames, resolution * resolution),
                    np.float32)
  sequence_bytes = num_frames * resolution**2 * np.dtype(np.float32).itemsize
  sequences_per_chunk = max(1, _SPLIT_CHUNK_BYTES // sequence_bytes)
  for start in range(0, num_sequences, sequences_per_chunk):
    stop = start + sequences_per_chunk
    frames[start:stop] = render(positions[start:stop], resolution)
  return frames


def standard_split(cache_dir: str | os.PathLike | None = None, *,
                   num_train: int = STANDARD_NUM_TRAIN,
                   num_test: int = STANDARD_NUM_TEST,
                   num_frames: int = DEFAULT_NUM_FRAMES,
                   resolution: int = DEFAULT_RESOLUTION
                   ) -> tuple[np.ndarray, np.ndarray]:
  """The fixed benchmark split, its trajectories simulated once and cached.

  The cache holds ``.npy`` files of ball trajectories; the frames are rendered
  from them on each call. Training data are ``generate(STANDARD_TRAIN_SEED,
  num_train, ...)`` and test data ``generate(STANDARD_TEST_SEED, num_test,
  ...)``, with 3 balls. The defaults give the benchmark; smaller values give
  small variants (for tests), cached under their own file names. Note that a
  smaller variant is not a prefix of the full split.

  Args:
    cache_dir: directory of the cache files; defaults to
      `cache.default_cache_dir()`.
    num_train: number of training sequences.
    num_test: number of test sequences.
    num_frames: number ``T`` of frames per sequence.
    resolution: number ``R`` of pixels along each side of a frame.

  Returns:
    ``(train, test)``: float32 arrays ``[num_train, T, R * R]`` and
    ``[num_test, T, R * R]``.
  """
  num_train = checks.positive_int("num_train", num_train)
  num_test = checks.positive_int("num_test", num_test)
  num_frames = checks.positive_int("num_frames", num_frames)
  resolution = checks.positive_int("resolution", resolution)
  cache_dir = cache.default_cache_dir() if cache_dir is None else Path(cache_dir)
  train = _cached_split(cache_dir, "train", STANDARD_TRAIN_SEED, num_train,
                        num_frames, resolution)
  return train, standard_test_split(cache_dir, num_test=num_test,
                                    num_frames=num_frames, resolution=resolution)


def standard_test_split(cache_dir: str | os.PathLike | None = None, *,
                        num_test: int = STANDARD_NUM_TEST,
                        num_frames: int = DEFAULT_NUM_FRAMES,
                        resolution: int = DEFAULT_RESOLUTION) -> np.ndarray:
  """The test half of :func:`standard_split` alone: float32 ``[num_test, T, R * R]``.

  For runs that train on fresh simulated sequences and need no training split.
  """
  num_test = checks.positive_int("num_test", num_test)
  num_frames = checks.positive_int("num_frames", num_frames)
  resolution = checks.positive_int("resolution", resolution)
  cache_dir = cache.default_cache_dir() if cache_dir is None else Path(cache_dir)
  return _cached_split(cache_dir, "test", STANDARD_TEST_SEED, num_test, num_frames,
                       resolution)
