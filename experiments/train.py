"""Trains a temporal RBM from a config file into a workdir.

  python -m experiments.train --config=configs/bouncing_balls.py --workdir=DIR \
      --config.optimizer.learning_rate=0.01 --config.model.num_hidden=200

Intentionally short: the logic lives in `rtrbm_jax.train`, which is tested. A
workdir that holds a checkpoint is resumed.
"""

import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from rtrbm_jax import train

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the run.")
config_flags.DEFINE_config_file("config", None, "Training config file.",
                                lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


class _HideOrbaxInfo(logging.logging.Filter):
  """Orbax logs every step of every save at INFO; keep our progress readable."""

  def filter(self, record):
    return record.levelno > logging.logging.INFO or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.get_absl_handler().addFilter(_HideOrbaxInfo())
  try:
    train.train_and_evaluate(flags.FLAGS.config, _WORKDIR.value)
  except (ValueError, train.NonFiniteError) as error:
    logging.error("%s", error)
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
  print(f"Done. Plots and samples: {_WORKDIR.value}/curves.png, "
        f"{_WORKDIR.value}/samples.png; parameters: {_WORKDIR.value}/params.npz")


if __name__ == "__main__":
  app.run(main)
