"""Issue 21's cases: what an adversary tried on a run, a sweep and their files.

Most tests work on a copy of one small finished run made for the class (in
process: cheaper than the CLI); the CLI cases run `experiments.*` in a subprocess.
"""

import json
import os
import shutil
import subprocess
import sys
import signal
import tempfile
import time
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from configs import tiny
import rtrbm_jax as rj
from rtrbm_jax import config_fields
from rtrbm_jax import files
from rtrbm_jax import progress
from rtrbm_jax.runs import api
from rtrbm_jax.runs import evaluate
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import loop
from rtrbm_jax.training import schema
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs
from tests import helpers
from tests import test_train

_REPO = test_train._REPO  # pylint: disable=protected-access


class _Stop(Exception):
  """Stops a run at a chosen point, as a kill would."""


def _one_line_error(test, finished, expected):
  test_train._one_line_error(  # pylint: disable=protected-access
      test, finished, expected)


def _overrides(config):
  return test_train._overrides(config)  # pylint: disable=protected-access


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
    loop.train_and_evaluate(helpers.small_config(), cls.finished)

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

  def test_extending_a_finished_run_removes_its_params_npz(self):
    workdir = self.copy()
    config = helpers.small_config()
    config.train.num_steps = 100
    # Stopped as soon as the extension has restored its checkpoint.
    with mock.patch.object(loop.programs_lib, "make_programs", side_effect=_Stop):
      with self.assertRaises(_Stop):
        loop.train_and_evaluate(config, workdir, allow_config_change=True)
    self.assertFalse(os.path.exists(os.path.join(workdir, "params.npz")))

  def test_a_stale_params_npz_is_not_labelled_with_the_extended_run_s_step(self):
    # What the code before this fix left of a finished run extended to 120
    # updates and killed before its next checkpoint: params.npz of update 80
    # beside a config of 120 updates.
    workdir = self.copy()
    for path in (os.path.join(workdir, workdirs.CONFIG_FILE),
                 workdirs.checkpoint_config_path(workdir)):
      with open(path) as f:
        stored = json.load(f)
      stored["train"]["num_steps"] = 100
      with open(path, "w") as f:
        json.dump(stored, f)
    self.assertEqual(api.load_run(workdir).step, 80)
    results = evaluate.evaluate_workdir(
        workdir, log_likelihood="none", num_gibbs_steps=2, num_prediction_chains=2)
    self.assertEqual(results["step"], 80)
    # A newer checkpoint wins over params.npz.
    shutil.copytree(os.path.join(workdir, "checkpoints", "60"),
                    os.path.join(workdir, "checkpoints", "100"))
    run = api.load_run(workdir)
    self.assertEqual(run.step, 100)
    at_60 = api.load_run(workdir, step=60)
    np.testing.assert_array_equal(run.params.w_vh, at_60.params.w_vh)

  def test_an_unfinished_run_whose_newest_checkpoint_is_damaged_loads_an_older_one(
      self):
    workdir = self.copy()
    os.remove(os.path.join(workdir, "params.npz"))
    shutil.rmtree(os.path.join(workdir, "checkpoints", "80", "default"))
    with self.assertLogs(level="WARNING") as logs:
      run = api.load_run(workdir)
    self.assertEqual(run.step, 60)
    self.assertIn("The checkpoint at step 80 does not restore", logs.output[0])

  @parameterized.parameters(100.0, "100", True)
  def test_load_run_names_a_step_that_is_not_an_integer(self, step):
    with self.assertRaisesRegex(ValueError, "step=.* is not accepted: None .* or "
                                "the integer update of a checkpoint"):
      api.load_run(self.finished, step=step)

  @parameterized.named_parameters(
      ("clip_norm_on", "optimizer.clip_norm", 1.0, "optimizer.clip_norm 0.0 -> 1.0"),
      ("pretrain_momentum_off", "pretrain.momentum", 0.0,
       "pretrain.momentum 0.9 -> 0.0"),
      ("one_more_schedule_entry", "train.gibbs_schedule", ((20, 3), (40, 5)),
       "train.gibbs_schedule .* must keep its 1 entries"),
  )
  def test_a_change_the_checkpoint_cannot_take_is_named(self, field, value,
                                                        expected):
    workdir = self.copy()
    config = helpers.small_config()
    config.train.num_steps = 100
    section, name = field.split(".")
    config[section][name] = value
    with self.assertRaisesRegex(ValueError, f"cannot take .*{expected}"):
      loop.train_and_evaluate(config, workdir, allow_config_change=True)

  def test_an_unfinished_run_can_be_stopped_where_it_is(self):
    workdir = self.copy()
    os.remove(os.path.join(workdir, "params.npz"))
    shutil.rmtree(os.path.join(workdir, "checkpoints", "80"))
    config = helpers.small_config()
    config.train.num_steps = 40  # 20 + 40 = the 60 updates done
    config.optimizer.learning_rate = 0.05
    with self.assertRaisesRegex(ValueError, "config.train.num_steps=40 stops the "
                                "run .* at update 60, where it is: no update would "
                                "use optimizer.learning_rate"):
      loop.train_and_evaluate(config, workdir, allow_config_change=True)
    config.optimizer.learning_rate = 0.01
    state = loop.train_and_evaluate(config, workdir, allow_config_change=True)
    self.assertEqual(int(state.step), 60)
    self.assertEqual(api.load_run(workdir).step, 60)

  @parameterized.named_parameters(("deleted", None), ("null", "null"),
                                  ("list", "[1, 2]"), ("torn", '{"seed": '))
  def test_a_deleted_or_damaged_config_json_cannot_rewrite_history(self, content):
    workdir = self.copy()
    path = os.path.join(workdir, workdirs.CONFIG_FILE)
    os.remove(path)
    if content is not None:
      with open(path, "w") as f:
        f.write(content)
    config = helpers.small_config()
    config.seed = 1
    with self.assertRaisesRegex(ValueError, "cannot take a change of seed"):
      loop.train_and_evaluate(config, workdir, allow_config_change=True)
    with self.assertLogs(level="WARNING") as logs:
      loop.train_and_evaluate(helpers.small_config(), workdir)
    self.assertTrue(any("missing or damaged; resuming with the config kept with "
                        "the checkpoints" in line for line in logs.output))
    with open(path) as f:
      self.assertEqual(json.load(f)["seed"], 0)

  @parameterized.named_parameters(("deleted", None), ("null", "null"))
  def test_a_run_without_the_checkpoints_copy_needs_its_config_json(self, content):
    # A run written before the copy beside the checkpoints existed.
    workdir = self.copy()
    os.remove(workdirs.checkpoint_config_path(workdir))
    path = os.path.join(workdir, workdirs.CONFIG_FILE)
    os.remove(path)
    if content is not None:
      with open(path, "w") as f:
        f.write(content)
    expected = "is missing, and the run's checkpoints keep no copy" if (
        content is None) else "config.json is damaged \\(a JSON NoneType, not an"
    with self.assertRaisesRegex(ValueError, expected):
      loop.train_and_evaluate(helpers.small_config(), workdir)

  def test_evaluate_refuses_zero_prediction_chains_before_any_work(self):
    workdir = self.copy()
    failed = test_train._evaluate_cli(  # pylint: disable=protected-access
        workdir, self.cache_dir, "--num_prediction_chains=0")
    _one_line_error(self, failed, "num_prediction_chains=0 is not accepted: an "
                    "integer in \\[1, ")
    self.assertNotIn("next-frame prediction", failed.stderr)

  @parameterized.named_parameters(("truncated", b"PK\x03\x04trunc"),
                                  ("wrong_width", None))
  def test_evaluate_names_a_bad_standardizer_before_evaluating(self, content):
    workdir = self.copy()
    path = os.path.join(workdir, workdirs.STANDARDIZER_FILE)
    if content is None:
      np.savez(path, mean=np.zeros(3), scale=np.ones(3))
    else:
      with open(path, "wb") as f:
        f.write(content)
    failed = test_train._evaluate_cli(  # pylint: disable=protected-access
        workdir, self.cache_dir, "--log_likelihood=none", "--num_gibbs_steps=2")
    _one_line_error(self, failed, "standardizer.npz is damaged or not this run's")
    self.assertNotIn("next-frame prediction", failed.stderr)
    self.assertFalse(os.path.exists(os.path.join(workdir, "eval.json")))


  def test_a_resumed_run_removes_what_a_killed_atomic_write_left(self):
    workdir = self.copy()
    stale = os.path.join(workdir, "params.npz.0123456789abcdef0123456789abcdef.tmp")
    with open(stale, "wb") as f:
      f.write(b"half a file")
    loop.train_and_evaluate(helpers.small_config(), workdir)
    self.assertFalse(os.path.exists(stale))

  def test_ctrl_c_saves_the_last_recorded_update(self):
    config = helpers.small_config()
    config.pretrain.num_steps = 40
    config.train.checkpoint_every = 40  # no checkpoint before update 40
    workdir = self.create_tempdir().full_path
    record_chunk = progress.TrainingEta.record_chunk
    calls = []

    def interrupt_at_the_third_chunk(eta, *args):
      calls.append(args)
      if len(calls) == 3:  # updates 20-30 ran; their records are not written
        raise KeyboardInterrupt
      return record_chunk(eta, *args)

    with mock.patch.object(progress.TrainingEta, "record_chunk",
                           interrupt_at_the_third_chunk):
      with self.assertRaisesRegex(loop.Interrupted, "interrupted at update 20, "
                                  "whose checkpoint is saved"):
        loop.train_and_evaluate(config, workdir)
    self.assertEqual(sorted(os.listdir(checkpoints.directory(workdir))),
                     ["20", "config.json"])
    steps = [record["step"] for record in files.read_records(
        workdirs.metrics_path(workdir))]
    self.assertEqual(steps, [10, 20])
    # The resume takes it, as any checkpoint (tested bit for bit elsewhere).
    setup_ = loop.setup(config)
    initial = loop.initial_state(config, setup_.model, setup_.optimizer,
                               setup_.pretrain_optimizer)
    manager, restored, step = checkpoints.restore_newest(
        workdir, checkpoints.manager_options(3), initial)
    manager.close()
    self.assertEqual((step, int(restored.step)), (20, 20))
  def test_evaluate_refuses_one_log_likelihood_frame(self):
    # Issue 34: one frame's standard error read 0.0.
    with self.assertRaisesRegex(ValueError, r"^log_likelihood_frames=1 is not "
                                r"accepted: None \(every frame\) or an integer "
                                ">= 2"):
      evaluate.evaluate_workdir(self.copy(), log_likelihood_frames=1)

  def _evaluate(self, workdir, **arguments):
    return evaluate.evaluate_workdir(
        workdir, num_gibbs_steps=2, num_prediction_chains=2, chain_lengths=(),
        **{"log_likelihood": "none", **arguments})

  def test_eval_json_spells_non_finite_figures_as_strict_json(self):
    workdir = self.copy()
    far_outside = {"method": "exact", "mean": float("-inf"),
                   "standard_error": float("nan"), "num_frames": 48}
    with mock.patch.object(evaluate, "_log_likelihood_results",
                           return_value=far_outside):
      self._evaluate(workdir, log_likelihood="exact")

    def refuse(constant):
      raise ValueError(f"bare {constant} in the json")

    with open(os.path.join(workdir, "eval_test.json")) as f:
      written = json.loads(f.read(), parse_constant=refuse)
    self.assertEqual(
        (written["log_likelihood_per_frame"]["mean"],
         written["log_likelihood_per_frame"]["standard_error"]),
        ("-Infinity", "NaN"))

  def test_a_primer_longer_than_the_pieces_is_cut_and_recorded(self):
    workdir = self.copy()
    results = self._evaluate(workdir, prime_frames=20, generate_frames=2)
    with open(os.path.join(workdir, "eval_test.json")) as f:
      generation = json.load(f)["generation"]
    self.assertEqual(generation, results["generation"])
    self.assertEqual((generation["prime_frames"], generation["prime_frames_asked"]),
                     (8, 20))
    self.assertEqual(generation["note"], "the shortest primed sequence has 8 "
                     "frames")

  def test_a_diverged_run_leaves_a_record_of_its_divergence(self):
    config = helpers.small_config()
    config.optimizer.learning_rate = 1e38  # the first temporal update overflows
    workdir = self.create_tempdir().full_path
    with self.assertRaises(loop.NonFiniteError) as raised:
      loop.train_and_evaluate(config, workdir)
    last = files.read_records(workdirs.metrics_path(workdir))[-1]
    self.assertEqual((last["step"], last["phase"], last["diverged"]),
                     (30, "train", True))
    self.assertEqual(last["note"], str(raised.exception))


class EarlyErrorsTest(parameterized.TestCase):
  """Bad values refused before anything is written, naming the field (CLI)."""

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path

  @parameterized.named_parameters(
      ("one_frame", ["--config.data.num_frames=1", "--config.eval.prime_frames=1"],
       "config.data.num_frames=1 is not accepted: an integer >= 2"),
      ("huge_data", ["--config.data.num_train=200000000"],
       "config.data.num_train=200000000 is not accepted: .* GiB.* out of memory"),
      ("huge_generation", ["--config.eval.generate_frames=2000000000"],
       "config.eval.generate_frames=2000000000 is not accepted: .* GiB.* out of "
       "memory"),
  )
  def test_a_value_that_would_fail_late_is_refused_up_front(self, overrides,
                                                            expected):
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    failed = test_train._cli(  # pylint: disable=protected-access
        workdir, self.cache_dir, *overrides)
    _one_line_error(self, failed, expected)
    self.assertFalse(os.path.exists(workdir))

  def test_an_empty_workdir_flag_is_named(self):
    failed = test_train._cli("", self.cache_dir)  # pylint: disable=protected-access
    _one_line_error(self, failed, "workdir='' is not accepted: .*--workdir=DIR")


_BAD_CONFIG_FILES = {
    "missing_field": ("from configs import tiny\n\ndef get_config():\n"
                      "  config = tiny.get_config()\n"
                      "  del config.train['gibbs_schedule']\n  return config\n",
                      "config.train.gibbs_schedule is missing"),
    "missing_section": ("from configs import tiny\n\ndef get_config():\n"
                        "  config = tiny.get_config()\n  del config['eval']\n"
                        "  return config\n", "config.eval is missing"),
    "raises": ("def get_config():\n  raise RuntimeError('broken')\n",
               "does not load \\(RuntimeError: broken\\)"),
    "does_not_parse": ("def get_config(:\n  pass\n",
                       "does not load \\(SyntaxError: "),
}


class ConfigFilesTest(parameterized.TestCase):

  @parameterized.parameters(*_BAD_CONFIG_FILES)
  def test_a_bad_config_file_is_one_line_naming_it(self, name):
    content, expected = _BAD_CONFIG_FILES[name]
    path = os.path.join(self.create_tempdir().full_path, f"{name}.py")
    with open(path, "w") as f:
      f.write(content)
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    env = dict(os.environ,
               RTRBM_JAX_CACHE=self.create_tempdir("cache").full_path)
    failed = subprocess.run(
        [sys.executable, "-m", "experiments.train", f"--config={path}",
         f"--workdir={workdir}"], cwd=_REPO, env=env, capture_output=True,
        text=True, timeout=300)
    _one_line_error(self, failed, f"{path}: .*{expected}")
    self.assertFalse(os.path.exists(workdir))

  def test_the_required_fields_are_those_of_the_default_config(self):
    from configs import default  # pylint: disable=g-import-not-at-top
    self.assertEqual(set(schema.REQUIRED_FIELDS) | set(schema.OPTIONAL_FIELDS),
                     set(config_fields.flatten(default.get_config())))


class PlotResultsTest(absltest.TestCase):

  def test_records_with_zero_steps_per_second_count_from_the_first_record(self):
    from experiments import plot_results  # pylint: disable=g-import-not-at-top
    workdir = self.create_tempdir().full_path
    records = [{"step": 10, "steps_per_second": 0.0, "time": 1000.0},
               {"step": 20, "steps_per_second": 0.0, "time": 1060.0,
                "heldout_next_frame_error": 7.5}]
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.writelines(files.record_line(record) for record in records)
    self.assertEqual(plot_results.held_out_curve(workdir), ([1.0], [7.5]))

  def test_a_run_without_held_out_records_is_one_line(self):
    workdir = self.create_tempdir().full_path
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(tiny.get_config().to_json())
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.write('{"step": 10, "steps_per_second": 5.0, "time": 1000.0}\n')
    failed = subprocess.run(
        [sys.executable, "-m", "experiments.plot_results", f"--runs=new:{workdir}",
         f"--output={workdir}/plot.png"], cwd=_REPO, capture_output=True,
        text=True, timeout=300)
    _one_line_error(self, failed, "metrics.jsonl has no held-out records: the run "
                    "was not evaluated")
    self.assertFalse(os.path.exists(os.path.join(workdir, "plot.png")))

  def test_records_without_timing_are_one_line(self):
    workdir = self.create_tempdir().full_path
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(tiny.get_config().to_json())
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.write('{"step": 10, "heldout_next_frame_error": 7.5}\n')
    failed = subprocess.run(
        [sys.executable, "-m", "experiments.plot_results", f"--runs=old:{workdir}",
         f"--output={workdir}/plot.png"], cwd=_REPO, capture_output=True,
        text=True, timeout=300)
    _one_line_error(self, failed, "metrics.jsonl has no records with a time")


class LockTest(absltest.TestCase):

  def test_a_symlinked_lock_is_refused_and_its_target_untouched(self):
    workdir = self.create_tempdir().full_path
    target = self.create_tempfile(content="precious\n").full_path
    os.symlink(target, os.path.join(workdir, workdirs.LOCK_FILE))
    with self.assertRaisesRegex(ValueError, "lock is a symlink .*, not a run's "
                                "lock file; remove the link"):
      with workdirs.workdir_lock(workdir):
        pass
    with open(target) as f:
      self.assertEqual(f.read(), "precious\n")


class InterruptAndSaveFailureTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path
    os.environ["RTRBM_JAX_CACHE"] = self.cache_dir

  def test_ctrl_c_on_the_command_line_is_one_line(self):
    workdir = self.create_tempdir().full_path
    command = [sys.executable, "-m", "experiments.train",
               "--config=configs/tiny.py", f"--workdir={workdir}",
               *_overrides(helpers.small_config()),
               "--config.pretrain.num_steps=400",
               "--config.train.checkpoint_every=480"]
    # A shell that starts pytest in the background (`nohup ... &`) passes SIGINT
    # on ignored, an ignored signal stays ignored across exec, and Python then
    # raises no KeyboardInterrupt. A handled one is reset to the default by exec,
    # so the child finds SIGINT as a terminal's Ctrl-C would.
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
      process = subprocess.Popen(
          command, cwd=_REPO,
          env=dict(os.environ, RTRBM_JAX_CACHE=self.cache_dir),
          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
      signal.signal(signal.SIGINT, previous_handler)
    metrics = workdirs.metrics_path(workdir)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and not (
        os.path.exists(metrics) and os.path.getsize(metrics)):
      time.sleep(0.05)
    # Past the record's write (its TensorBoard and log lines follow it).
    time.sleep(0.5)
    self.assertIsNone(process.poll(), "the run ended before it was interrupted")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=240)
    self.assertEqual(process.returncode, 130, stderr[-2000:])
    self.assertNotIn("Traceback", stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    self.assertLen(errors, 1, stderr[-2000:])
    self.assertIn("interrupted at update ", errors[0])
    step = int(errors[0].split("interrupted at update ")[1].split(",")[0])
    self.assertIn(str(step), os.listdir(checkpoints.directory(workdir)))

  def test_a_failed_save_stops_the_run_with_one_error(self):
    save = ocp.CheckpointManager.save
    calls = []

    def fail_the_second_save(manager, *args, **kwargs):
      calls.append(args)
      if len(calls) == 2:
        raise OSError(28, "No space left on device")
      return save(manager, *args, **kwargs)

    config = helpers.small_config()
    config.pretrain.num_steps = 40  # saves at 20 and 40, before any CD update
    workdir = self.create_tempdir().full_path
    with mock.patch.object(ocp.CheckpointManager, "save", fail_the_second_save):
      with self.assertRaisesRegex(checkpoints.SaveError, "a checkpoint could not "
                                  "be written in .*checkpoints \\(No space left "
                                  "on device\\); the run stopped"):
        loop.train_and_evaluate(config, workdir)
    self.assertEqual(sorted(os.listdir(checkpoints.directory(workdir))),
                     ["20", "config.json"])
    self.assertEqual(files.read_records(workdirs.metrics_path(workdir))[-1]["step"],
                     40)

  @helpers.slow  # A whole CLI run; the in-process test above is the quick one.
  @absltest.skipIf(os.geteuid() != 0, "mounts a read-only file system (root)")
  def test_a_checkpoint_directory_made_read_only_ends_the_process_at_once(self):
    workdir = self.create_tempdir().full_path
    directory = checkpoints.directory(workdir)
    os.makedirs(directory)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=50m", "tmpfs",
                       directory], capture_output=True).returncode:
      self.skipTest("cannot mount a tmpfs here")
    self.addCleanup(subprocess.run, ["umount", directory], capture_output=True)
    command = [sys.executable, "-m", "experiments.train",
               "--config=configs/tiny.py", f"--workdir={workdir}",
               *_overrides(helpers.small_config()),
               "--config.train.num_steps=200"]
    process = subprocess.Popen(
        command, cwd=_REPO, env=dict(os.environ, RTRBM_JAX_CACHE=self.cache_dir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while (time.time() < deadline and process.poll() is None
           and not os.path.isdir(os.path.join(directory, "20"))):
      time.sleep(0.05)
    subprocess.run(["mount", "-o", "remount,ro", directory], check=True)
    start = time.time()
    _, stderr = process.communicate(timeout=240)
    # Before, orbax's threads kept the process alive ~300 s after the error.
    self.assertLess(time.time() - start, 120)
    _one_line_error(self, subprocess.CompletedProcess(command, process.returncode,
                                                      "", stderr),
                    "a checkpoint could not be written in .*Read-only file "
                    "system")


class DivergedSweepTest(absltest.TestCase):

  def test_a_point_that_diverged_once_is_marked_in_results_and_evaluation(self):
    workdir = self.create_tempdir().full_path
    with open(workdirs.metrics_path(workdir), "w") as f:
      for step in (10, 20, 30):
        for point in (0, 1):
          record = {"step": step, "point": point, "learning_rate": 0.1,
                    "reconstruction_error": 1.0, "heldout_next_frame_error": 2.0,
                    "heldout_next_frame_error_se": 0.1}
          if point == 1 and step == 20:  # finite again at 30
            record.update(diverged=True, reconstruction_error=float("nan"))
          f.write(files.record_line(record))
    table = sweep.results_table(workdirs.metrics_path(workdir))
    self.assertEqual([(row["point"], row.get("diverged", False)) for row in table],
                     [(0, False), (1, True)])
    divergence = sweep.divergence_mark(workdir, 1)
    self.assertEqual(divergence["diverged"]["first_step"], 20)
    self.assertEqual(sweep.divergence_mark(workdir, 0), {})

  @helpers.slow  # A sweep and two evaluations; the test above is the quick one.
  def test_a_diverged_point_is_marked_and_its_records_are_strict_json(self):
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path
    config = helpers.small_config()
    config.pretrain.num_steps = 10
    config.train.update(num_steps=30, gibbs_schedule=())
    config.sweep = dict(learning_rate=(0.01, 1e38))
    workdir = self.create_tempdir().full_path
    sweep.run_sweep(config, workdir)

    def refuse(constant):
      raise ValueError(f"bare {constant} in metrics.jsonl")

    with open(workdirs.metrics_path(workdir)) as f:
      records = [json.loads(line, parse_constant=refuse) for line in f]
    spelled = {value for record in records if record.get("point") == 1
               for value in record.values() if isinstance(value, str)}
    self.assertTrue(spelled & {"NaN", "Infinity", "-Infinity"}, spelled)
    with open(os.path.join(workdir, "results.txt")) as f:
      rows = f.read().splitlines()
    self.assertTrue(rows[-1].split()[0] == "1" and rows[-1].endswith("diverged"),
                    rows)
    results = evaluate.evaluate_workdir(
        workdir, point=1, log_likelihood="none", num_gibbs_steps=2,
        num_prediction_chains=2)
    self.assertEqual(results["diverged"]["first_step"], 20)
    self.assertNotIn("diverged", evaluate.evaluate_workdir(
        workdir, point=0, log_likelihood="none", num_gibbs_steps=2,
        num_prediction_chains=2))


class RecordsTest(absltest.TestCase):

  def test_records_read_non_finite_values_old_and_new(self):
    path = os.path.join(self.create_tempdir().full_path, "metrics.jsonl")
    with open(path, "w") as f:
      f.write('{"step": 10, "error": NaN}\n')
      f.write(files.record_line({"step": 20, "error": float("nan"),
                                 "gap": float("-inf"), "phase": "train"}))
    with open(path) as f:
      self.assertNotIn("NaN,", f.read().splitlines()[1])
    old, new = files.read_records(path)
    self.assertTrue(np.isnan(old["error"]) and np.isnan(new["error"]))
    self.assertEqual(new["gap"], float("-inf"))
    self.assertEqual(new["phase"], "train")

  def test_stale_temporaries_of_atomic_writes_are_removed(self):
    directory = self.create_tempdir().full_path
    stale = "params.npz.0123456789abcdef0123456789abcdef.tmp"
    for name in (stale, "notes.tmp", "params.npz"):
      with open(os.path.join(directory, name), "w") as f:
        f.write("x")
    self.assertEqual(files.remove_stale_temporaries(directory), [stale])
    self.assertEqual(sorted(os.listdir(directory)), ["notes.tmp", "params.npz"])


class LibraryMisuseTest(parameterized.TestCase):

  @parameterized.parameters("bfloat16", "float16", "int32")
  def test_parameters_of_another_dtype_are_named(self, dtype):
    params = rj.rtrbm.init_params(jax.random.key(0), num_visible=4, num_hidden=3)
    params = jax.tree.map(lambda leaf: leaf.astype(dtype), params)
    v = jnp.zeros((2, 5, 4))
    with self.assertRaisesRegex(ValueError, f"params.w_.* has dtype {dtype}, not "
                                "accepted: one of \\('float32', 'float64'\\)"):
      helpers.RTRBM.cd_gradient(params, v, jax.random.key(1), num_gibbs_steps=2)

  def test_frames_as_a_python_list_are_named(self):
    params = rj.rtrbm.init_params(jax.random.key(0), num_visible=4, num_hidden=3)
    with self.assertRaisesRegex(ValueError, "v must be an array of shape "
                                "\\[batch, time, 4\\] .*got a list"):
      rj.rtrbm.forward_scan(params, np.zeros((2, 5, 4)).tolist())


class SweepValuesTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("fractional_seed", "seed", (1.7, 1.2), "integers"),
      ("fractional_k", "num_gibbs_steps", (2.9,), "integers"),
      ("bool_k", "num_gibbs_steps", (True,), "integers"),
      ("string_rate", "learning_rate", ("0.1",), "finite numbers"),
      ("infinite_rate", "learning_rate", (float("inf"),), "finite numbers"),
      ("repeated_seed", "seed", (1, 1), "distinct values"),
  )
  def test_a_swept_value_of_the_wrong_type_is_refused(self, name, values,
                                                      expected):
    config = helpers.small_config()
    config.sweep = {name: values}
    with self.assertRaisesRegex(ValueError,
                                f"config.sweep.{name}=.* is not accepted: "
                                f"{expected}"):
      sweep.sweep_points(config)

  def test_a_swept_value_out_of_range_is_refused_naming_its_point(self):
    config = helpers.small_config()
    config.sweep = dict(seed=(0, -1))
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(ValueError, "point 1 of config.sweep .*config.seed"
                                "=-1 is not accepted"):
      sweep.run_sweep(config, workdir)
    self.assertFalse(os.path.exists(workdir))

  def test_a_single_run_refuses_a_sweep_config_and_a_sweep_a_single_config(self):
    config = helpers.small_config()
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(ValueError, "config.sweep=None is not accepted: .*"
                                "for a single run use experiments.train"):
      sweep.run_sweep(config, workdir)
    config.sweep = dict(seed=(0, 1))
    with self.assertRaisesRegex(ValueError, "config.sweep is set: .*"
                                "experiments.sweep"):
      loop.train_and_evaluate(config, workdir)
    self.assertFalse(os.path.exists(workdir))

  def test_a_resumed_sweep_with_a_changed_field_is_not_told_a_missing_flag(self):
    workdir = self.create_tempdir().full_path
    config = helpers.small_config()
    config.sweep = dict(seed=(0, 1))
    with open(os.path.join(workdir, workdirs.CONFIG_FILE), "w") as f:
      f.write(config.to_json())
    config.optimizer.learning_rate = 0.05
    with self.assertRaisesRegex(ValueError, "the sweep in .* was made with another "
                                "config: optimizer.learning_rate 0.01 -> 0.05. A "
                                "sweep resumes only with the same config") as error:
      workdirs.check_resume(workdir, config, 40, False, swept=True)
    self.assertNotIn("allow_config_change", str(error.exception))


class Issue34DataTest(parameterized.TestCase):
  """Issue 34's data cases: the field to blame, named."""

  @parameterized.parameters(0, -2)
  def test_a_window_stride_below_one_is_named(self, stride):
    config = helpers.small_config()
    config.data.window_stride = stride
    with self.assertRaisesRegex(
        ValueError, rf"^config.data.window_stride={stride} is not accepted: an "
        "integer >= 1"):
      schema.validate_config(config)

  def test_the_simulator_source_is_not_refused_for_a_split_it_never_builds(self):
    config = helpers.small_config()
    config.data.train_source = "simulator"
    config.data.num_train = 2_000_000_000
    one_gib = 2**30
    with mock.patch.object(schema, "available_memory", return_value=one_gib):
      schema.check_data_memory(config)
      config.data.num_test = 10_000_000
      with self.assertRaisesRegex(
          ValueError, r"^config.data.num_test=10000000 is not accepted: its "
          "20,000,000 sequences"):
        schema.check_data_memory(config)
      config.data.train_source = "fixed"
      with self.assertRaisesRegex(ValueError,
                                  "^config.data.num_train=2000000000 is not"):
        schema.check_data_memory(config)


if __name__ == "__main__":
  absltest.main()
