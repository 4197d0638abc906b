"""Tests of vmapped sweeps and of sharding over (simulated) devices."""

import json
import os
import subprocess
import sys
import textwrap

from absl.testing import absltest
import chex
import jax
import numpy as np

from rtrbm_jax.data import datasets
from rtrbm_jax.training import loop
from rtrbm_jax.training import steps
from rtrbm_jax.training import sweep
from tests import helpers

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sweep_config():
  config = helpers.small_config()
  config.sweep = dict(learning_rate=(0.01, 0.05), num_gibbs_steps=(1, 3),
                      seed=(0, 7))
  return config


class _Interrupt(Exception):
  pass


class SweepTest(chex.TestCase):

  def setUp(self):
    super().setUp()
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path

  def test_points_are_the_grid_of_the_swept_values(self):
    points = sweep.sweep_points(sweep_config())
    self.assertLen(points, 8)
    self.assertEqual(points[0], dict(learning_rate=0.01, seed=0, num_gibbs_steps=1))
    self.assertEqual(points[-1], dict(learning_rate=0.05, seed=7, num_gibbs_steps=3))

  def test_unknown_or_empty_sweep_fields_are_named(self):
    config = sweep_config()
    config.sweep.batch_size = (1, 2)
    with self.assertRaisesRegex(ValueError, "config.sweep.batch_size is not sweepable"):
      sweep.sweep_points(config)
    config = sweep_config()
    config.sweep.seed = ()
    with self.assertRaisesRegex(ValueError, "config.sweep.seed=.*non-empty tuple"):
      sweep.sweep_points(config)

  def test_each_point_ends_where_a_single_run_with_its_values_does(self):
    config = sweep_config()
    workdir = self.create_tempdir().full_path
    swept = sweep.run_sweep(config, workdir)
    points = sweep.sweep_points(config)
    for index in (0, 5, 7):
      single = loop.train_and_evaluate(sweep.point_config(config, points[index]),
                                        self.create_tempdir().full_path)
      jax.tree.map(
          lambda a, b: np.testing.assert_allclose(a[index], b, rtol=2e-4,
                                                  atol=2e-6),
          swept.params, single.params)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      last = [json.loads(line) for line in f][-8:]
    self.assertEqual([r["point"] for r in last], list(range(8)))
    self.assertEqual([r["num_gibbs_steps"] for r in last], [1, 3] * 4)
    for name in ("results.txt", "curves.png", "points.json", "params.npz"):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)
    self.assertEqual(np.load(os.path.join(workdir, "params.npz"))["w_vh"].shape,
                     (8, 36, 16))

  def test_points_run_in_groups_end_where_points_run_all_at_once_do(self):
    # Not a chex variant: make_run_steps returns a jitted program either way.
    config = sweep_config()
    points = sweep.sweep_points(config)
    setup_ = loop.setup(sweep.point_config(config, points[0]))
    stacked = sweep.init_sweep_state(config, setup_, points)
    step = steps.make_train_step(setup_.model, setup_.optimizer,
                                 config.pretrain.num_steps)
    data = jax.numpy.asarray(setup_.dataset.train)
    together, _ = steps.make_run_steps(step, 4, swept=True)(stacked, data, 5)
    grouped, _ = steps.make_run_steps(step, 4, swept=True, sweep_group_size=3)(
        stacked, data, 5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                 grouped.params, together.params)

  def test_points_on_fresh_simulated_data_each_draw_their_single_runs_batches(self):
    config = sweep_config()
    config.data.train_source = "simulator"
    config.sweep = dict(seed=(0, 7))
    points = sweep.sweep_points(config)
    setup_ = loop.setup(sweep.point_config(config, points[0]))
    step = steps.make_train_step(setup_.model, setup_.optimizer,
                                 config.pretrain.num_steps)
    sampler = datasets.fresh_batch_sampler(config.data, 4)
    stacked, _ = steps.make_run_steps(step, 4, swept=True, fresh_batches=sampler)(
        sweep.init_sweep_state(config, setup_, points), None, 5)
    run_single = steps.make_run_steps(step, 4, fresh_batches=sampler)
    for index, point in enumerate(points):
      single_config = sweep.point_config(config, point)
      single, _ = run_single(loop.initial_state(
          single_config, setup_.model, setup_.optimizer,
          setup_.pretrain_optimizer), None, 5)
      jax.tree.map(lambda a, b, index=index: np.testing.assert_allclose(
          a[index], b, rtol=1e-4, atol=1e-6), stacked.params, single.params)

  @chex.variants(with_jit=True, without_jit=True)
  def test_the_vmapped_train_step_takes_each_points_single_run_step(self):
    config = sweep_config()
    points = sweep.sweep_points(config)
    setup_ = loop.setup_validated(config)
    # The first update of the temporal model, where the schedule's k is in force.
    after_pretraining = lambda state: state._replace(
        step=state.step + config.pretrain.num_steps)
    stacked = after_pretraining(sweep.init_sweep_state(config, setup_, points))
    batch = jax.numpy.asarray(setup_.dataset.train[:4])
    key = jax.random.key(3)
    swept_step = jax.vmap(
        steps.make_train_step(setup_.model, setup_.optimizer,
                              config.pretrain.num_steps),
        in_axes=(0, None, None))
    swept, swept_metrics = self.variant(swept_step)(stacked, batch, key)
    # Points 0 and 7 differ in every swept value.
    for index in (0, 7):
      single_config = sweep.point_config(config, points[index])
      single_setup = loop.setup(single_config)
      state = after_pretraining(loop.initial_state(
          single_config, single_setup.model, single_setup.optimizer,
          single_setup.pretrain_optimizer))
      single, single_metrics = self.variant(steps.make_train_step(
          single_setup.model, single_setup.optimizer,
          single_config.pretrain.num_steps))(
              state, batch, key)
      jax.tree.map(
          lambda a, b: np.testing.assert_allclose(a[index], b, rtol=2e-4,
                                                  atol=2e-6),
          swept.params, single.params)
      self.assertEqual(float(swept_metrics["num_gibbs_steps"][index]),
                       float(single_metrics["num_gibbs_steps"]))
      self.assertEqual(float(single_metrics["num_gibbs_steps"]),
                       points[index]["num_gibbs_steps"])

  def test_an_interrupted_sweep_resumes_to_the_same_parameters(self):
    config = sweep_config()
    config.sweep = dict(learning_rate=(0.01, 0.05))
    reference = sweep.run_sweep(config, self.create_tempdir().full_path)

    workdir = self.create_tempdir().full_path
    points = sweep.sweep_points(config)
    setup_ = loop.setup_validated(config)

    def describe_then_stop(step, phase, metrics, error):
      if step == 50:
        raise _Interrupt()
      return []

    with self.assertRaises(_Interrupt):
      loop.run_loop(setup_, workdir,
                     sweep.init_sweep_state(config, setup_, points),
                     describe_then_stop, swept=True)
    self.assertEqual(sorted(os.listdir(os.path.join(workdir, "checkpoints"))),
                     ["20", "40", "config.json"])
    resumed = sweep.run_sweep(config, workdir)
    jax.tree.map(np.testing.assert_array_equal, resumed.params, reference.params)


_SHARDED_SCRIPT = textwrap.dedent("""
    import os, sys
    import jax, numpy as np
    sys.path.insert(0, {repo!r})
    from rtrbm_jax.training import loop, sweep
    from tests import helpers, test_sweep
    assert jax.device_count() == 4, jax.devices()
    base = helpers.small_config()
    reference = loop.train_and_evaluate(base, os.path.join({tmp!r}, "one"))
    base.train.parallelism = "data"
    sharded = loop.train_and_evaluate(base, os.path.join({tmp!r}, "data"))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                         atol=1e-6),
                 sharded.params, reference.params)
    config = test_sweep.sweep_config()
    config.sweep = dict(learning_rate=(0.01, 0.02, 0.03, 0.05))
    swept = sweep.run_sweep(config, os.path.join({tmp!r}, "sweep"))
    config.train.parallelism = "sweep"
    split = sweep.run_sweep(config, os.path.join({tmp!r}, "split"))
    assert len(split.params.w_vh.sharding.device_set) == 4
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                         atol=1e-6),
                 split.params, swept.params)
    print("SHARDED_OK")
""")


class ShardingTest(absltest.TestCase):

  def test_data_and_sweep_sharding_over_four_devices_match_one_device(self):
    tmp = self.create_tempdir().full_path
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               RTRBM_JAX_CACHE=self.create_tempdir("cache").full_path)
    finished = subprocess.run(
        [sys.executable, "-c", _SHARDED_SCRIPT.format(repo=_REPO, tmp=tmp)],
        cwd=_REPO, env=env, capture_output=True, text=True, timeout=600)
    self.assertIn("SHARDED_OK", finished.stdout, finished.stderr[-3000:])


if __name__ == "__main__":
  absltest.main()
