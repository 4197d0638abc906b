"""Evaluates a finished run: next-frame error, log-likelihood, accuracy, samples.

  python -m experiments.evaluate --workdir=DIR [--split=test]

Writes DIR/eval.json and DIR/eval_samples.png (see `rtrbm_jax.run_evaluation`).
"""

import json

from absl import app
from absl import flags

from experiments import common
from rtrbm_jax import run_evaluation

_WORKDIR = flags.DEFINE_string("workdir", None, "Workdir of a finished run.")
_SPLIT = flags.DEFINE_string("split", "test", "Data split to evaluate on.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the evaluation's randomness.")
_GIBBS_STEPS = flags.DEFINE_integer("num_gibbs_steps", 50,
                                    "Gibbs steps per predicted frame.")
_LOG_LIKELIHOOD = flags.DEFINE_enum(
    "log_likelihood", "auto", run_evaluation.LOG_LIKELIHOOD_METHODS,
    "How to compute log-likelihoods: exact, AIS, auto (exact when possible).")
_TEMPERATURES = flags.DEFINE_integer("num_temperatures", 500,
                                     "AIS temperatures.")
_CHAINS = flags.DEFINE_integer("num_chains", 50, "AIS chains per frame.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  common.start()
  results = common.run_or_exit(
      run_evaluation.evaluate_workdir, _WORKDIR.value, _SPLIT.value, _SEED.value,
      _GIBBS_STEPS.value, _LOG_LIKELIHOOD.value, _TEMPERATURES.value,
      _CHAINS.value)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
