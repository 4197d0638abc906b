"""The results tables in README.md and docs/results.md are those the shipped runs'
files render (`experiments/results_table.py`), so a table cannot drift from them."""

import json
import os
import shutil

from absl.testing import absltest

from experiments import results_table

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _document(document: str) -> str:
  with open(os.path.join(_REPO, document)) as f:
    return f.read()


def _copy_of_the_runs(destination: str) -> str:
  """The shipped runs' configs and evaluations (not their parameters or
  records, which the tables do not read) copied under `destination`."""
  runs = os.path.join(destination, "runs")
  shutil.copytree(results_table.RUNS_DIR, runs,
                  ignore=shutil.ignore_patterns("*.npz", "*.jsonl", "*.py"))
  return runs


class ResultsTableTest(absltest.TestCase):

  def test_every_document_holds_tables(self):
    self.assertEqual(set(results_table.blocks(_document("README.md"))), {"summary"})
    self.assertEqual(set(results_table.blocks(_document("docs/results.md"))),
                     {"bouncing_balls", "music", "motion_capture"})

  def test_the_documents_tables_are_what_the_shipped_runs_render(self):
    runs = results_table.load_runs()
    for document in results_table.DOCUMENTS:
      stale = results_table.stale_blocks(_document(document), runs,
                                         results_table.link_prefix(document))
      self.assertEqual(stale, [], f"{document}: the tables {stale} differ from "
                       "the shipped runs' files; run python -m "
                       "experiments.results_table --write")

  def test_the_summary_has_one_linked_row_per_shipped_run(self):
    summary = results_table.blocks(_document("README.md"))["summary"]
    for run in results_table.load_runs():
      rows = [line for line in summary.splitlines()
              if f"(docs/runs/{run.name}/)" in line]
      self.assertLen(rows, 1, run.name)
      self.assertTrue(os.path.isdir(os.path.join(_REPO, "docs", "runs", run.name)))

  def test_a_changed_evaluation_makes_the_tables_that_quote_it_stale(self):
    runs_dir = _copy_of_the_runs(self.create_tempdir().full_path)
    path = os.path.join(runs_dir, "bouncing_balls", "eval_test.json")
    with open(path) as f:
      results = json.load(f)
    results["next_frame_error"]["mean"] += 0.1
    with open(path, "w") as f:
      json.dump(results, f, indent=2)
    runs = results_table.load_runs(runs_dir)
    self.assertEqual(results_table.stale_blocks(
        _document("README.md"), runs, "docs/runs/"), ["summary"])
    self.assertEqual(results_table.stale_blocks(
        _document("docs/results.md"), runs, "runs/"), ["bouncing_balls"])

  def test_the_unchanged_copy_renders_the_same_tables(self):
    runs = results_table.load_runs(
        _copy_of_the_runs(self.create_tempdir().full_path))
    self.assertEqual(results_table.stale_blocks(
        _document("docs/results.md"), runs, "runs/"), [])

  def test_rewriting_fills_an_emptied_table(self):
    text = _document("README.md")
    table = results_table.blocks(text)["summary"]
    emptied = text.replace(table, "")
    runs = results_table.load_runs()
    self.assertEqual(results_table.stale_blocks(emptied, runs, "docs/runs/"),
                     ["summary"])
    self.assertEqual(results_table.rewrite(emptied, runs, "docs/runs/"), text)

  def test_a_run_with_two_test_evaluations_is_refused(self):
    runs_dir = _copy_of_the_runs(self.create_tempdir().full_path)
    shutil.copy(os.path.join(runs_dir, "bouncing_balls", "eval_test.json"),
                os.path.join(runs_dir, "bouncing_balls", "eval_test_best.json"))
    with self.assertRaisesRegex(ValueError, "not one eval_test"):
      results_table.load_runs(runs_dir)

  def test_an_unknown_table_is_refused(self):
    with self.assertRaisesRegex(ValueError, "unknown table 'speed'"):
      results_table.render("speed", results_table.load_runs(), "runs/")


if __name__ == "__main__":
  absltest.main()
