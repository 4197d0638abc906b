"""Tests of `config.init_from`: a fresh run that starts from a finished run's
parameters, and the one-line errors of a source that does not fit."""

import os
import shutil

from absl.testing import absltest
import jax
import numpy as np

from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import loop
from rtrbm_jax.training import schema
from tests import helpers


def _warm_config(source):
  config = helpers.small_config()
  config.init_from = source
  config.pretrain.num_steps = 0
  config.train.num_steps = 20
  config.eval.every = 0
  return config


class WarmStartTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path
    # One finished run shared by the tests below: its params.npz is the source.
    self.source = self.create_tempdir("source").full_path
    config = helpers.small_config()
    config.train.num_steps, config.eval.every = 20, 0
    self.source_state = loop.train_and_evaluate(config, self.source)

  def test_a_fresh_run_starts_from_the_source_and_resumes_without_it(self):
    # One update at a negligible rate: the run's parameters are the source's
    # (a run needs at least one update), not a random initialisation's.
    config = _warm_config(self.source)
    config.optimizer.name, config.optimizer.learning_rate = "sgd", 1e-12
    config.train.num_steps = 1
    state = loop.train_and_evaluate(config, self.create_tempdir().full_path)
    jax.tree.map(lambda got, want: np.testing.assert_allclose(got, want, atol=1e-7),
                 state.params, self.source_state.params)
    fresh = helpers.small_config()
    fresh.optimizer.name, fresh.optimizer.learning_rate = "sgd", 1e-12
    fresh.pretrain.num_steps, fresh.train.num_steps = 0, 1
    fresh_state = loop.train_and_evaluate(fresh, self.create_tempdir().full_path)
    self.assertGreater(float(np.max(np.abs(fresh_state.params.w_vh
                                           - self.source_state.params.w_vh))), 1e-3)
    # Trained further, then stopped after its checkpoint at 20 and resumed with
    # the source gone: the checkpoint, not the source, holds the state.
    config = _warm_config(self.source)
    config.train.num_steps, config.train.checkpoint_every = 40, 20
    finished = self.create_tempdir().full_path
    first = loop.train_and_evaluate(config, finished)
    self.assertFalse(np.array_equal(first.params.w_vh,
                                    self.source_state.params.w_vh))
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(finished, workdir)
    shutil.rmtree(os.path.join(workdir, "checkpoints", "40"))
    os.remove(os.path.join(workdir, "params.npz"))
    moved = self.source + "_moved"
    os.rename(self.source, moved)
    try:
      second = loop.train_and_evaluate(config, workdir)
    finally:
      os.rename(moved, self.source)
    jax.tree.map(np.testing.assert_array_equal, first, second)

  def test_a_parameter_file_is_a_source_too(self):
    loaded = checkpoints.warm_start_params(
        os.path.join(self.source, "params.npz"), self.source_state.params)
    jax.tree.map(np.testing.assert_array_equal, loaded, self.source_state.params)

  def test_a_source_that_does_not_fit_is_one_line_and_writes_nothing(self):
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    missing = _warm_config(os.path.join(self.source, "nowhere"))
    with self.assertRaisesRegex(ValueError, r"^config\.init_from=.*does not "
                                r"exist[^\n]*$"):
      loop.train_and_evaluate(missing, workdir)
    bigger = _warm_config(self.source)
    bigger.model.num_hidden = 17
    with self.assertRaisesRegex(ValueError, r"^config\.init_from=.*w_vh has shape "
                                r"\[36, 16\], expected \[36, 17\][^\n]*$"):
      loop.train_and_evaluate(bigger, workdir)
    other_kind = _warm_config(self.source)
    other_kind.model.kind = "rnnrbm"
    with self.assertRaisesRegex(ValueError, r"^config\.init_from=.*it lacks"):
      loop.train_and_evaluate(other_kind, workdir)
    # The workdir's lock made the directory; nothing of a run is in it.
    self.assertEqual([name for name in os.listdir(workdir)
                      if not name.startswith(".")], [])

  def test_pretraining_would_overwrite_the_source_and_is_refused(self):
    config = _warm_config(self.source)
    config.pretrain.num_steps = 5
    with self.assertRaisesRegex(ValueError, r"^config\.pretrain\.num_steps=5 is "
                                r"not accepted: 0 with config\.init_from set"):
      schema.validate_config(config)

  def test_damaged_source_is_named(self):
    damaged = os.path.join(self.create_tempdir().full_path, "params.npz")
    with open(damaged, "wb") as f:
      f.write(b"not a zip")
    with self.assertRaisesRegex(ValueError, "params.npz is damaged"):
      checkpoints.warm_start_params(damaged, self.source_state.params)


if __name__ == "__main__":
  absltest.main()
