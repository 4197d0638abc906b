"""Tests of the training loop, its workdir, resuming and its guards.

They run the real loop (and the real CLI, in a subprocess) on a very small config.
"""

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import loop
from rtrbm_jax.training import optimizers
from rtrbm_jax.training import programs
from rtrbm_jax.training import records
from rtrbm_jax.training import steps
from rtrbm_jax.training import workdirs
from tests import helpers

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(workdir, cache_dir, *overrides, wait=True):
  command = [sys.executable, "-m", "experiments.train", "--config=configs/tiny.py",
             f"--workdir={workdir}"] + _overrides(helpers.small_config())
  command += list(overrides)
  env = dict(os.environ, RTRBM_JAX_CACHE=str(cache_dir))
  if wait:
    return subprocess.run(command, cwd=_REPO, env=env, capture_output=True,
                          text=True, timeout=300)
  return subprocess.Popen(command, cwd=_REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def _overrides(config):
  """Command-line overrides turning configs/tiny.py into `config`."""
  flat = []
  for section in ("model", "data", "optimizer", "train", "pretrain", "eval"):
    for name, value in config[section].items():
      if value is None:
        continue
      if name == "gibbs_schedule":
        value = ",".join(f"({a},{b})" for a, b in value)
        value = f"({value},)"
      flat.append(f"--config.{section}.{name}={value}")
  return flat


def _tree_digest(directory):
  digest = hashlib.sha256()
  for root, _, files in sorted(os.walk(directory)):
    for name in sorted(files):
      path = os.path.join(root, name)
      digest.update(path.encode())
      with open(path, "rb") as f:
        digest.update(f.read())
  return digest.hexdigest()


@contextlib.contextmanager
def _compilations(function_name):
  """Collects jax's "Compiling jit(function_name)" log lines while it is open."""
  lines = []

  class Collect(logging.Handler):

    def emit(self, record):
      if record.getMessage().startswith(f"Compiling jit({function_name})"):
        lines.append(record.getMessage())

  handler = Collect()
  jax_logger = logging.getLogger("jax")
  jax_logger.addHandler(handler)
  jax.config.update("jax_log_compiles", True)
  try:
    yield lines
  finally:
    jax.config.update("jax_log_compiles", False)
    jax_logger.removeHandler(handler)


class TrainLoopTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path
    os.environ["RTRBM_JAX_CACHE"] = self.cache_dir

  def test_a_run_leaves_its_workdir_complete(self):
    workdir = self.create_tempdir().full_path
    state = loop.train_and_evaluate(helpers.small_config(), workdir)
    self.assertEqual(int(state.step), 80)
    for name in ("config.json", "metrics.jsonl", "params.npz", "curves.png",
                 "samples.png"):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
    self.assertEqual([r["step"] for r in records], list(range(10, 81, 10)))
    self.assertEqual({r["phase"] for r in records[:2]}, {"pretrain"})
    self.assertIn("heldout_next_frame_error", records[3])
    self.assertIn("train_next_frame_error_se", records[3])
    self.assertEqual([r.get("num_gibbs_steps") for r in records[2:5]], [1, 1, 3])
    params = np.load(os.path.join(workdir, "params.npz"))
    self.assertEqual(set(params.files), {"w_vh", "w_hh", "b_v", "b_h", "b_init"})
    np.testing.assert_array_equal(params["w_vh"], state.params.w_vh)
    # The checkpoints, and the config they were made with (resume checks it).
    self.assertEqual(sorted(os.listdir(os.path.join(workdir, "checkpoints"))),
                     ["40", "60", "80", "config.json"])
    with open(os.path.join(workdir, "config.json")) as f:
      self.assertEqual(json.load(f)["model"]["num_hidden"], 16)

  def test_a_checkpoint_from_before_the_gibbs_schedule_is_refused(self):
    # Checkpoints of the code before `GibbsSchedule` hold the k values alone; they
    # do not resume (README), and the error says so instead of training anew.
    config = helpers.small_config()
    config.train.num_steps = 40
    finished = self.create_tempdir().full_path
    loop.train_and_evaluate(config, finished)
    options = checkpoints.manager_options(config.train.keep_checkpoints)
    setup_ = loop.setup(config)
    initial = loop.initial_state(config, setup_.model, setup_.optimizer,
                                 setup_.pretrain_optimizer)
    manager, at_40 = _restore_step(finished, options, initial, 40)
    manager.close()
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(finished, workdir)
    os.remove(os.path.join(workdir, "params.npz"))
    shutil.rmtree(checkpoints.directory(workdir))
    old_layout = {**at_40._asdict(),
                  "gibbs_steps": at_40.gibbs_schedule.num_gibbs_steps}
    del old_layout["gibbs_schedule"]
    with checkpoints.closing(ocp.CheckpointManager(
        checkpoints.directory(workdir), options=options)) as manager:
      checkpoints.save(manager, 40, old_layout)
    with self.assertRaisesRegex(ValueError, "no checkpoint in .* restores"):
      loop.train_and_evaluate(config, workdir)

  @helpers.slow  # Two whole runs; the resume tests compare runs bit for bit too.
  def test_same_config_and_seed_give_the_same_parameters(self):
    first = loop.train_and_evaluate(helpers.small_config(),
                                     self.create_tempdir().full_path)
    second = loop.train_and_evaluate(helpers.small_config(),
                                      self.create_tempdir().full_path)
    jax.tree.map(np.testing.assert_array_equal, first.params, second.params)

  @parameterized.parameters("prediction", "persistent")
  def test_other_chain_starts_train_and_resume_bit_identically(self, chain_start):
    config = helpers.small_config()
    config.train.chain_start = chain_start
    finished = self.create_tempdir().full_path
    first = loop.train_and_evaluate(config, finished)
    # What a run killed after its checkpoint at 60 leaves; it resumes from there.
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(finished, workdir)
    shutil.rmtree(os.path.join(workdir, "checkpoints", "80"))
    os.remove(os.path.join(workdir, "params.npz"))
    with _compilations("run") as compiled:
      second = loop.train_and_evaluate(config, workdir)
    jax.tree.map(np.testing.assert_array_equal, first, second)
    # The restored state is placed as a fresh one is, so the two chunks after
    # the restore share one program (they compiled twice when it was not).
    self.assertLen(compiled, 1)
    if chain_start == "persistent":
      # One chain per frame of the batch, left where the last update ended.
      self.assertEqual(first.chains.shape, (4 * 8, 36))
      self.assertTrue(bool(jnp.all((first.chains == 0) | (first.chains == 1))))
    else:
      self.assertIsNone(first.chains)

  @parameterized.parameters("rtrbm", "rnnrbm")
  def test_fresh_simulated_data_train_and_resume_bit_identically(self, kind):
    config = helpers.small_config()
    config.model.kind = kind
    config.data.train_source = "simulator"
    config.train.num_steps = 20  # checkpoints at 20 and 40
    finished = self.create_tempdir().full_path
    first = loop.train_and_evaluate(config, finished)
    # The training split was never built: every batch came from the simulator.
    self.assertEqual([name for name in os.listdir(self.cache_dir)
                      if name.startswith("bouncing_balls_train")], [])
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(finished, workdir)
    shutil.rmtree(os.path.join(workdir, "checkpoints", "40"))
    os.remove(os.path.join(workdir, "params.npz"))
    second = loop.train_and_evaluate(config, workdir)
    jax.tree.map(np.testing.assert_array_equal, first, second)

  def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(self):
    config = helpers.small_config()
    config.optimizer.learning_rate = 1e38  # the first temporal update overflows
    workdir = self.create_tempdir().full_path
    with self.assertRaisesRegex(loop.NonFiniteError,
                                "NaN or inf.*checkpoint \\(20\\)"):
      loop.train_and_evaluate(config, workdir)
    self.assertEqual(sorted(os.listdir(os.path.join(workdir, "checkpoints"))),
                     ["20", "config.json"])

  @parameterized.named_parameters(
      ("learning_rate", "optimizer.learning_rate", 0.0, "a finite learning rate > 0"),
      ("batch_size", "train.batch_size", 0, "an integer in \\[1, "),
      ("gibbs_steps", "train.num_gibbs_steps", 0, "an integer in \\[1, "),
      ("optimizer", "optimizer.name", "lbfgs", "one of \\('sgd', 'adam'\\)"),
      ("schedule", "train.gibbs_schedule", ((10, 0),), "pairs \\(update"),
      ("model_kind", "model.kind", "dbn", "one of"),
      ("momentum", "optimizer.momentum", 1.0, "a decay rate in \\[0, 1\\)"),
      ("log_multiple", "train.checkpoint_every", 15, "a multiple of"),
      ("prime_frames", "eval.prime_frames", 0, "an integer in \\[1, "),
      ("num_samples", "eval.num_samples", 0, "an integer in \\[1, "),
      ("generate_frames", "eval.generate_frames", -3, "an integer in \\[1, "),
      ("seed", "seed", 2**63 - 1, "an integer in \\[0, "),
      ("num_steps", "train.num_steps", 3_000_000_000, "an integer in \\[0, "),
      ("eps", "optimizer.eps", -1.0, "a finite number > 0"),
      ("b1", "optimizer.b1", 1.0, "a decay rate in \\[0, 1\\)"),
      ("b2", "optimizer.b2", -5.0, "a decay rate in \\[0, 1\\)"),
      ("weight_scale", "model.weight_scale", float("inf"), "a finite value"),
      ("weight_decay", "optimizer.weight_decay", float("inf"), "a finite value"),
      ("infinite_rate", "optimizer.learning_rate", float("inf"), "a finite learning"),
      ("schedule_int", "train.gibbs_schedule", 5, "a tuple of pairs"),
      ("schedule_pair", "train.gibbs_schedule", (100, 5), "a tuple of pairs"),
      ("huge_k", "train.num_gibbs_steps", 10**10, "an integer in \\[1, "),
      ("train_source", "data.train_source", "online", "one of \\('fixed', "),
  )
  def test_bad_config_values_are_named(self, field, value, accepted):
    config = helpers.small_config()
    section, _, name = field.rpartition(".")
    with config.unlocked(), config.ignore_type():
      (config[section] if section else config)[name] = value
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(ValueError, f"config.{field}=.*{accepted}"):
      loop.train_and_evaluate(config, workdir)
    self.assertFalse(os.path.exists(workdir))

  def test_sizes_that_cannot_fit_in_memory_are_refused_before_allocating(self):
    config = helpers.small_config()
    config.model.num_hidden = 200_000
    with self.assertRaisesRegex(ValueError, "config.model.num_hidden=200000 needs "
                                "about .* GiB .* out of memory"):
      loop.train_and_evaluate(config, self.create_tempdir().full_path)

  def test_apply_config_puts_the_new_hyperparameters_into_a_restored_state(self):
    config = helpers.small_config()
    setup_ = loop.setup(config)
    state = loop.initial_state(config, setup_.model, setup_.optimizer,
                             setup_.pretrain_optimizer)
    config.optimizer.learning_rate = 0.05
    config.optimizer.momentum = 0.5
    config.train.gibbs_schedule = ((20, 7),)
    changed = loop.apply_config(state, config)
    self.assertAlmostEqual(
        float(changed.opt_state.hyperparams["learning_rate"]), 0.05)
    self.assertAlmostEqual(float(changed.opt_state.hyperparams["momentum"]), 0.5)
    np.testing.assert_array_equal(changed.gibbs_schedule.num_gibbs_steps, [1, 7])
    np.testing.assert_array_equal(changed.gibbs_schedule.starts, [0, 20])
    config.train.gibbs_schedule = ((20, 7), (30, 9))
    with self.assertRaisesRegex(ValueError, "must keep its 1 entries"):
      loop.apply_config(state, config)

  def test_a_torn_last_metrics_line_is_dropped_and_others_are_named(self):
    path = os.path.join(self.create_tempdir().full_path, "metrics.jsonl")
    with open(path, "w") as f:
      f.write('{"step": 10}\n{"step": 20}\n{"step": 30, "rec')
    workdirs.truncate_metrics(path, 20)
    with open(path) as f:
      self.assertEqual(f.read(), '{"step": 10}\n{"step": 20}\n')
    with open(path, "w") as f:
      f.write('{"step": 10}\ngarbage\n{"step": 30}\n')
    with self.assertRaisesRegex(ValueError, "metrics.jsonl, line 2, is not"):
      workdirs.truncate_metrics(path, 30)

  def test_a_gaussian_rnnrbm_trains_on_real_valued_data_and_keeps_its_scaling(self):
    from configs import arm  # pylint: disable=g-import-not-at-top
    config = arm.get_config()
    config.model.kind = "rnnrbm"
    config.model.num_hidden = 12
    config.model.num_recurrent = 8
    config.data.num_frames = 10
    config.data.num_train = 20
    config.data.num_test = 4
    config.data.window_stride = 10
    config.train.update(num_steps=20, log_every=10, checkpoint_every=20)
    config.eval.update(every=20, num_sequences=4, num_gibbs_steps=5, prime_frames=3,
                       generate_frames=4)
    workdir = self.create_tempdir().full_path
    state = loop.train_and_evaluate(config, workdir)
    self.assertEqual(state.params.w_uu.shape, (8, 8))
    standardizer = np.load(os.path.join(workdir, "standardizer.npz"))
    self.assertEqual(standardizer["mean"].shape, (20,))
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      last = [json.loads(line) for line in f][-1]
    self.assertTrue(np.isfinite(last["heldout_next_frame_error"]))

  @parameterized.parameters("fixed", "simulator")
  def test_the_train_figure_is_the_held_out_protocol_on_training_sequences(
      self, train_source):
    config = helpers.small_config()
    config.data.train_source = train_source
    setup_ = loop.setup(config)
    params = loop.initial_state(config, setup_.model, setup_.optimizer,
                              setup_.pretrain_optimizer).params
    figures = programs.make_programs(setup_, swept=False).evaluate(params)
    expected = prediction.next_frame_prediction_error(
        setup_.model, params, jnp.asarray(setup_.dataset.train[:6]),
        jax.random.key(config.seed + 1), config.eval.num_gibbs_steps)
    train_error = figures["train"]["next_frame_error"]
    np.testing.assert_allclose(train_error["mean"], expected.mean, rtol=1e-5)
    np.testing.assert_allclose(train_error["standard_error"],
                               expected.standard_error, rtol=1e-5)
    record = records.evaluation_record(figures)
    self.assertEqual(record["train_next_frame_error"], float(train_error["mean"]))
    self.assertNotEqual(record["train_next_frame_error"],
                        record["heldout_next_frame_error"])

  def test_a_run_from_before_train_source_resumes_and_a_switch_needs_the_flag(self):
    workdir = self.create_tempdir().full_path
    stored = json.loads(helpers.small_config().to_json())
    del stored["data"]["train_source"]  # config.json of a run before the field
    with open(os.path.join(workdir, "config.json"), "w") as f:
      json.dump(stored, f)
    self.assertEqual(
        workdirs.check_resume(workdir, helpers.small_config(), 40, False), {})
    config = helpers.small_config()
    config.data.train_source = "simulator"
    with self.assertRaisesRegex(ValueError, "made with another config: "
                                "data.train_source 'fixed' -> 'simulator'"):
      workdirs.check_resume(workdir, config, 40, False)
    self.assertEqual(workdirs.check_resume(workdir, config, 40, True),
                     {"data.train_source": ("fixed", "simulator")})

  def test_the_simulator_is_refused_for_data_it_cannot_draw(self):
    config = helpers.small_config()
    config.data.name = "arm"
    config.data.train_source = "simulator"
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(
        ValueError, "config.data.train_source='simulator' is not accepted: 'fixed' "
        "for data.name='arm' \\(it has no simulator; these have: "
        "data.name='bouncing_balls'\\)\\.$"):
      loop.train_and_evaluate(config, workdir)
    self.assertFalse(os.path.exists(workdir))

  def test_data_of_the_wrong_width_is_rejected_before_anything_is_written(self):
    config = helpers.small_config()
    config.model.num_visible = 100
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(ValueError, "config.model.num_visible=100.*36 units"):
      loop.train_and_evaluate(config, workdir)
    self.assertFalse(os.path.exists(workdir))


def _restore_step(workdir, options, state, step):
  """(manager, the state of `workdir`'s checkpoint at `step`)."""
  manager = ocp.CheckpointManager(checkpoints.directory(workdir), options=options)
  return manager, manager.restore(step, args=ocp.args.StandardRestore(state))


class CommandLineTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path

  def test_a_bad_config_exits_non_zero_and_leaves_checkpoints_untouched(self):
    workdir = self.create_tempdir().full_path
    finished = _cli(workdir, self.cache_dir)
    self.assertEqual(finished.returncode, 0, finished.stderr[-2000:])
    before = _tree_digest(workdir)
    failed = _cli(workdir, self.cache_dir, "--config.optimizer.learning_rate=-1")
    self.assertNotEqual(failed.returncode, 0)
    self.assertIn("error: config.optimizer.learning_rate=-1.0 is not accepted: a "
                  "finite learning rate > 0.", failed.stderr)
    self.assertEqual(_tree_digest(workdir), before)

  def test_a_run_killed_and_resumed_ends_bit_identical_to_an_unstopped_one(self):
    reference = self.create_tempdir().full_path
    self.assertEqual(_cli(reference, self.cache_dir).returncode, 0)

    workdir = self.create_tempdir().full_path
    process = _cli(workdir, self.cache_dir, "--config.train.log_every=10",
                   wait=False)
    checkpoints = os.path.join(workdir, "checkpoints")
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
      done = [d for d in os.listdir(checkpoints) if d.isdigit()] if os.path.isdir(
          checkpoints) else []
      if any(int(d) >= 40 for d in done):
        break
      time.sleep(0.05)
    self.assertIsNone(process.poll(), "the run finished before it could be killed")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    self.assertFalse(os.path.exists(os.path.join(workdir, "params.npz")))

    resumed = _cli(workdir, self.cache_dir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    self.assertIn("Resumed from the checkpoint", resumed.stderr)
    expected = np.load(os.path.join(reference, "params.npz"))
    actual = np.load(os.path.join(workdir, "params.npz"))
    for name in expected.files:
      np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      steps = [json.loads(line)["step"] for line in f]
    self.assertEqual(steps, sorted(set(steps)))


def _one_line_error(test, finished, expected):
  """The CLI failed with exactly one line naming `expected`, and no traceback."""
  test.assertNotEqual(finished.returncode, 0)
  test.assertNotIn("Traceback", finished.stderr)
  errors = [line for line in finished.stderr.splitlines()
            if "error" in line.lower() and not line.startswith("I")]
  test.assertLen(errors, 1, finished.stderr[-2000:])
  test.assertTrue(errors[0].startswith("error: "), errors[0])
  test.assertRegex(errors[0], expected)


def _evaluate_cli(workdir, cache_dir, *flags_):
  command = [sys.executable, "-m", "experiments.evaluate", f"--workdir={workdir}",
             *flags_]
  env = dict(os.environ, RTRBM_JAX_CACHE=str(cache_dir))
  return subprocess.run(command, cwd=_REPO, env=env, capture_output=True,
                        text=True, timeout=300)


class FaultsTest(parameterized.TestCase):
  """Faults around a finished run, through the real CLI (issue 12's cases).

  One finished run is made for the class; each test works on a copy of it.
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.cache_dir = os.path.join(cls.root, "cache")
    cls.finished = os.path.join(cls.root, "finished")
    done = _cli(cls.finished, cls.cache_dir)
    assert done.returncode == 0, done.stderr[-2000:]

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  def copy(self):
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(self.finished, workdir)
    return workdir

  def params(self, workdir):
    with np.load(os.path.join(workdir, "params.npz")) as stored:
      return {name: stored[name] for name in stored.files}

  def test_a_changed_hyperparameter_is_refused_naming_the_field(self):
    workdir = self.copy()
    before = _tree_digest(workdir)
    failed = _cli(workdir, self.cache_dir, "--config.optimizer.learning_rate=0.05")
    _one_line_error(self, failed, "was made with another config: "
                    "optimizer.learning_rate 0.01 -> 0.05.*--allow_config_change")
    self.assertEqual(_tree_digest(workdir), before)

  def test_a_finished_run_takes_no_change_that_no_update_would_use(self):
    workdir = self.copy()
    failed = _cli(workdir, self.cache_dir, "--config.optimizer.learning_rate=0.05",
                  "--allow_config_change")
    _one_line_error(self, failed, "has finished .80 updates.: no update would use")

  def test_fewer_steps_than_done_are_refused_even_when_changes_are_allowed(self):
    workdir = self.copy()
    failed = _cli(workdir, self.cache_dir, "--config.train.num_steps=40",
                  "--allow_config_change")
    _one_line_error(self, failed, "config.train.num_steps=40 is not accepted: the "
                    "run .* has done 80 updates")

  def test_sizes_never_change_on_resume(self):
    workdir = self.copy()
    failed = _cli(workdir, self.cache_dir, "--config.model.num_hidden=8",
                  "--allow_config_change")
    _one_line_error(self, failed, "cannot take a change of model.num_hidden")

  def test_an_allowed_change_is_applied_recorded_and_written_to_config_json(self):
    workdir = self.copy()
    resumed = _cli(workdir, self.cache_dir, "--config.train.num_steps=80",
                   "--config.optimizer.learning_rate=0.05",
                   "--allow_config_change")
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
    change = [r for r in records if "config_change" in r]
    self.assertEqual(change, [{"step": 80, "config_change": {
        "optimizer.learning_rate": {"from": 0.01, "to": 0.05},
        "train.num_steps": {"from": 60, "to": 80}}}])
    self.assertEqual(records[-1]["step"], 100)
    with open(os.path.join(workdir, "config.json")) as f:
      stored = json.load(f)
    self.assertEqual(stored["optimizer"]["learning_rate"], 0.05)
    self.assertEqual(stored["train"]["num_steps"], 80)
    # The same command again is the same config: it resumes without a word.
    again = _cli(workdir, self.cache_dir, "--config.train.num_steps=80",
                 "--config.optimizer.learning_rate=0.05")
    self.assertEqual(again.returncode, 0, again.stderr[-2000:])

  @parameterized.named_parameters(
      ("truncated_array", "default/ocdbt.process_0/d", "truncate"),
      ("emptied_metadata", "default/_METADATA", "empty"),
      ("deleted_item", "default", "delete"),
  )
  def test_a_damaged_latest_checkpoint_is_set_aside_and_an_older_one_used(
      self, target, how):
    workdir = self.copy()
    os.remove(os.path.join(workdir, "params.npz"))
    path = os.path.join(workdir, "checkpoints", "80", target)
    if how == "truncate":
      for name in os.listdir(path):
        os.truncate(os.path.join(path, name), 10)
    elif how == "empty":
      open(path, "w").close()
    else:
      shutil.rmtree(path)
    resumed = _cli(workdir, self.cache_dir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    self.assertRegex(resumed.stderr, "The checkpoint at step 80 does not restore "
                     ".*; moved it to .*damaged_checkpoints/80 and resumed from "
                     "step 60")
    self.assertTrue(os.path.isdir(os.path.join(workdir, "damaged_checkpoints",
                                               "80")))
    expected, actual = self.params(self.finished), self.params(workdir)
    for name in expected:
      np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)

  def test_a_torn_last_metrics_line_does_not_stop_a_resume(self):
    workdir = self.copy()
    path = os.path.join(workdir, "metrics.jsonl")
    with open(path, "a") as f:
      f.write('{"step": 90, "phase": "tr')
    resumed = _cli(workdir, self.cache_dir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    self.assertIn("Dropped the torn last line", resumed.stderr)
    with open(path) as f:
      steps = [json.loads(line)["step"] for line in f]
    self.assertEqual(steps[-1], 80)

  def test_a_second_run_on_a_held_workdir_exits_at_once_naming_the_holder(self):
    workdir = self.copy()
    with workdirs.workdir_lock(workdir):
      failed = _cli(workdir, self.cache_dir)
    _one_line_error(self, failed, f"is in use by another run \\(pid {os.getpid()} "
                    "on host ")
    self.assertFalse(os.path.exists(os.path.join(workdir, workdirs.LOCK_FILE)))

  def test_the_lock_of_a_dead_run_is_taken_over(self):
    workdir = self.copy()
    with open(os.path.join(workdir, workdirs.LOCK_FILE), "w") as f:
      f.write("pid 999999 on host gone\n")
    resumed = _cli(workdir, self.cache_dir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-2000:])
    self.assertIn("Took over the lock of a run that ended without releasing it "
                  "(pid 999999 on host gone)", resumed.stderr)

  @parameterized.parameters(0, -1)
  def test_evaluate_rejects_num_gibbs_steps_below_one(self, num_gibbs_steps):
    workdir = self.copy()
    failed = _evaluate_cli(workdir, self.cache_dir,
                           f"--num_gibbs_steps={num_gibbs_steps}")
    _one_line_error(self, failed, f"num_gibbs_steps={num_gibbs_steps} is not "
                    "accepted: an integer in \\[1, ")
    self.assertFalse(os.path.exists(os.path.join(workdir, "eval_test.json")))

  @parameterized.parameters("params.npz", "config.json")
  def test_evaluate_names_a_truncated_file(self, name):
    workdir = self.copy()
    path = os.path.join(workdir, name)
    os.truncate(path, os.path.getsize(path) // 2)
    failed = _evaluate_cli(workdir, self.cache_dir)
    _one_line_error(self, failed, f"{name} is damaged")


class CommandLineErrorsTest(parameterized.TestCase):
  """Bad input to the CLI ends in one line and exit 1, never a traceback."""

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path

  @parameterized.named_parameters(
      ("unknown_field", ["--config.train.num_step=5"],
       "config.train has no field 'num_step'; did you mean "
       "--config.train.num_steps\\?"),
      ("schedule_int", ["--config.train.gibbs_schedule=5"], "a tuple of pairs"),
      ("schedule_pair", ["--config.train.gibbs_schedule=(100,5)"],
       "a tuple of pairs"),
      ("seed", ["--config.seed=9223372036854775807"], "config.seed="),
      ("adam_eps", ["--config.optimizer.name=adam", "--config.optimizer.eps=-1"],
       "config.optimizer.eps=-1.0"),
  )
  def test_bad_overrides(self, overrides, expected):
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    _one_line_error(self, _cli(workdir, self.cache_dir, *overrides), expected)
    self.assertFalse(os.path.exists(workdir))

  def test_a_mistyped_config_string(self):
    env = dict(os.environ, RTRBM_JAX_CACHE=self.cache_dir)
    failed = subprocess.run(
        [sys.executable, "-m", "experiments.train",
         "--config=configs/polyphonic.py:jsb",
         f"--workdir={self.create_tempdir().full_path}"],
        cwd=_REPO, env=env, capture_output=True, text=True, timeout=300)
    _one_line_error(self, failed, "polyphonic.py:jsb: config string 'jsb' is not "
                    "accepted: SET,MODEL with SET one of")

  def test_a_workdir_that_is_a_file(self):
    path = self.create_tempfile().full_path
    _one_line_error(self, _cli(path, self.cache_dir), "is a file, not a directory")

  @absltest.skipIf(os.geteuid() == 0, "root may write to read-only directories")
  def test_a_read_only_workdir(self):
    parent = self.create_tempdir().full_path
    os.chmod(parent, 0o500)
    self.addCleanup(os.chmod, parent, 0o700)
    _one_line_error(self, _cli(os.path.join(parent, "run"), self.cache_dir),
                    "is not writable")

  @parameterized.named_parameters(
      ("empty_pickle", "piano_rolls", "x.pickle", b"", "not a readable pickle"),
      ("garbage_pickle", "piano_rolls", "x.pickle", b"\x80\x04garbage",
       "not a readable pickle"),
      ("empty_npy", "arrays", "x.npy", b"", "not a readable numpy file"),
  )
  def test_bad_data_files(self, name, filename, content, expected):
    path = os.path.join(self.create_tempdir().full_path, filename)
    with open(path, "wb") as f:
      f.write(content)
    config = "polyphonic.py" if name == "piano_rolls" else "arm.py"
    env = dict(os.environ, RTRBM_JAX_CACHE=self.cache_dir)
    failed = subprocess.run(
        [sys.executable, "-m", "experiments.train", f"--config=configs/{config}",
         f"--config.data.name={name}", f"--config.data.path={path}",
         f"--workdir={self.create_tempdir().full_path}"],
        cwd=_REPO, env=env, capture_output=True, text=True, timeout=300)
    _one_line_error(self, failed, expected)


class OptimizerTest(chex.TestCase):
  """The numbers of the pieces of a train step: optimizer, schedules, batches."""

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters("sgd", "adam")
  def test_every_optimizer_builds_and_takes_a_step(self, name):
    config = helpers.small_config()
    config.optimizer.name = name
    config.optimizer.weight_decay = 1e-3
    config.optimizer.clip_norm = 1.0
    optimizer = optimizers.make_optimizer(config.optimizer, 100)
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones((2,))}
    updates, _ = self.variant(optimizer.update)(
        jax.tree.map(jnp.zeros_like, params), optimizer.init(params), params)
    # Weight decay acts on the matrix only.
    self.assertLess(float(jnp.max(updates["w"])), 0.0)
    np.testing.assert_array_equal(updates["b"], 0.0)

  @chex.variants(with_jit=True, without_jit=True)
  def test_linear_schedule_decays_to_zero_after_warmup(self):
    config = helpers.small_config().optimizer
    config.schedule = "linear"
    config.warmup_steps = 10
    schedule = self.variant(optimizers.learning_rate_schedule(config, 110))
    self.assertAlmostEqual(float(schedule(0)), 0.0)
    self.assertAlmostEqual(float(schedule(10)), config.learning_rate)
    self.assertAlmostEqual(float(schedule(60)), config.learning_rate / 2, places=6)
    self.assertAlmostEqual(float(schedule(110)), 0.0)

  @chex.variants(with_jit=True, without_jit=True)
  def test_gibbs_schedule_switches_at_the_given_updates(self):
    config = helpers.small_config().train
    config.num_gibbs_steps = 5
    config.gibbs_schedule = ((100, 10), (1000, 25))
    schedule = steps.gibbs_schedule(config.num_gibbs_steps, config.gibbs_schedule)
    np.testing.assert_array_equal(schedule.starts, [0, 100, 1000])
    np.testing.assert_array_equal(schedule.num_gibbs_steps, [5, 10, 25])
    gibbs_steps_at = self.variant(steps.gibbs_steps_at)
    values = [int(gibbs_steps_at(schedule, jnp.int32(u)))
              for u in (0, 99, 100, 999, 1000, 5000)]
    self.assertEqual(values, [5, 5, 10, 10, 25, 25])

  @chex.variants(with_jit=True, without_jit=True)
  def test_a_run_without_a_schedule_keeps_its_k(self):
    config = helpers.small_config().train
    config.num_gibbs_steps = 4
    config.gibbs_schedule = ()
    schedule = steps.gibbs_schedule(config.num_gibbs_steps, config.gibbs_schedule)
    gibbs_steps_at = self.variant(steps.gibbs_steps_at)
    self.assertEqual([int(gibbs_steps_at(schedule, jnp.int32(u)))
                      for u in (0, 1, 10**6)], [4, 4, 4])

  def test_fresh_batches_differ_between_updates_and_repeat_for_the_same_update(self):
    config = helpers.small_config()
    config.data.train_source = "simulator"
    sampler = datasets.fresh_batch_sampler(config.data, 4)

    def checksum_step(state, batch, key):
      del key
      chex.assert_shape(batch, (4, 8, 36))
      weights = jnp.arange(batch.size, dtype=batch.dtype).reshape(batch.shape)
      return state._replace(step=state.step + 1), {
          "checksum": jnp.sum(weights * batch), "finite": jnp.float32(1)}

    run_steps = steps.make_run_steps(checksum_step, 4, fresh_batches=sampler)

    def checksum(seed, update):
      state = steps.TrainState(
          step=jnp.int32(update), params=None, opt_state=None,
          pretrain_opt_state=None, key=jax.random.key_data(jax.random.key(seed)),
          gibbs_schedule=None, chains=None)
      return float(run_steps(state, None, 1)[1]["checksum"])

    self.assertEqual(checksum(0, 5), checksum(0, 5))
    self.assertNotEqual(checksum(0, 5), checksum(0, 6))
    self.assertNotEqual(checksum(0, 5), checksum(1, 5))
    self.assertIsNone(datasets.fresh_batch_sampler(helpers.small_config().data, 4))

  @chex.variants(with_jit=True, without_jit=True)
  def test_every_epoch_visits_each_sequence_once(self):
    data = jnp.arange(12.0).reshape(12, 1, 1)
    key = jax.random.key(0)
    sample_batch = self.variant(steps.sample_batch, static_argnums=3)
    for epoch in range(2):
      seen = jnp.concatenate([
          sample_batch(data, key, jnp.int32(4 * epoch + i), 3)
          for i in range(4)]).reshape(-1)
      np.testing.assert_array_equal(jnp.sort(seen), jnp.arange(12.0))


if __name__ == "__main__":
  absltest.main()
