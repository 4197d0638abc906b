"""Shared test utilities: float64 scoping, random tiny models, error measures."""

import contextlib
import os
import pickle

import jax
import jax.numpy as jnp
import numpy as np


@contextlib.contextmanager
def float64():
  """Enables x64 inside one test only (the library itself runs in float32)."""
  previous = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)
  try:
    yield
  finally:
    jax.config.update("jax_enable_x64", previous)


def slow(test):
  """Marks a long-running test: left out of the default run, run by `-m slow`."""
  test.slow = True
  return test


def randomize(params, key, scale=0.5, dtype=jnp.float32):
  """Every leaf of a parameter pytree replaced by scale * N(0, 1) of its shape."""
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(key, len(leaves))
  return jax.tree.unflatten(treedef, [
      (scale * jax.random.normal(k, leaf.shape)).astype(dtype)
      for k, leaf in zip(keys, leaves)])


def random_binary(key, shape, dtype=jnp.float32):
  return jax.random.bernoulli(key, 0.5, shape).astype(dtype)


def relative_error(actual, expected):
  """max over leaves of ||actual - expected|| / ||expected||."""
  errors = jax.tree.map(
      lambda a, e: float(jnp.linalg.norm(a - e) / jnp.maximum(jnp.linalg.norm(e),
                                                               1e-30)),
      actual, expected)
  return max(jax.tree.leaves(errors))


def central_differences(function, params, epsilon=1e-6):
  """Gradient of a scalar function of a float64 pytree by central differences."""
  leaves, treedef = jax.tree.flatten(params)
  gradient = []
  for index, leaf in enumerate(leaves):
    flat = np.array(leaf, dtype=np.float64).reshape(-1)
    leaf_gradient = np.zeros_like(flat)
    for i in range(flat.size):
      values = []
      for sign in (1, -1):
        shifted = flat.copy()
        shifted[i] += sign * epsilon
        new_leaves = list(leaves)
        new_leaves[index] = jnp.asarray(shifted.reshape(leaf.shape))
        values.append(float(function(jax.tree.unflatten(treedef, new_leaves))))
      leaf_gradient[i] = (values[0] - values[1]) / (2 * epsilon)
    gradient.append(jnp.asarray(leaf_gradient.reshape(leaf.shape)))
  return jax.tree.unflatten(treedef, gradient)


def small_music_config(directory, num_pieces, notes_per_frame, lowest_note,
                       num_notes, lengths, num_hidden):
  """configs/polyphonic.py on a random pickle of tiny pieces, with tiny training.

  Writes the pickle (the RNN-RBM paper's format) into `directory`; returns
  (config, the pieces written).
  """
  from configs import polyphonic  # pylint: disable=g-import-not-at-top
  from tests import test_train  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  notes = np.arange(lowest_note, lowest_note + num_notes)
  pieces = {split: [[tuple(int(n) for n in rng.choice(notes, notes_per_frame))
                     for _ in range(rng.integers(*lengths))]
                    for _ in range(num_pieces)]
            for split in ("train", "valid", "test")}
  path = os.path.join(directory, "tiny.pickle")
  with open(path, "wb") as f:
    pickle.dump(pieces, f, protocol=2)
  config = polyphonic.get_config()
  small = test_train.small_config()
  config.data.path = path
  config.data.num_frames = 8
  config.model.num_hidden = num_hidden
  for section in ("train", "pretrain", "eval"):
    config[section].update(small[section].to_dict())
  return config, pieces
