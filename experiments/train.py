"""Trains a temporal RBM from a config file into a workdir.

  python -m experiments.train --config=configs/bouncing_balls.py --workdir=DIR \
      --config.optimizer.learning_rate=0.01 --config.model.num_hidden=200

Intentionally short: the logic lives in `rtrbm_jax.training.loop`, which is
tested. A workdir that holds a checkpoint is resumed.
"""

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common
from rtrbm_jax.training import loop

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the run.")
_ALLOW_CONFIG_CHANGE = flags.DEFINE_bool(
    "allow_config_change", False,
    "Resume a run with a config that differs from its config.json: the change "
    "applies from the last checkpoint on and is recorded in metrics.jsonl. "
    "Without it a changed config is refused. Sizes, seed, optimizer name and "
    "pretraining length never change on resume.")
config_flags.DEFINE_config_file("config", None, "Training config file.",
                                lock_config=True)
common.mark_flags_as_required(["config", "workdir"])


def main(argv):
  common.start(argv)
  common.run_or_exit(loop.train_and_evaluate, flags.FLAGS.config, _WORKDIR.value,
                     _ALLOW_CONFIG_CHANGE.value)
  print(f"Done. Plots and samples: {_WORKDIR.value}/curves.png, "
        f"{_WORKDIR.value}/samples.png; parameters: {_WORKDIR.value}/params.npz")


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
