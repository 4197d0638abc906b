"""The results plot: held-out curves against wall-clock time, with baselines."""

import json
import os
import subprocess
import sys

from absl.testing import absltest

from experiments import plot_results
import rtrbm_jax as rj
from rtrbm_jax.training import loop
from tests import helpers

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PlotResultsTest(absltest.TestCase):

  def test_curve_times_count_from_the_start_of_the_first_chunk(self):
    workdir = self.create_tempdir().full_path
    records = [{"step": 10, "steps_per_second": 5.0, "time": 1000.0},
               {"step": 20, "steps_per_second": 5.0, "time": 1062.0,
                "heldout_next_frame_error": 7.5}]
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.writelines(json.dumps(record) + "\n" for record in records)
    minutes, errors = plot_results.held_out_curve(workdir)
    # The first chunk of 10 updates at 5 per second began 2 s before its record.
    self.assertEqual(minutes, [(1062.0 - 998.0) / 60])
    self.assertEqual(errors, [7.5])

  def test_curves_against_updates_count_from_the_end_of_pretraining(self):
    workdir = os.path.join(_REPO, "docs", "runs", "bouncing_balls_k10_40k")
    updates, errors = plot_results.held_out_curve(workdir, x_axis="updates")
    # Records count the 1000 pretraining updates too: evaluated at update 5000
    # of the run (4000 after pretraining), ..., and at its end, 41,000.
    self.assertEqual(updates[0], 4000)
    self.assertEqual(updates[-1], 40_000)
    self.assertLen(errors, len(updates))

  def test_a_warm_started_run_counts_on_from_the_run_it_started_from(self):
    # A run started from bouncing_balls_k10_40k (40,000 updates after its
    # pretraining), itself started afresh.
    workdir = self.create_tempdir().full_path
    config = rj.get_config("bouncing_balls")
    config.init_from = "docs/runs/bouncing_balls_k10_40k"
    config.pretrain.num_steps = 0
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json())
    records = [{"step": 5000, "steps_per_second": 5.0, "time": 1000.0,
                "heldout_next_frame_error": 6.0}]
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.writelines(json.dumps(record) + "\n" for record in records)
    updates, _ = plot_results.held_out_curve(workdir, x_axis="updates")
    self.assertEqual(updates, [45_000])
    self.assertEqual(plot_results.updates_before(rj.get_config("bouncing_balls")),
                     0)

  def test_the_shipped_runs_of_the_readme_picture_exist(self):
    for _, workdir in plot_results.shipped_runs():
      self.assertTrue(os.path.isfile(os.path.join(workdir, "metrics.jsonl")),
                      workdir)

  def test_published_figures_are_drawn_only_for_the_published_task(self):
    self.assertEqual(plot_results.published_figures(rj.get_config("bouncing_balls")),
                     list(plot_results.PUBLISHED))
    for name in ("tiny", "chorales", "arm"):
      self.assertEqual(plot_results.published_figures(rj.get_config(name)), [])
    self.assertEqual(plot_results.task(rj.get_config("tiny")),
                     "bouncing balls 10 x 10, 20 frames")

  def test_a_sweep_gives_one_curve_per_point_labelled_by_its_values(self):
    workdir = self.create_tempdir().full_path
    config = rj.get_config("sweep_tiny")
    config.sweep = dict(learning_rate=(0.01, 0.03))
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json())
    records = [{"step": step, "point": point, "learning_rate": rate,
                "steps_per_second": 10.0, "time": 1000.0 + step,
                "heldout_next_frame_error": 5.0 - point - step / 100}
               for step in (10, 20) for point, rate in enumerate((0.01, 0.03))]
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.writelines(json.dumps(record) + "\n" for record in records)
    curves = plot_results.curves("lr", workdir)
    self.assertEqual([label for label, _, _ in curves],
                     ["lr learning_rate=0.01", "lr learning_rate=0.03"])
    self.assertEqual(curves[1][2], [3.9, 3.8])

  def test_runs_split_at_the_first_colon_and_published_figures_at_the_last(self):
    self.assertEqual(
        plot_results._label_pairs("runs", ["small:/tmp/a:b"], False),
        [("small", "/tmp/a:b")])
    self.assertEqual(
        plot_results._label_pairs("published", ["paper: RTRBM:3.88"], True),
        [("paper: RTRBM", "3.88")])
    with self.assertRaisesRegex(ValueError, "--runs: 'runs/rtrbm' has no colon"):
      plot_results._label_pairs("runs", ["runs/rtrbm"], False)

  def test_the_cli_plots_a_run_with_its_baselines(self):
    cache = self.create_tempdir("cache").full_path
    os.environ["RTRBM_JAX_CACHE"] = cache
    workdir = self.create_tempdir().full_path
    loop.train_and_evaluate(helpers.small_config(), workdir)
    baselines = plot_results.baseline_errors(workdir)
    self.assertEqual(set(baselines), {"copy_last_frame", "extrapolation"})
    output = os.path.join(self.create_tempdir().full_path, "plot.png")
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.plot_results",
         f"--runs=small:{workdir}", f"--output={output}"],
        cwd=_REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, RTRBM_JAX_CACHE=cache))
    self.assertEqual(finished.returncode, 0, finished.stderr[-2000:])
    self.assertGreater(os.path.getsize(output), 10_000)
    self.assertEqual(finished.stdout.strip(), f"Wrote {output}")
    # Title and units from the run's own data; no published figures for this task.
    axis = plot_results.plot_runs([("small", workdir)]).axes[0]
    self.assertEqual(axis.get_title(),
                     "Bouncing balls 6 x 6, 8 frames: held-out next-frame error")
    self.assertIn("36 units", axis.get_ylabel())
    self.assertNotIn("CPU", axis.get_xlabel())
    self.assertEqual([line.get_linestyle() for line in axis.get_lines()
                      if line.get_linestyle() == ":"], [])


if __name__ == "__main__":
  absltest.main()
