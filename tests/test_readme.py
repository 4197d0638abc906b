"""The README's code works: its Python example runs, its commands name real files."""

import os
import re

from absl.testing import absltest

from tests import test_notebook

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme():
  with open(os.path.join(_REPO, "README.md")) as f:
    return f.read()


class ReadmeTest(absltest.TestCase):

  def test_the_python_example_runs_outside_the_repository(self):
    blocks = re.findall(r"```python\n(.*?)```", _readme(), re.S)
    self.assertNotEmpty(blocks)
    for block in blocks:
      finished = test_notebook.run_outside_the_repository(block)
      self.assertEqual(finished.returncode, 0, finished.stderr[-2000:])

  def test_the_first_two_commands_install_train_and_test(self):
    commands = re.findall(r"^    (\S.*)$", _readme(), re.M)
    self.assertIn("pip install -e '.[test]'", commands[0])
    self.assertIn("python -m experiments.train --config=configs/tiny.py", commands[0])
    self.assertEqual(commands[1], "python -m pytest -n 2 tests")

  def test_every_config_and_experiment_the_readme_names_exists(self):
    for path in set(re.findall(r"(?:configs|experiments)/[a-z_]+\.py", _readme())):
      self.assertTrue(os.path.exists(os.path.join(_REPO, path)), path)
    for module in set(re.findall(r"python -m experiments\.([a-z_]+)", _readme())):
      self.assertTrue(os.path.exists(os.path.join(_REPO, "experiments",
                                                  module + ".py")), module)

  def test_the_module_map_names_every_module_and_only_real_ones(self):
    section = _readme().split("## What is where")[1].split("\n## ")[0]
    # One row per folder; its last cell names the folder's modules as `name.py`.
    named = {f"{folder}{module}"
             for folder, modules in re.findall(
                 r"^\| `(rtrbm_jax/(?:[a-z_]+/)?)` \|.*\|(.*)\|$", section, re.M)
             for module in re.findall(r"`([a-z_]+\.py)`", modules)}
    modules = {os.path.relpath(os.path.join(root, name), _REPO)
               for root, _, names in os.walk(os.path.join(_REPO, "rtrbm_jax"))
               for name in names
               if name.endswith(".py") and name != "__init__.py"}
    self.assertEqual(named, modules)


if __name__ == "__main__":
  absltest.main()
