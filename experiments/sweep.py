"""Trains every point of a hyperparameter sweep together, as one compiled program.

  python -m experiments.sweep --config=configs/sweep_tiny.py --workdir=DIR

The config's `sweep` section names the swept values (see
`rtrbm_jax.training.sweep`; the sweepable fields are `training/schema.py`'s). A
workdir that holds a checkpoint is resumed. Prints the table of points sorted by
held-out next-frame error.
"""

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common
from rtrbm_jax.training import sweep

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the sweep.")
config_flags.DEFINE_config_file("config", None, "Sweep config file.",
                                lock_config=True)
common.mark_flags_as_required(["config", "workdir"])


def main(argv):
  common.start(argv)
  common.run_or_exit(sweep.run_sweep, flags.FLAGS.config, _WORKDIR.value)
  print(f"Table: {_WORKDIR.value}/results.txt; curves: {_WORKDIR.value}/curves.png")


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
