"""What data parallelism keeps of a one-device run (4 simulated CPU devices).

Not the numbers bit for bit: the gradient all-reduce sums in another order, and
CD's sampled states flip wherever a probability lands within rounding of its
uniform draw, after which the runs drift apart (tiny.py with batches of 8: 1e-6
after 100 updates, 0.13 after 500, max abs parameter difference). What holds,
and is tested here: the same batches and keys, and the same update up to float
rounding.
"""

import os
import subprocess
import sys
import textwrap

from absl.testing import absltest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    import jax, jax.numpy as jnp, numpy as np
    from rtrbm_jax.training import loop
    from rtrbm_jax.training import programs as programs_lib
    from rtrbm_jax.training import steps
    from tests import helpers
    assert jax.device_count() == 4, jax.devices()

    def first_update(parallelism):
      config = helpers.small_config()
      config.pretrain.num_steps = 0
      config.train.parallelism = parallelism
      setup_ = loop.setup(config)
      state = loop.initial_state(config, setup_.model, setup_.optimizer,
                                 setup_.pretrain_optimizer)
      batch_sharding, state_sharding = loop._mesh_shardings(config)
      programs = programs_lib.make_programs(setup_, False, batch_sharding)
      data = jnp.asarray(setup_.dataset.train)
      key = jax.random.split(jax.random.wrap_key_data(state.key))[1]
      batch = jax.jit(lambda data: steps.sample_batch(data, key, 7, 4)
                      if batch_sharding is None else
                      jax.lax.with_sharding_constraint(
                          steps.sample_batch(data, key, 7, 4), batch_sharding))(data)
      state, metrics = programs.run_train(jax.device_put(state, state_sharding),
                                          data, 1)
      return np.asarray(batch), state.params, metrics

    one_batch, one_params, one_metrics = first_update("none")
    four_batch, four_params, four_metrics = first_update("data")
    np.testing.assert_array_equal(four_batch, one_batch)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5,
                                                         atol=1e-7),
                 four_params, one_params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5),
                 four_metrics, one_metrics)
    print("FIRST_UPDATE_OK")
""")


class DataParallelismTest(absltest.TestCase):

  def test_data_parallel_batches_are_the_same_and_one_update_agrees_to_rounding(
      self):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               RTRBM_JAX_CACHE=self.create_tempdir("cache").full_path)
    finished = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(repo=_REPO)], cwd=_REPO, env=env,
        capture_output=True, text=True, timeout=300)
    self.assertIn("FIRST_UPDATE_OK", finished.stdout, finished.stderr[-3000:])


if __name__ == "__main__":
  absltest.main()
