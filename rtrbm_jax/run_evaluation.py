"""Evaluation of a finished run: reads its workdir, writes `eval.json` and pictures.

The measures follow the papers: next-frame prediction error (the RTRBM papers'
protocol, `evaluation.predict_next_frames`) on every predicted frame of the split,
log-likelihood per frame (exact or AIS), frame-level accuracy of the predictions for
music (Bay et al. 2009), and free generation after priming on held-out frames.
Sequences of different lengths (music) are zero-padded and masked: the models are
causal, so padding after a sequence changes none of its frames' values.
"""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax import evaluation
from rtrbm_jax import rbm
from rtrbm_jax import rnnrbm
from rtrbm_jax import rtrbm
from rtrbm_jax import train
from rtrbm_jax.data import datasets
from rtrbm_jax.data import music
from rtrbm_jax.data import real_valued

LOG_LIKELIHOOD_METHODS = ("auto", "exact", "ais", "none")


def load_run(workdir: str):
  """(config, model, params) of the run in `workdir`, from its `params.npz`."""
  config_path = os.path.join(workdir, "config.json")
  params_path = os.path.join(workdir, "params.npz")
  for path in (config_path, params_path):
    if not os.path.exists(path):
      raise ValueError(f"workdir={workdir!r} has no {os.path.basename(path)}: "
                       "evaluate a finished run of experiments.train.")
  try:
    with open(config_path) as f:
      config = ml_collections.ConfigDict(json.load(f))
    if "sweep" in config:
      raise ValueError(f"workdir={workdir!r} holds a sweep; evaluate a single run.")
    train.validate_config(config)
  except (ValueError, TypeError, KeyError, AttributeError) as error:
    raise ValueError(f"{config_path} is damaged or not a run's config: "
                     f"{str(error).splitlines()[0]}") from error
  model = train.get_model(config)
  template = model.init_params(jax.random.key(0), config.model.num_visible,
                               config.model.num_hidden)
  try:
    with np.load(params_path) as stored:
      params = type(template)(**{name: jnp.asarray(stored[name])
                                 for name in template._fields})
  except Exception as error:  # pylint: disable=broad-except
    # numpy raises zipfile, EOF, OS, key and value errors for damaged files.
    raise ValueError(f"{params_path} is damaged or incomplete ({type(error).__name__}"
                     f": {str(error).splitlines()[0] if str(error) else ''}); "
                     "rerun experiments.train on the workdir to write it "
                     "again.") from error
  wrong = [f"{name} has shape {list(np.shape(got))}, expected {list(want.shape)}"
           for name, got, want in zip(template._fields, params, template)
           if np.shape(got) != want.shape]
  if wrong:
    raise ValueError(f"{params_path} does not fit {config_path}: "
                     f"{'; '.join(wrong)}.")
  # NaN parameters (a diverged run) are named here, not found as NaN results.
  (rtrbm if config.model.kind == "rtrbm" else rnnrbm).check_params(params)
  return config, model, params


def _mean_and_standard_error(values: np.ndarray) -> tuple[float, float]:
  values = np.asarray(values, np.float64)
  if values.size < 2:
    return float(values.mean()), 0.0
  return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def evaluate_workdir(workdir: str, split: str = "test", seed: int = 0,
                     num_gibbs_steps: int = 50,
                     log_likelihood: str = "auto", num_temperatures: int = 500,
                     num_chains: int = 50, num_samples: int = 4,
                     prime_frames: int = 10, generate_frames: int = 30) -> dict:
  """Evaluates the run in `workdir` on `split`; writes `eval.json`, `eval_samples.png`.

  Args:
    workdir: a finished run's workdir.
    split: "test" (or "train"; "valid" for music).
    seed: seed of the evaluation's randomness.
    num_gibbs_steps: Gibbs steps per predicted or generated frame.
    log_likelihood: one of LOG_LIKELIHOOD_METHODS ("auto": exact if the model can
      be enumerated, else AIS; "none": skip). Binary models need binary data.
    num_temperatures, num_chains: AIS settings.
    num_samples, prime_frames, generate_frames: the generation picture.

  Returns:
    The results written to `eval.json`.
  """
  if log_likelihood not in LOG_LIKELIHOOD_METHODS:
    raise ValueError(f"log_likelihood={log_likelihood!r} is not accepted: one of "
                     f"{LOG_LIKELIHOOD_METHODS}.")
  for name, value in (("num_gibbs_steps", num_gibbs_steps),
                      ("num_samples", num_samples), ("prime_frames", prime_frames),
                      ("generate_frames", generate_frames)):
    if (isinstance(value, bool) or not isinstance(value, int)
        or not 1 <= value <= checks.MAX_GIBBS_STEPS):
      raise ValueError(f"{name}={value!r} is not accepted: an integer in [1, "
                       f"{checks.MAX_GIBBS_STEPS}].")
  if log_likelihood in ("auto", "ais"):
    for name, value, minimum in (("num_temperatures", num_temperatures, 2),
                                 ("num_chains", num_chains, 2)):
      if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not accepted: an integer >= "
                         f"{minimum}.")
  config, model, params = load_run(workdir)
  sequences = datasets.load_sequences(config.data, split)
  frames, mask = datasets.pad_sequences(sequences)
  frames = jnp.asarray(frames)
  key_predict, key_likelihood, key_generate = jax.random.split(
      jax.random.key(seed), 3)
  results = {"workdir": os.path.abspath(workdir), "split": split,
             "num_sequences": len(sequences), "num_frames": int(mask.sum())}

  predictions = jax.jit(evaluation.predict_next_frames, static_argnums=0)(
      model, params, frames, key_predict, num_gibbs_steps)
  predicted_mask = mask[:, 1:]
  errors = np.asarray(jnp.sum(jnp.square(predictions - frames[:, 1:]), axis=-1))
  mean, standard_error = _mean_and_standard_error(errors[predicted_mask])
  results["next_frame_error"] = {
      "mean": mean, "standard_error": standard_error,
      "num_predicted_frames": int(predicted_mask.sum()),
      "num_gibbs_steps": num_gibbs_steps,
      "unit": "squared error summed over the units of a frame"}

  binary_data = bool(np.all((np.asarray(frames) == 0) | (np.asarray(frames) == 1)))
  if config.data.name != "bouncing_balls" and binary_data:
    results["frame_accuracy"] = music.frame_accuracy(
        np.asarray(predictions) > 0.5, np.asarray(frames[:, 1:]), predicted_mask)

  if log_likelihood != "none" and (binary_data or model.visible_type != rbm.BINARY):
    estimate = evaluation.frame_log_likelihoods(
        model, params, frames, key_likelihood, num_temperatures, num_chains,
        log_likelihood)
    per_frame = np.asarray(estimate.per_frame)[mask]
    errors_squared = np.asarray(estimate.standard_error)[mask] ** 2
    results["log_likelihood_per_frame"] = {
        "method": estimate.method,
        "mean": float(per_frame.mean()),
        # Spread over frames, plus the AIS estimates' own errors, of the mean.
        "standard_error": float(np.sqrt(
            _mean_and_standard_error(per_frame)[1] ** 2
            + errors_squared.sum() / per_frame.size ** 2)),
        "ais_standard_error_of_mean": float(np.sqrt(errors_squared.sum())
                                            / per_frame.size),
        **({"num_temperatures": num_temperatures, "num_chains": num_chains}
           if estimate.method == "ais" else {}),
        "unit": "nats per frame"}
  elif log_likelihood != "none":
    results["log_likelihood_per_frame"] = (
        "skipped: the data are not binary, and the likelihood of binary units is "
        "defined for 0/1 frames only")

  num_samples = min(num_samples, len(sequences))
  prime = frames[:num_samples, :prime_frames]
  generated = jax.jit(model.generate, static_argnums=3)(
      params, key_generate, prime, generate_frames, num_gibbs_steps)
  results["generation"] = {
      "num_sequences": num_samples, "prime_frames": prime_frames,
      "generated_frames": generate_frames,
      "mean_unit_value_generated": float(jnp.mean(generated)),
      "mean_unit_value_data": float(np.mean(np.asarray(frames)[mask])),
      "mean_change_between_frames_generated": float(jnp.mean(jnp.sum(
          jnp.square(jnp.diff(generated, axis=1)), axis=-1))),
  }
  pictures = np.asarray(prime), np.asarray(generated)
  standardizer_path = os.path.join(workdir, train.STANDARDIZER_FILE)
  if os.path.exists(standardizer_path):
    # The model saw standardised frames; show them in data units.
    standardizer = real_valued.Standardizer(**np.load(standardizer_path))
    pictures = [real_valued.unstandardize(standardizer, x) for x in pictures]
    results["units"] = "standardised per dimension (see standardizer.npz)"
  from rtrbm_jax import plotting  # pylint: disable=g-import-not-at-top
  plotting.write_samples(*pictures, os.path.join(workdir, "eval_samples.png"))
  with open(os.path.join(workdir, "eval.json.tmp"), "w") as f:
    json.dump(results, f, indent=2)
  os.replace(os.path.join(workdir, "eval.json.tmp"),
             os.path.join(workdir, "eval.json"))
  return results
