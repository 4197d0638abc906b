"""Progress lines and ETAs leave compilation out and count evaluations."""

from absl.testing import absltest
from absl.testing import parameterized

from rtrbm_jax import progress


class _Clock:

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


class ProgressTest(parameterized.TestCase):

  def test_the_eta_ignores_the_compiling_first_update(self):
    clock = _Clock()
    counter = progress.Progress("work", total=10, clock=clock)
    clock.now = 30.0  # compilation and the first item
    counter.update(1, compiling=True)
    self.assertIsNone(counter.eta())
    clock.now = 34.0  # two items in 4 s
    counter.update(2)
    self.assertEqual(counter.eta(), 14.0)
    self.assertIn("work: 3/10 items", counter.line())
    self.assertIn("ETA 0:00:14", counter.line())

  def test_training_eta_counts_updates_and_evaluations_but_not_compilation(self):
    eta = progress.TrainingEta(pretrain_steps=100, total_steps=300, eval_every=100,
                               log_every=50)
    eta.record_chunk("pretrain", 50, 20.0)  # compiles
    eta.record_eval(10.0)  # compiles
    self.assertIsNone(eta.remaining_seconds(50))
    self.assertIn("not timed yet", eta.describe(50))
    eta.record_chunk("pretrain", 50, 1.0)
    eta.record_eval(0.5)
    eta.record_chunk("train", 50, 30.0)  # compiles
    eta.record_chunk("train", 50, 2.0)
    # At 200: 100 train updates at 0.04 s, evaluations at 300 only: 0.5 s.
    self.assertAlmostEqual(eta.remaining_seconds(200), 4.5)
    self.assertEqual(eta.describe(200), "ETA 0:00:04")
    self.assertEqual(eta.remaining_seconds(300), 0.0)

  @parameterized.parameters((3725, "1:02:05"), (None, "?"), (float("inf"), "?"))
  def test_format_seconds(self, seconds, expected):
    self.assertEqual(progress.format_seconds(seconds), expected)


if __name__ == "__main__":
  absltest.main()
