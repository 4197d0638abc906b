"""The trained runs shipped under docs/runs/ load, and score as the README says.

Each shipped run is a directory `docs/runs/<name>/` holding the run's
`config.json`, its parameters (`params.npz`, or `best_params.npz` for a run whose
validation split picked the stopping point), its `metrics.jsonl` and the
evaluation that the README's results table quotes (`eval_test*.json`).
"""

import json
import os

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import rtrbm_jax as rj

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RUNS = os.path.join(_ROOT, "docs", "runs")
_SHIPPED = sorted(name for name in os.listdir(_RUNS)
                  if os.path.isdir(os.path.join(_RUNS, name)))


def _evaluation(name: str) -> tuple[str, dict]:
  """(file name, results) of the shipped run's one evaluation file."""
  found = [file for file in os.listdir(os.path.join(_RUNS, name))
           if file.startswith("eval_test") and file.endswith(".json")]
  if len(found) != 1:
    raise AssertionError(f"docs/runs/{name} holds {found}, not one eval_test*.json")
  with open(os.path.join(_RUNS, name, found[0])) as f:
    return found[0], json.load(f)


def _headline(results: dict) -> float:
  """The figure a results row leads with: the log-likelihood per frame for music,
  else the papers' next-frame error."""
  likelihood = results.get("log_likelihood_per_frame")
  if isinstance(likelihood, dict):
    return likelihood["mean"]
  return results["next_frame_error"]["mean"]


class ShippedRunsTest(parameterized.TestCase):

  def test_runs_are_shipped(self):
    self.assertNotEmpty(_SHIPPED)

  @parameterized.parameters(*_SHIPPED)
  def test_a_shipped_run_loads_at_the_step_its_evaluation_names(self, name):
    file, results = _evaluation(name)
    step = "best" if file.endswith("_best.json") else None
    run = rj.load_run(os.path.join(_RUNS, name), step=step)
    self.assertEqual(run.step, results["step"])
    for array in run.params:
      self.assertTrue(np.all(np.isfinite(np.asarray(array))))

  @parameterized.parameters(*_SHIPPED)
  def test_the_readme_quotes_a_shipped_runs_figure(self, name):
    _, results = _evaluation(name)
    with open(os.path.join(_ROOT, "README.md")) as f:
      rows = [line for line in f if f"docs/runs/{name}/" in line]
    self.assertNotEmpty(rows, f"no README line names docs/runs/{name}/")
    self.assertTrue(any(f"{_headline(results):.2f}" in row for row in rows),
                    f"no README line of docs/runs/{name}/ quotes "
                    f"{_headline(results):.2f}")


if __name__ == "__main__":
  absltest.main()
