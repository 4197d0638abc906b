"""Tests of the benchmark's pieces and of its CLI, on tiny sizes (seconds)."""

import inspect
import json
import os
import subprocess
import sys
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from configs import tiny
from experiments import benchmarking
from experiments import flop_counts
from experiments import naive_port
import rtrbm_jax as rj
from tests import helpers


# The RTRBM's functions with only its parts bound (`helpers.RTRBM`).
RTRBM = helpers.RTRBM

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FlopCountTest(chex.TestCase):

  def test_flop_count_matches_a_hand_count(self):
    # B = 2, T = 3 (N = 6 frames, 4 transitions), nv = 5, nh = 4, k = 2.
    count = flop_counts.cd_gradient_flops(2, 3, 5, 4, 2)
    self.assertEqual(count, flop_counts.FlopCount(
        forward_input=2 * 6 * 5 * 4,            # 240
        recurrence=2 * 4 * 4 * 4,               # 128
        gibbs_chain=2 * 2 * (2 * 6 * 5 * 4),    # 960
        reverse_scan=2 * 4 * 4 * 4,             # 128
        weight_gradients=2 * (2 * 6 * 5 * 4) + 2 * 4 * 4 * 4))  # 608
    self.assertEqual(count.total, 2064)

  def test_a_workload_lists_the_sizes_in_the_order_the_counts_take_them(self):
    for function in (flop_counts.cd_gradient_flops,
                     benchmarking.make_matmul_ceiling):
      self.assertEqual(list(inspect.signature(function).parameters)[:5],
                       list(benchmarking.Workload._fields), function.__name__)
    config = tiny.get_config()
    self.assertEqual(benchmarking.workload_of(config), benchmarking.Workload(
        batch_size=config.train.batch_size, num_frames=config.data.num_frames,
        num_visible=config.model.num_visible, num_hidden=config.model.num_hidden,
        num_gibbs_steps=config.train.num_gibbs_steps))

  @parameterized.parameters((2, 3, 5, 4, 2), (1, 7, 9, 3, 5))
  def test_matmul_ceiling_does_exactly_the_counted_products(
      self, batch_size, num_frames, num_visible, num_hidden, num_gibbs_steps):
    count = flop_counts.cd_gradient_flops(batch_size, num_frames, num_visible,
                                           num_hidden, num_gibbs_steps)
    run, operands = benchmarking.make_matmul_ceiling(
        batch_size, num_frames, num_visible, num_hidden, num_gibbs_steps)
    self.assertEqual(
        flop_counts.count_dot_flops(lambda operands: run(operands, 3), operands),
        3 * count.total)
    chex.assert_tree_all_finite(run(operands, 3))

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_traces_the_counted_products_and_documented_extras(self):
    """The count omits what the gradient need not do (and XLA merges, see README).

    The scans also multiply at the sequence's ends (c_{T+1} forward, a zero
    message backward), and the free-energy gap recomputes v @ w_vh for the data and
    the chain's last sample. Jitted, the gradient traces to one `jit` equation
    whose inner jaxpr holds the products; the count must see through it.
    """
    batch_size, num_frames, num_visible, num_hidden, num_gibbs_steps = 2, 3, 5, 4, 2
    params = rj.rtrbm.init_params(jax.random.key(0), num_visible, num_hidden)
    v = jnp.zeros((batch_size, num_frames, num_visible))
    traced = flop_counts.count_dot_flops(
        self.variant(lambda params, v, key: RTRBM.cd_gradient(params, v, key,
                                                           num_gibbs_steps)),
        params, v, jax.random.key(1))
    count = flop_counts.cd_gradient_flops(batch_size, num_frames, num_visible,
                                           num_hidden, num_gibbs_steps)
    ends = 2 * (2 * batch_size * num_hidden * num_hidden)
    free_energy_gap = 2 * (2 * batch_size * num_frames * num_visible * num_hidden)
    self.assertEqual(traced, count.total + ends + free_energy_gap)

  def test_count_dot_flops_rejects_a_while_loop(self):
    with self.assertRaisesRegex(ValueError, "cannot count a while_loop"):
      flop_counts.count_dot_flops(
          lambda n, x: jax.lax.fori_loop(0, n, lambda i, y: y @ y, x), 3,
          jnp.eye(2))


class TimeCallTest(absltest.TestCase):

  def test_time_call_reports_the_median_of_its_repeats(self):
    calls = []
    timing = benchmarking.time_call(lambda x: calls.append(x) or x, jnp.ones(2),
                                    repeats=3, warmup=2)
    self.assertLen(calls, 5)
    self.assertLen(timing.seconds, 3)
    self.assertEqual(timing.median, sorted(timing.seconds)[1])

  def test_time_call_rejects_no_repeats(self):
    with self.assertRaisesRegex(ValueError, "repeats must be >= 1"):
      benchmarking.time_call(lambda: None, repeats=0)


class NaivePortTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=2, num_frames=4, num_visible=5, num_hidden=3),
      dict(batch_size=1, num_frames=3, num_visible=3, num_hidden=4),
  )
  def test_naive_port_with_exact_statistics_is_the_exact_gradient_in_float64(
      self, batch_size, num_frames, num_visible, num_hidden):
    with helpers.float64():
      params = helpers.randomize(
          rj.rtrbm.init_params(jax.random.key(0), num_visible, num_hidden),
          jax.random.key(1), 0.8, jnp.float64)
      v = helpers.random_binary(jax.random.key(2),
                                (batch_size, num_frames, num_visible), jnp.float64)
      naive_cd_gradient = self.variant(naive_port.naive_cd_gradient,
                                       static_argnums=3,
                                       static_argnames="negative_phase")
      naive = naive_cd_gradient(params, v, jax.random.key(3), 1,
                                negative_phase=naive_port.exact_negative_phase)
      error = helpers.relative_error(naive, jax.jit(RTRBM.exact_gradient)(params, v))
      print(f"naive port (exact statistics) vs RTRBM.exact_gradient: {error:.2e}")
      self.assertLess(error, 1e-10)

  @chex.variants(with_jit=True, without_jit=True)
  def test_naive_cd_gradient_is_a_finite_gradient_of_the_parameters_form(self):
    params = helpers.randomize(rj.rtrbm.init_params(jax.random.key(0), 6, 4),
                               jax.random.key(1))
    v = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    naive_cd_gradient = self.variant(naive_port.naive_cd_gradient,
                                     static_argnums=(3, 4))
    for sampler in ("uniform", "fused_threefry"):
      gradient = naive_cd_gradient(params, v, jax.random.key(3), 2, sampler)
      chex.assert_trees_all_equal_shapes_and_dtypes(gradient, params)
      chex.assert_tree_all_finite(gradient)

  def test_naive_cd_gradient_rejects_a_chain_it_cannot_unroll(self):
    params = rj.rtrbm.init_params(jax.random.key(0), 4, 3)
    with self.assertRaisesRegex(ValueError, "num_gibbs_steps must be a Python int"):
      naive_port.naive_cd_gradient(params, jnp.zeros((1, 2, 4)),
                                     jax.random.key(1), 0)

  def test_gibbs_negative_phase_hashes_by_value(self):
    """Jitted frame functions take it as a static argument: equal means cached."""
    self.assertEqual(hash(naive_port.GibbsNegativePhase(5, "uniform")),
                     hash(naive_port.GibbsNegativePhase(5, "uniform")))


class BenchmarkCliTest(absltest.TestCase):

  def test_cli_writes_the_table_as_json(self):
    with tempfile.TemporaryDirectory() as directory:
      output = os.path.join(directory, "benchmark.json")
      result = subprocess.run(
          [sys.executable, "-m", "experiments.benchmark", "--configs=tiny",
           "--repeats=1", "--sweep_points=2", "--chunk_seconds=0",
           f"--output={output}"],
          cwd=_REPO, capture_output=True, text=True, timeout=300,
          env=dict(os.environ, JAX_PLATFORMS="cpu"))
      self.assertEqual(result.returncode, 0, result.stderr[-2000:])
      self.assertIn("| config |", result.stdout)
      with open(output) as f:
        written = json.load(f)
    self.assertIn("device", written)
    (row,) = written["rows"]
    self.assertEqual(row["name"], "tiny")
    self.assertEqual(row["sampler"], "fused_threefry")
    self.assertEqual(row["sweep_points"], 2)
    for _, field, _ in benchmarking.TABLE_COLUMNS:
      self.assertIn(field, row)
    for field in ("frames_per_second", "gflops", "ceiling_gflops",
                  "fraction_of_ceiling", "naive_frames_per_second",
                  "speedup_over_naive", "sweep_efficiency", "compile_seconds"):
      self.assertTrue(np.isfinite(row[field]) and row[field] > 0, field)

  def test_cli_rejects_an_unknown_config(self):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--configs=huge"],
        cwd=_REPO, capture_output=True, text=True, timeout=300)
    self.assertEqual(result.returncode, 1)
    self.assertIn("--configs: unknown setup 'huge'", result.stderr)


if __name__ == "__main__":
  absltest.main()
