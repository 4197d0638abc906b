"""Issue 21's cases: what an adversary tried on a run, a sweep and their files.

Most tests work on a copy of one small finished run made for the class (in
process: cheaper than the CLI); the CLI cases run `experiments.*` in a subprocess.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax import run_evaluation
from rtrbm_jax import runs
from rtrbm_jax import train
from tests import test_train

_REPO = test_train._REPO  # pylint: disable=protected-access


def _params(path):
  with np.load(path) as stored:
    return {name: stored[name] for name in stored.files}


class FinishedRunTest(parameterized.TestCase):
  """Cases on a copy of one finished small run (80 updates, checkpoints 40-80)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.cache_dir = os.path.join(cls.root, "cache")
    os.environ["RTRBM_JAX_CACHE"] = cls.cache_dir
    cls.finished = os.path.join(cls.root, "finished")
    train.train_and_evaluate(test_train.small_config(), cls.finished)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  def setUp(self):
    super().setUp()
    os.environ["RTRBM_JAX_CACHE"] = self.cache_dir

  def copy(self):
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(self.finished, workdir)
    return workdir

  def test_an_extended_run_stopped_part_way_loads_its_checkpoint_not_params_npz(
      self):
    workdir = self.copy()
    config = test_train.small_config()
    config.train.num_steps = 100
    # The extension stops at its first update (a NaN): a run stopped part-way.
    config.optimizer.learning_rate = 1e38
    with self.assertRaises(train.NonFiniteError):
      train.train_and_evaluate(config, workdir, allow_config_change=True)
    self.assertFalse(os.path.exists(os.path.join(workdir, "params.npz")))
    # A params.npz of update 80 beside newer checkpoints (as the code before
    # this fix left it) is not taken for the run's last update either.
    shutil.copy(os.path.join(self.finished, "params.npz"), workdir)
    run = runs.load_run(workdir)
    self.assertEqual(run.step, 80)
    results = run_evaluation.evaluate_workdir(
        workdir, log_likelihood="none", num_gibbs_steps=2, num_prediction_chains=2)
    self.assertEqual(results["step"], 80)

  def test_a_stale_params_npz_beside_a_newer_checkpoint_is_passed_over(self):
    workdir = self.copy()
    stale = _params(os.path.join(workdir, "params.npz"))
    config = test_train.small_config()
    config.train.num_steps = 100  # checkpoints at 100 and 120
    train.train_and_evaluate(config, workdir, allow_config_change=True)
    # Killed after the checkpoint at 100, with the old run's params.npz back.
    shutil.rmtree(os.path.join(workdir, "checkpoints", "120"))
    shutil.copy(os.path.join(self.finished, "params.npz"), workdir)
    run = runs.load_run(workdir)
    self.assertEqual(run.step, 100)
    self.assertFalse(np.array_equal(np.asarray(run.params.w_vh), stale["w_vh"]))

  def test_an_unfinished_run_whose_newest_checkpoint_is_damaged_loads_an_older_one(
      self):
    workdir = self.copy()
    os.remove(os.path.join(workdir, "params.npz"))
    shutil.rmtree(os.path.join(workdir, "checkpoints", "80", "default"))
    with self.assertLogs(level="WARNING") as logs:
      run = runs.load_run(workdir)
    self.assertEqual(run.step, 60)
    self.assertIn("The checkpoint at step 80 does not restore", logs.output[0])

  @parameterized.parameters(100.0, "100", True)
  def test_load_run_names_a_step_that_is_not_an_integer(self, step):
    with self.assertRaisesRegex(ValueError, "step=.* is not accepted: None .* or "
                                "the integer update of a checkpoint"):
      runs.load_run(self.finished, step=step)


if __name__ == "__main__":
  absltest.main()
