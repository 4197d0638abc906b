"""Shared test utilities: float64 scoping, random tiny models, error measures."""

import contextlib
import functools
import os
import pickle
import types

import jax
import jax.numpy as jnp
import numpy as np

from configs import tiny
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import rtrbm
from rtrbm_jax.models import temporal


def _with_parts(parts):
  """`temporal`'s model functions with `parts` bound and every other argument
  free, so that a test can pass the visible type, sampler and chain start."""
  return types.SimpleNamespace(**{
      name: functools.partial(getattr(temporal, name), parts)
      for name in ("cd_gradient", "exact_log_likelihood", "exact_gradient",
                   "frame_rbms", "generate")})


RTRBM = _with_parts(rtrbm.PARTS)
RNNRBM = _with_parts(rnnrbm.PARTS)


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


def small_config():
  """tiny.py made smaller still: an RTRBM trained by CD on 6 x 6 pixels, 8 frames."""
  config = tiny.get_config()
  config.model.kind = "rtrbm"
  config.train.chain_start = "data"
  config.optimizer.learning_rate = 0.01
  config.model.num_visible = 36
  config.model.num_hidden = 16
  config.data.resolution = 6
  config.data.num_frames = 8
  config.data.num_train = 40
  config.data.num_test = 6
  config.train.num_steps = 60
  config.train.batch_size = 4
  config.train.gibbs_schedule = ((20, 3),)
  config.train.log_every = 10
  config.train.checkpoint_every = 20
  config.pretrain.num_steps = 20
  config.pretrain.batch_size = 4
  config.eval.every = 40
  config.eval.num_sequences = 6
  config.eval.num_gibbs_steps = 5
  config.eval.num_samples = 2
  config.eval.prime_frames = 3
  config.eval.generate_frames = 4
  return config


def small_music_config(directory, num_pieces, notes_per_frame, lowest_note,
                       num_notes, lengths, num_hidden):
  """configs/polyphonic.py on a random pickle of tiny pieces, with tiny training.

  Writes the pickle (the RNN-RBM paper's format) into `directory`; returns
  (config, the pieces written).
  """
  from configs import polyphonic  # pylint: disable=g-import-not-at-top
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
  small = small_config()
  config.data.path = path
  config.data.num_frames = 8
  config.model.num_hidden = num_hidden
  for section in ("train", "pretrain", "eval"):
    config[section].update(small[section].to_dict())
  return config, pieces


def read_events(directory: str) -> list:
  """Every event (`tensorboardX.proto.event_pb2.Event`) of `directory`'s event files.

  File by file; the TFRecord framing is read directly
  with tensorboardX's protos, so TensorFlow is not needed.
  """
  from tensorboardX.proto import event_pb2  # pylint: disable=g-import-not-at-top
  events = []
  for name in sorted(os.listdir(directory)):
    if name.startswith("events.out.tfevents"):
      events.extend(_read_events(os.path.join(directory, name), event_pb2.Event))
  return events


def read_scalars(directory: str) -> dict:
  """{tag: [(step, value), ...]} of the scalars in `directory`'s event files."""
  scalars = {}
  for event in read_events(directory):
    for value in event.summary.value:
      if value.HasField("simple_value"):
        scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
  return scalars


def _read_events(path: str, event_type):
  """The records of a TFRecord file: uint64 length, 4-byte CRC, data, 4-byte CRC."""
  with open(path, "rb") as f:
    while header := f.read(12):
      length = int.from_bytes(header[:8], "little")
      data = f.read(length)
      f.read(4)
      yield event_type.FromString(data)
