"""docs/quickstart.ipynb runs top to bottom, from outside the repository.

Its code cells are executed in order in one namespace (as a kernel would, without
needing jupyter), in a fresh interpreter whose working directory is not the
repository and whose sys.path does not hold it once `rtrbm_jax` is imported: as
after `pip install`, where `configs` is no importable package.
"""

import json
import os
import subprocess
import sys
import tempfile

from absl.testing import absltest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(_REPO, "docs", "quickstart.ipynb")


def code_cells(path):
  with open(path) as f:
    notebook = json.load(f)
  return ["".join(cell["source"]) for cell in notebook["cells"]
          if cell["cell_type"] == "code"]


def run_outside_the_repository(code: str, timeout: int = 300):
  """Runs `code` in a new interpreter with this checkout's `rtrbm_jax` imported
  and the repository neither the working directory nor on sys.path."""
  preamble = (f"import sys; sys.path.insert(0, {_REPO!r}); import rtrbm_jax; "
              f"sys.path.remove({_REPO!r})\n")
  return subprocess.run([sys.executable, "-c", preamble + code],
                        cwd=tempfile.gettempdir(), capture_output=True, text=True,
                        timeout=timeout)


class NotebookTest(absltest.TestCase):

  def test_the_quickstart_notebook_runs_top_to_bottom(self):
    cells = code_cells(NOTEBOOK)
    self.assertNotEmpty(cells)
    program = "\n".join(f"exec(compile({cell!r}, 'cell {index}', 'exec'))"
                        for index, cell in enumerate(cells))
    finished = run_outside_the_repository(program)
    self.assertEqual(finished.returncode, 0, finished.stderr[-3000:])
    self.assertIn("Run(rnnrbm, 100 visible x 64 hidden, step 80", finished.stdout)
    self.assertIn("test split, step 80: next-frame error", finished.stdout)
    # rj.train's progress lines show outside absl's app.run.
    self.assertIn("train 60/60 ", finished.stderr)


if __name__ == "__main__":
  absltest.main()
