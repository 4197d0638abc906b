"""What a user installs and runs: license, type marker, extras, --print_config."""

import configparser
import json
import os
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every entry point of experiments/ (benchmarking.py and common.py are modules).
ENTRY_POINTS = ("train", "sweep", "evaluate", "download", "plot_results",
                "benchmark", "binary_addition")


def _setup_cfg():
  parser = configparser.ConfigParser()
  parser.read(os.path.join(_REPO, "setup.cfg"))
  return parser


def _listed(value: str) -> list[str]:
  return [line.split("#")[0].strip() for line in value.splitlines()
          if line.split("#")[0].strip()]


class PackagingTest(parameterized.TestCase):

  def test_the_license_file_is_the_apache_license_the_metadata_names(self):
    self.assertEqual(_setup_cfg()["metadata"]["license"], "Apache-2.0")
    with open(os.path.join(_REPO, "LICENSE")) as f:
      text = f.read()
    self.assertIn("Apache License\n                           Version 2.0", text)
    self.assertIn("END OF TERMS AND CONDITIONS", text)

  def test_the_package_ships_its_type_marker(self):
    self.assertTrue(os.path.exists(os.path.join(_REPO, "rtrbm_jax", "py.typed")))
    self.assertEqual(_listed(_setup_cfg()["options.package_data"]["rtrbm_jax"]),
                     ["py.typed"])

  def test_extras_refer_to_each_other_and_tensorboard_is_one(self):
    extras = {name: _listed(value)
              for name, value in _setup_cfg()["options.extras_require"].items()}
    self.assertIn("rtrbm_jax[music]", extras["test"])
    self.assertFalse(set(extras["music"]) & set(extras["test"]))
    self.assertEqual([requirement.split(">")[0]
                      for requirement in extras["tensorboard"]], ["tensorboard"])

  def test_a_changelog_exists(self):
    with open(os.path.join(_REPO, "CHANGELOG.md")) as f:
      self.assertIn("## Unreleased", f.read())

  def test_every_entry_point_prints_its_resolved_config_and_exits_zero(self):
    flags = {"train": ["--config=configs/tiny.py",
                       "--config.train.num_steps=7"]}
    processes = {name: subprocess.Popen(
        [sys.executable, "-m", f"experiments.{name}", "--print_config",
         *flags.get(name, [])], cwd=_REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for name in ENTRY_POINTS}
    for name, process in processes.items():
      stdout, stderr = process.communicate(timeout=300)
      self.assertEqual(process.returncode, 0, f"{name}: {stderr[-2000:]}")
      printed = json.loads(stdout)
      if name == "train":
        self.assertEqual(printed["train"]["num_steps"], 7)
        self.assertEqual(printed["model"]["num_visible"], 100)
      elif name == "binary_addition":
        self.assertEqual(printed["num_bits"], 8)
      else:
        self.assertNotEmpty(printed, name)

  def test_a_required_flag_is_still_required_without_print_config(self):
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.train", "--config=configs/tiny.py"],
        cwd=_REPO, capture_output=True, text=True, timeout=300)
    self.assertEqual(finished.returncode, 1)
    self.assertEqual(len(finished.stderr.strip().splitlines()), 1)
    self.assertIn("Flag --workdir must have a value", finished.stderr)


if __name__ == "__main__":
  absltest.main()
