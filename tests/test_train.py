"""Tests of the training loop, its workdir, resuming and its guards.

They run the real loop (and the real CLI, in a subprocess) on a very small config.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from absl.testing import absltest
from absl.testing import parameterized
import jax
import jax.numpy as jnp
import numpy as np

from configs import tiny
from rtrbm_jax import train

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_config():
  """tiny.py made smaller still: 6 x 6 pixels, 8 frames, 16 hidden units."""
  config = tiny.get_config()
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


def _cli(workdir, cache_dir, *overrides, wait=True):
  command = [sys.executable, "-m", "experiments.train", "--config=configs/tiny.py",
             f"--workdir={workdir}"] + _overrides(small_config()) + list(overrides)
  env = dict(os.environ, RTRBM_JAX_CACHE=str(cache_dir))
  if wait:
    return subprocess.run(command, cwd=_REPO, env=env, capture_output=True,
                          text=True, timeout=300)
  return subprocess.Popen(command, cwd=_REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def _overrides(config):
  """Command-line overrides turning configs/tiny.py into `config`."""
  flat = []
  for section in ("model", "data", "train", "pretrain", "eval"):
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


class TrainLoopTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.cache_dir = self.create_tempdir("cache").full_path
    os.environ["RTRBM_JAX_CACHE"] = self.cache_dir

  def test_a_run_leaves_its_workdir_complete(self):
    workdir = self.create_tempdir().full_path
    state = train.train_and_evaluate(small_config(), workdir)
    self.assertEqual(int(state.step), 80)
    for name in ("config.json", "metrics.jsonl", "params.npz", "curves.png",
                 "samples.png"):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      records = [json.loads(line) for line in f]
    self.assertEqual([r["step"] for r in records], list(range(10, 81, 10)))
    self.assertEqual({r["phase"] for r in records[:2]}, {"pretrain"})
    self.assertIn("heldout_next_frame_error", records[3])
    self.assertEqual([r.get("num_gibbs_steps") for r in records[2:5]], [1, 1, 3])
    params = np.load(os.path.join(workdir, "params.npz"))
    self.assertEqual(set(params.files), {"w_vh", "w_hh", "b_v", "b_h", "b_init"})
    np.testing.assert_array_equal(params["w_vh"], state.params.w_vh)
    self.assertEqual(sorted(os.listdir(os.path.join(workdir, "checkpoints"))),
                     ["40", "60", "80"])
    with open(os.path.join(workdir, "config.json")) as f:
      self.assertEqual(json.load(f)["model"]["num_hidden"], 16)

  def test_same_config_and_seed_give_the_same_parameters(self):
    first = train.train_and_evaluate(small_config(),
                                     self.create_tempdir().full_path)
    second = train.train_and_evaluate(small_config(),
                                      self.create_tempdir().full_path)
    jax.tree.map(np.testing.assert_array_equal, first.params, second.params)

  @parameterized.parameters("prediction", "persistent")
  def test_other_chain_starts_train_and_resume_bit_identically(self, chain_start):
    config = small_config()
    config.train.chain_start = chain_start
    first = train.train_and_evaluate(config, self.create_tempdir().full_path)
    workdir = self.create_tempdir().full_path
    train.train_and_evaluate(config, workdir)
    # What a run killed after its checkpoint at 60 leaves; it resumes from there.
    shutil.rmtree(os.path.join(workdir, "checkpoints", "80"))
    os.remove(os.path.join(workdir, "params.npz"))
    second = train.train_and_evaluate(config, workdir)
    jax.tree.map(np.testing.assert_array_equal, first, second)
    if chain_start == "persistent":
      # One chain per frame of the batch, left where the last update ended.
      self.assertEqual(first.chains.shape, (4 * 8, 36))
      self.assertTrue(bool(jnp.all((first.chains == 0) | (first.chains == 1))))
    else:
      self.assertIsNone(first.chains)

  def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(self):
    config = small_config()
    config.optimizer.learning_rate = 1e38  # the first temporal update overflows
    workdir = self.create_tempdir().full_path
    with self.assertRaisesRegex(train.NonFiniteError, "NaN or inf.*checkpoint \\(20\\)"):
      train.train_and_evaluate(config, workdir)
    self.assertEqual(os.listdir(os.path.join(workdir, "checkpoints")), ["20"])

  @parameterized.named_parameters(
      ("learning_rate", "optimizer.learning_rate", 0.0, "a learning rate > 0"),
      ("batch_size", "train.batch_size", 0, "an integer >= 1"),
      ("gibbs_steps", "train.num_gibbs_steps", 0, "an integer >= 1"),
      ("optimizer", "optimizer.name", "lbfgs", "one of \\('sgd', 'adam'\\)"),
      ("schedule", "train.gibbs_schedule", ((10, 0),), "pairs \\(update"),
      ("model_kind", "model.kind", "dbn", "one of"),
      ("momentum", "optimizer.momentum", 1.0, "a momentum in \\[0, 1\\)"),
      ("log_multiple", "train.checkpoint_every", 15, "a multiple of"),
  )
  def test_bad_config_values_are_named(self, field, value, accepted):
    config = small_config()
    section, name = field.split(".")
    config[section][name] = value
    with self.assertRaisesRegex(ValueError, f"config.{field}=.*{accepted}"):
      train.train_and_evaluate(config, self.create_tempdir().full_path)

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
    state = train.train_and_evaluate(config, workdir)
    self.assertEqual(state.params.w_uu.shape, (8, 8))
    standardizer = np.load(os.path.join(workdir, "standardizer.npz"))
    self.assertEqual(standardizer["mean"].shape, (20,))
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      last = [json.loads(line) for line in f][-1]
    self.assertTrue(np.isfinite(last["heldout_next_frame_error"]))

  def test_data_of_the_wrong_width_is_rejected_before_anything_is_written(self):
    config = small_config()
    config.model.num_visible = 100
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    with self.assertRaisesRegex(ValueError, "config.model.num_visible=100.*36 units"):
      train.train_and_evaluate(config, workdir)
    self.assertFalse(os.path.exists(workdir))


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
                  "learning rate > 0.", failed.stderr)
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


class OptimizerTest(parameterized.TestCase):

  @parameterized.parameters("sgd", "adam")
  def test_every_optimizer_builds_and_takes_a_step(self, name):
    config = small_config()
    config.optimizer.name = name
    config.optimizer.weight_decay = 1e-3
    config.optimizer.clip_norm = 1.0
    optimizer = train.make_optimizer(config.optimizer, 100)
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones((2,))}
    updates, _ = optimizer.update(jax.tree.map(jnp.zeros_like, params),
                                  optimizer.init(params), params)
    # Weight decay acts on the matrix only.
    self.assertLess(float(jnp.max(updates["w"])), 0.0)
    np.testing.assert_array_equal(updates["b"], 0.0)

  def test_linear_schedule_decays_to_zero_after_warmup(self):
    config = small_config().optimizer
    config.schedule = "linear"
    config.warmup_steps = 10
    schedule = train.learning_rate_schedule(config, 110)
    self.assertAlmostEqual(float(schedule(0)), 0.0)
    self.assertAlmostEqual(float(schedule(10)), config.learning_rate)
    self.assertAlmostEqual(float(schedule(60)), config.learning_rate / 2, places=6)
    self.assertAlmostEqual(float(schedule(110)), 0.0)

  def test_gibbs_schedule_switches_at_the_given_updates(self):
    config = small_config().train
    config.num_gibbs_steps = 5
    config.gibbs_schedule = ((100, 10), (1000, 25))
    values = jnp.asarray([5, 10, 25])
    steps = [int(train.gibbs_steps_at(config, values, jnp.int32(u)))
             for u in (0, 99, 100, 999, 1000, 5000)]
    self.assertEqual(steps, [5, 5, 10, 10, 25, 25])

  def test_every_epoch_visits_each_sequence_once(self):
    data = jnp.arange(12.0).reshape(12, 1, 1)
    key = jax.random.key(0)
    for epoch in range(2):
      seen = jnp.concatenate([
          train.sample_batch(data, key, jnp.int32(4 * epoch + i), 3)
          for i in range(4)]).reshape(-1)
      np.testing.assert_array_equal(jnp.sort(seen), jnp.arange(12.0))


if __name__ == "__main__":
  absltest.main()
