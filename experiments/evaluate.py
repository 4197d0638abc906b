"""Evaluates a finished run: next-frame error, log-likelihood, accuracy, samples.

  python -m experiments.evaluate --workdir=DIR [--split=test] [--point=N] [--step=S]

--step=best evaluates the parameters of the best validation figure
(`config.eval.select_by`; `best_params.npz`, kept by training on the sets with a
validation split).

Writes DIR/eval_test.json and DIR/eval_samples_test.png (the split, point and step
name the files: eval_train_point2_step100.json) and the figures to the run's
TensorBoard events (`eval/test/...`); prints one summary line (see
`rtrbm_jax.runs.evaluate`).
The AIS defaults take a minute or two on 2 CPU cores but overestimate the
log-likelihood of a JSB-sized model (88 x 150) by about 0.2 nats per frame; for
publishable log-likelihoods pass --num_temperatures=1000 --num_chains=64 (there
within 0.015 nats of 1000 x 16 and 300 x 64, AIS standard error 0.002; measured,
see `rtrbm_jax.runs.evaluate`).
"""

import functools
import os

from absl import app
from absl import flags

from experiments import common
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais
from rtrbm_jax.runs import evaluate
from rtrbm_jax.runs import summaries

_WORKDIR = flags.DEFINE_string("workdir", None, "Workdir of a finished run.")
_SPLIT = flags.DEFINE_string("split", "test", "Data split to evaluate on.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the evaluation's randomness.")
_GIBBS_STEPS = flags.DEFINE_integer("num_gibbs_steps", 50,
                                    "Gibbs steps per predicted frame.")
_LOG_LIKELIHOOD = flags.DEFINE_enum(
    "log_likelihood", "auto", evaluate.LOG_LIKELIHOOD_METHODS,
    "How to compute log-likelihoods: exact, AIS, auto (exact when possible).")
_PREDICTION_CHAINS = flags.DEFINE_integer(
    "num_prediction_chains", 10,
    "Chains averaged per predicted frame by the second next-frame figure "
    "(next_frame_error_chain_average); the papers' figure uses one.")
_TEMPERATURES = flags.DEFINE_integer(
    "num_temperatures", evaluate.DEFAULT_NUM_TEMPERATURES,
    "AIS temperatures (more: smaller bias and error, proportionally slower).")
_CHAINS = flags.DEFINE_integer(
    "num_chains", evaluate.DEFAULT_NUM_CHAINS,
    "AIS chains per frame (error shrinks as 1/sqrt; proportionally slower).")
_AIS_PATH = flags.DEFINE_enum(
    "ais_path", ais.WEIGHTS, ais.PATHS,
    "AIS's path: anneal the weights from the row's own independent units "
    "(weights, the shipped figures') or weights and biases from the frames' base "
    "rate (base_rate, Salakhutdinov & Murray's; less biased on sharp models).")
_LIKELIHOOD_FRAMES = flags.DEFINE_integer(
    "log_likelihood_frames", None,
    "Estimate the log-likelihood on this many frames drawn uniformly from the "
    "split (its standard error includes the sampling; at least 2); default: "
    "every frame.")
_NUM_SAMPLES = flags.DEFINE_integer(
    "num_samples", None,
    "Sequences in the generation picture (default: the run's config.eval).")
_PRIME_FRAMES = flags.DEFINE_integer(
    "prime_frames", None,
    "Real frames each generated sequence is primed on (default: config.eval).")
_GENERATE_FRAMES = flags.DEFINE_integer(
    "generate_frames", None,
    "Frames generated after the primer (default: the run's config.eval).")
_PREDICTION_RULE = flags.DEFINE_enum(
    "prediction_rule", None, prediction.PREDICTION_RULES,
    "How a frame is predicted. RBM frames: gibbs (the papers' chain), "
    "mean_field (means for samples), annealed (the chain cooled towards T = "
    "0), lowest_free_energy (the previous frame or a chain's end, whichever "
    "the frame's RBM rates likelier) or local_search (single-unit flips from "
    "the previous frame while they lower the free energy); exact frames "
    "(rnnnade): gibbs (an exact sample) or greedy (unit by unit, each on above "
    "1/2); default: the run's config.eval.")
_POINT = flags.DEFINE_integer("point", None,
                              "For a sweep: the point to evaluate (results.txt).")
_STEP = flags.DEFINE_string(
    "step", None, "Evaluate the checkpoint of this update, not the final params; "
    "'best': the parameters of the best validation figure (config.eval.select_by).")
common.mark_flags_as_required(["workdir"])


def _step(value):
  """--step as an update number, "best" or None."""
  if value is None or value == "best":
    return value
  try:
    return int(value)
  except ValueError:
    raise ValueError(f"--step={value!r} is not accepted: an update number of a "
                     "checkpoint, or 'best'.") from None


def main(argv):
  common.start(argv)
  step = common.run_or_exit(_step, _STEP.value)
  results = common.run_or_exit(functools.partial(
      evaluate.evaluate_workdir, _WORKDIR.value, split=_SPLIT.value,
      seed=_SEED.value, num_gibbs_steps=_GIBBS_STEPS.value,
      log_likelihood=_LOG_LIKELIHOOD.value,
      num_temperatures=_TEMPERATURES.value, num_chains=_CHAINS.value,
      num_prediction_chains=_PREDICTION_CHAINS.value,
      log_likelihood_frames=_LIKELIHOOD_FRAMES.value, step=step,
      point=_POINT.value, num_samples=_NUM_SAMPLES.value,
      prime_frames=_PRIME_FRAMES.value, generate_frames=_GENERATE_FRAMES.value,
      prediction_rule=_PREDICTION_RULE.value, ais_path=_AIS_PATH.value))
  print(summaries.summary_line(results))
  # The files are named relative to the workdir: printed where they are.
  print(f"Results: {os.path.join(_WORKDIR.value, results['files'][-1])}; "
        f"samples: {os.path.join(_WORKDIR.value, results['files'][0])}")


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
