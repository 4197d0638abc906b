"""Runs from Python: rj.train, rj.load_run (final, checkpoint step, sweep point),
evaluate --point, and the TensorBoard event files a run leaves."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

from absl.testing import absltest
import jax
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.runs import api
from rtrbm_jax.runs import evaluate
from rtrbm_jax.training import sweep
from tests import helpers
from tests import test_sweep

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RunsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.directory = tempfile.mkdtemp()
    os.environ["RTRBM_JAX_CACHE"] = os.path.join(cls.directory, "cache")
    cls.run_dir = os.path.join(cls.directory, "run")
    # Outside absl's app.run, as in a notebook: rj.train still shows progress.
    cls.train_output = io.StringIO()
    with contextlib.redirect_stderr(cls.train_output):
      cls.state = rj.train(helpers.small_config(), cls.run_dir)
    config = test_sweep.sweep_config()
    config.sweep = dict(learning_rate=(0.01, 0.05), seed=(0, 7))
    cls.sweep_config = config
    cls.sweep_dir = os.path.join(cls.directory, "sweep")
    cls.sweep_state = rj.train(config, cls.sweep_dir)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.directory)
    super().tearDownClass()

  def test_rj_train_is_a_function_that_trains(self):
    self.assertIsInstance(rj.train, types.FunctionType)
    self.assertEqual(int(self.state.step), 80)

  def test_load_run_gives_the_final_parameters(self):
    run = rj.load_run(self.run_dir)
    self.assertEqual(run.step, 80)
    self.assertIsNone(run.point)
    jax.tree.map(np.testing.assert_array_equal, run.params, self.state.params)
    generated = run.model.generate(run.params, jax.random.key(0),
                                   run.load_data("test")[0][None, :3], 4, 2)
    self.assertEqual(generated.shape, (1, 4, 36))

  def test_load_run_gives_a_checkpoint_step(self):
    final = rj.load_run(self.run_dir, step=80)
    jax.tree.map(np.testing.assert_array_equal, final.params, self.state.params)
    earlier = rj.load_run(self.run_dir, step=40)
    self.assertEqual(earlier.step, 40)
    self.assertFalse(np.array_equal(earlier.params.w_vh, final.params.w_vh))
    with self.assertRaisesRegex(ValueError, r"step=50 is not accepted: .* \[40, 60, 80\]"):
      rj.load_run(self.run_dir, step=50)

  def test_load_run_gives_a_sweep_point_with_its_own_config(self):
    points = sweep.sweep_points(self.sweep_config)
    for index in (0, 3):
      run = rj.load_run(self.sweep_dir, point=index)
      self.assertEqual(run.point, index)
      self.assertEqual(run.config.optimizer.learning_rate,
                       points[index]["learning_rate"])
      self.assertNotIn("sweep", run.config)
      jax.tree.map(lambda loaded, stacked: np.testing.assert_array_equal(
          loaded, stacked[index]), run.params, self.sweep_state.params)
    checkpoint = rj.load_run(self.sweep_dir, step=40, point=1)
    self.assertEqual(checkpoint.params.w_vh.shape, (36, 16))
    with self.assertRaisesRegex(ValueError, "a sweep of 4 points; pass point=0..3"):
      rj.load_run(self.sweep_dir)
    with self.assertRaisesRegex(ValueError, "holds a single run, not a sweep"):
      rj.load_run(self.run_dir, point=0)

  def test_evaluate_a_sweep_point_writes_its_own_files(self):
    results = evaluate.evaluate_workdir(self.sweep_dir, num_gibbs_steps=2,
                                              generate_frames=3, point=2)
    self.assertEqual(results["point"], 2)
    with open(os.path.join(self.sweep_dir, "eval_test_point2.json")) as f:
      self.assertEqual(json.load(f)["next_frame_error"],
                       results["next_frame_error"])
    for name in ("eval_samples_test_point2.png", "eval_samples_test_point2.gif"):
      self.assertTrue(os.path.exists(os.path.join(self.sweep_dir, name)), name)

  def test_event_files_parse_with_every_record_and_the_samples_picture(self):
    scalars = helpers.read_scalars(self.run_dir)
    with open(os.path.join(self.run_dir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
    self.assertEqual([step for step, _ in scalars["train/reconstruction_error"]],
                     [r["step"] for r in records])
    np.testing.assert_allclose(
        [value for _, value in scalars["train/gradient_norm"]],
        [r["gradient_norm"] for r in records], rtol=1e-6)
    self.assertIn("eval/heldout_next_frame_error_se", scalars)
    # Wall-clock time is each event's own; as a float32 scalar it was noise.
    self.assertNotIn("train/time", scalars)
    self.assertTrue(all(tag.startswith(("train/", "eval/")) for tag in scalars),
                    sorted(scalars))
    events = helpers.read_events(self.run_dir)
    tags = {value.tag for event in events for value in event.summary.value}
    self.assertIn("train/samples", tags)
    self.assertIn("_hparams_/experiment", tags)

  def test_a_run_writes_one_event_file_with_its_numbers_and_pictures(self):
    event_files = [name for name in os.listdir(self.run_dir)
                   if name.startswith("events.out.tfevents")]
    self.assertLen(event_files, 1)

  def test_rj_train_shows_per_phase_progress_and_a_startup_line_outside_app_run(
      self):
    lines = self.train_output.getvalue().splitlines()
    self.assertTrue(any(line.startswith("rtrbm (binary visible), 36 visible x 16 "
                                        "hidden units, 900 parameters; 1 cpu")
                        for line in lines), lines[:5])
    self.assertIn("Compiling the pretrain step for chunks of 10 updates.", lines)
    self.assertTrue(any(line.startswith("pretrain 20/20 ") for line in lines))
    self.assertTrue(any(line.startswith("train 60/60 ") for line in lines))
    self.assertFalse(any("orbax" in line or "time=" in line for line in lines))

  def test_a_finished_run_says_so_and_writes_nothing_again(self):
    samples = os.path.join(self.run_dir, "samples.png")
    before = os.stat(samples).st_mtime_ns
    output = io.StringIO()
    with contextlib.redirect_stderr(output):
      state = rj.train(helpers.small_config(), self.run_dir)
    self.assertIn("is finished (all 80 updates done): nothing to do",
                  output.getvalue())
    self.assertEqual(os.stat(samples).st_mtime_ns, before)
    jax.tree.map(np.testing.assert_array_equal, state.params, self.state.params)

  def test_a_run_has_a_short_repr(self):
    self.assertEqual(repr(rj.load_run(self.run_dir)),
                     f"Run(rtrbm, 36 visible x 16 hidden, step 80, "
                     f"workdir={self.run_dir!r})")
    self.assertEqual(repr(rj.load_run(self.sweep_dir, point=1))[-42:],
                     f"point 1, workdir={self.sweep_dir!r})"[-42:])

  def test_the_models_functions_show_their_own_docstrings(self):
    run = rj.load_run(self.run_dir)
    self.assertEqual(run.model.generate.__name__, "generate")
    self.assertIn("Runs a temporal model freely after priming it",
                  run.model.generate.__doc__)
    self.assertIn("parts=rtrbm, visible_type='binary'", run.model.generate.__doc__)
    self.assertIn("chain_start='data'", run.model.cd_gradient.__doc__)

  def test_a_sweep_writes_one_event_directory_per_point_named_by_its_values(self):
    directories = sorted(name for name in os.listdir(self.sweep_dir)
                         if name.startswith("point_"))
    self.assertEqual(directories, ["point_0_learning_rate=0.01_seed=0",
                                   "point_1_learning_rate=0.01_seed=7",
                                   "point_2_learning_rate=0.05_seed=0",
                                   "point_3_learning_rate=0.05_seed=7"])
    scalars = helpers.read_scalars(os.path.join(self.sweep_dir,
                                                       directories[3]))
    self.assertEqual(scalars["train/reconstruction_error"][-1][0], 80)
    self.assertNotIn("train/learning_rate", scalars)

  def test_evaluate_cli_shows_progress_without_noise_and_errors_once(self):
    def evaluate(*flags):
      return subprocess.run(
          [sys.executable, "-m", "experiments.evaluate", f"--workdir={self.sweep_dir}",
           "--num_gibbs_steps=2", *flags], cwd=_REPO, capture_output=True,
          text=True, timeout=300)
    finished = evaluate("--point=0", "--step=60")
    self.assertEqual(finished.returncode, 0, finished.stderr[-2000:])
    self.assertIn("next-frame prediction: 48/48 frames, done in", finished.stderr)
    self.assertNotIn("Unable to initialize backend", finished.stderr)
    path = os.path.join(self.sweep_dir, "eval_test_point0_step60.json")
    self.assertTrue(os.path.exists(path))
    # A summary line and where the numbers are, not the whole json file.
    self.assertRegex(finished.stdout,
                     r"^test split, step 60, point 0: next-frame error .*; best "
                     r"baseline [a-z_]+ [0-9.]+\nResults: " + path)
    scalars = helpers.read_scalars(
        os.path.join(self.sweep_dir, "point_0_learning_rate=0.01_seed=0"))
    self.assertEqual(scalars["eval/test/next_frame_error"][-1][0], 60)
    failed = evaluate("--point=9")
    self.assertEqual(failed.returncode, 1)
    self.assertEqual(failed.stderr.strip().splitlines(),
                     ["error: point=9 is not accepted: workdir="
                      f"{self.sweep_dir!r} holds a sweep of 4 points; pass "
                      "point=0..3 (see its results.txt)."])


class GetConfigTest(absltest.TestCase):

  def test_a_config_loads_by_name_and_by_path(self):
    by_name = rj.get_config("tiny")
    by_path = rj.get_config(os.path.join(api.CONFIGS_DIRECTORY, "tiny.py"))
    self.assertEqual(by_name.to_dict(), by_path.to_dict())
    self.assertIn("tiny", rj.config_names())
    with self.assertRaisesRegex(ValueError, r"^config name='nowhere\.py' is not "
                                r"accepted: no such file\.$"):
      rj.get_config("nowhere.py")

  def test_an_installed_package_without_configs_says_to_pass_a_path(self):
    directory = api.CONFIGS_DIRECTORY
    api.CONFIGS_DIRECTORY = os.path.join(self.create_tempdir().full_path, "none")
    try:
      self.assertEqual(rj.config_names(), [])
      with self.assertRaisesRegex(ValueError, r"^config name='tiny' is not "
                                  r"accepted: configs live in the repository's "
                                  r"configs/ folder.*configs/tiny\.py'\)\.$"):
        rj.get_config("tiny")
    finally:
      api.CONFIGS_DIRECTORY = directory


if __name__ == "__main__":
  absltest.main()
