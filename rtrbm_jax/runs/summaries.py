"""What an evaluation's results say in brief: its headline figures (the scalars
TensorBoard gets) and one summary line (what `experiments.evaluate` prints)."""

from rtrbm_jax.evaluation import evaluators

# The figures `evaluate.py` writes with their own details; any other figure of the
# registry that reads predictions is written as its summary (`_other_figures`).
DETAILED = (evaluators.NEXT_FRAME_ERROR, evaluators.FRAME_ACCURACY,
            evaluators.LOG_LIKELIHOOD)


def scalar_figures(results: dict) -> dict[str, float]:
  """The evaluation's headline numbers: {name: value}, e.g. `next_frame_error`,
  `baselines/copy_last_frame/next_frame_error`, `log_likelihood_per_frame`."""
  figures = {}
  for name in ("next_frame_error", "next_frame_error_chain_average"):
    figures[name] = results[name]["mean"]
    figures[f"{name}_se_over_sequences"] = results[name][
        "standard_error_over_sequences"]
  if isinstance(results.get("log_likelihood_per_frame"), dict):
    figures["log_likelihood_per_frame"] = results["log_likelihood_per_frame"]["mean"]
  if "frame_accuracy" in results:
    figures["frame_accuracy"] = results["frame_accuracy"]
  for name in evaluators.EVALUATORS:
    if name not in DETAILED and isinstance(results.get(name), dict):
      figures[name] = results[name]["mean"]
  for baseline, values in results["baselines"].items():
    for name, value in values.items():
      if name in evaluators.EVALUATORS:  # not a baseline's settings
        figures[f"baselines/{baseline}/{name}"] = (
            value["mean"] if isinstance(value, dict) else value)
  return figures


def summary_line(results: dict) -> str:
  """One line: the model's next-frame error (and likelihood, accuracy) and the best
  baseline's, e.g. for the CLI to print under the path of the json file."""
  error = results["next_frame_error"]
  where = (f"{results['split']} split, step {results['step']}"
           + (f", point {results['point']}" if "point" in results else ""))
  line = (f"{where}: next-frame error {error['mean']:.4g} +- "
          f"{error['standard_error_over_sequences']:.2g} (mean of "
          f"{results['next_frame_error_chain_average']['num_chains']} chains "
          f"{results['next_frame_error_chain_average']['mean']:.4g})")
  errors = {name: values["next_frame_error"]["mean"]
            for name, values in results["baselines"].items()
            if "next_frame_error" in values}
  best = min(errors, key=errors.get)
  line += f"; best baseline {best} {errors[best]:.4g}"
  likelihood = results.get("log_likelihood_per_frame")
  if isinstance(likelihood, dict):
    line += (f"; log-likelihood {likelihood['mean']:.4g} +- "
             f"{likelihood['standard_error']:.2g} nats per frame "
             f"({likelihood['method']})")
  if "frame_accuracy" in results:
    line += f"; frame accuracy {results['frame_accuracy']:.1%}"
  return line
