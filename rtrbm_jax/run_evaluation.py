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
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax import evaluation
from rtrbm_jax import files
from rtrbm_jax import progress
from rtrbm_jax import rbm
from rtrbm_jax import runs
from rtrbm_jax import train
from rtrbm_jax.data import datasets
from rtrbm_jax.data import music
from rtrbm_jax.data import real_valued

LOG_LIKELIHOOD_METHODS = ("auto", "exact", "ais", "none")
# AIS defaults that finish in a minute or two on 2 CPU cores for the shipped configs
# (measured: README); pass more temperatures and chains for publishable estimates.
DEFAULT_NUM_TEMPERATURES = 100
DEFAULT_NUM_CHAINS = 16
# The split's sequences are processed this many at a time, so progress is visible.
SEQUENCES_PER_CHUNK = 8


def _mean_and_standard_error(values: np.ndarray) -> tuple[float, float]:
  summary = evaluation.error_summary(np.asarray(values).reshape(1, -1))
  return summary["mean"], summary["standard_error"]


def evaluate_workdir(workdir: str, split: str = "test", seed: int = 0,
                     num_gibbs_steps: int = 50,
                     log_likelihood: str = "auto",
                     num_temperatures: int = DEFAULT_NUM_TEMPERATURES,
                     num_chains: int = DEFAULT_NUM_CHAINS, num_samples: int = 4,
                     prime_frames: int = 10, generate_frames: int = 30,
                     num_prediction_chains: int = 10,
                     step: int = None, point: int = None) -> dict:
  """Evaluates the run in `workdir` on `split`; writes `eval.json`, `eval_samples.png`.

  For a sweep point the files are `eval_point{N}.json` and `eval_samples_point{N}.*`;
  for a checkpoint step `eval_step{S}.json` and so on.

  Args:
    workdir: a finished run's workdir.
    split: "test" (or "train"; "valid" for music).
    seed: seed of the evaluation's randomness.
    num_gibbs_steps: Gibbs steps per predicted or generated frame.
    log_likelihood: one of LOG_LIKELIHOOD_METHODS ("auto": exact if the model can
      be enumerated, else AIS; "none": skip). Binary models need binary data.
    num_temperatures, num_chains: AIS settings.
    num_samples, prime_frames, generate_frames: the generation picture.
    num_prediction_chains: chains averaged by the second next-frame figure,
      `next_frame_error_chain_average`.
    step: evaluate the checkpoint of this update instead of the final parameters.
    point: for a sweep, the point to evaluate (see `runs.load_run`).

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
  run = runs.load_run(workdir, step, point)
  config, model, params = run.config, run.model, run.params
  suffix = ("" if point is None else f"_point{point}") + (
      "" if step is None else f"_step{step}")
  sequences = datasets.load_sequences(config.data, split)
  frames, mask = datasets.pad_sequences(sequences)
  frames = jnp.asarray(frames)
  key_predict, key_likelihood, key_generate, key_average = jax.random.split(
      jax.random.key(seed), 4)
  results = {"workdir": os.path.abspath(workdir), "split": split,
             "step": run.step, **({} if point is None else {"point": point}),
             "num_sequences": len(sequences), "num_frames": int(mask.sum())}

  predict = jax.jit(evaluation.predict_next_frames, static_argnums=(0, 4, 5))

  def predict_in_chunks(key, num_prediction_chains, description):
    return jnp.asarray(progress.map_chunks(
        lambda chunk_frames, chunk: predict(
            model, params, chunk_frames, jax.random.fold_in(key, chunk),
            num_gibbs_steps, num_prediction_chains),
        (np.asarray(frames),), SEQUENCES_PER_CHUNK, description))

  predictions = predict_in_chunks(key_predict, 1, "next-frame prediction")
  predicted_mask = mask[:, 1:]

  def error(prediction):
    per_frame = evaluation.prediction_error(prediction, frames).per_frame
    return evaluation.error_summary(per_frame, predicted_mask)

  results["next_frame_error"] = {
      **error(predictions), "num_gibbs_steps": num_gibbs_steps,
      "protocol": "the RTRBM papers': one Gibbs chain per frame from "
                  "P(h) = sigmoid(hidden bias), last visible step as mean field",
      "unit": "squared error summed over the units of a frame"}
  chain_average = predict_in_chunks(
      key_average, num_prediction_chains,
      f"next-frame prediction, mean of {num_prediction_chains} chains")
  results["next_frame_error_chain_average"] = {
      **error(chain_average), "num_gibbs_steps": num_gibbs_steps,
      "num_chains": num_prediction_chains,
      "protocol": f"the mean of {num_prediction_chains} such chains' predictions, an "
                  "estimate of E[v_t | past]"}

  binary_data = bool(np.all((np.asarray(frames) == 0) | (np.asarray(frames) == 1)))
  music_like = config.data.name != "bouncing_balls" and binary_data
  train_sequences = datasets.load_sequences(config.data, "train")
  # Summed sequence by sequence: the training split need not be copied whole.
  mean_frame = (sum(sequence.sum(axis=0, dtype=np.float64)
                    for sequence in train_sequences)
                / sum(len(sequence) for sequence in train_sequences))
  baselines = {}
  for name, prediction in evaluation.baseline_predictions(
      frames, model.visible_type, jnp.asarray(mean_frame, frames.dtype)).items():
    baselines[name] = {"next_frame_error": error(prediction)}
    if music_like and name == "copy_last_frame":
      baselines[name]["frame_accuracy"] = music.frame_accuracy(
          np.asarray(prediction) > 0.5, np.asarray(frames[:, 1:]), predicted_mask)
  if music_like:
    results["frame_accuracy"] = music.frame_accuracy(
        np.asarray(predictions) > 0.5, np.asarray(frames[:, 1:]), predicted_mask)
    bernoulli = evaluation.independent_bernoulli_log_likelihood(
        np.concatenate(train_sequences), np.asarray(frames))[mask]
    mean, standard_error = _mean_and_standard_error(bernoulli)
    baselines["independent_bernoulli"] = {"log_likelihood_per_frame": {
        "mean": mean, "standard_error": standard_error, "unit": "nats per frame"}}
  results["baselines"] = baselines

  if log_likelihood != "none" and (binary_data or model.visible_type != rbm.BINARY):
    estimate = _chunked_log_likelihoods(model, params, frames, key_likelihood,
                                        num_temperatures, num_chains,
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
  from rtrbm_jax import outputs  # pylint: disable=g-import-not-at-top
  results["files"] = outputs.write_samples(workdir, "eval_samples" + suffix,
                                           *pictures, run.step)
  path = os.path.join(workdir, f"eval{suffix}.json")
  with files.atomic_write(path) as f:
    json.dump(results, f, indent=2)
  return results


def _chunked_log_likelihoods(model, params, frames, key, num_temperatures,
                             num_chains, method) -> evaluation.FrameLogLikelihoods:
  """`evaluation.frame_log_likelihoods` over chunks of sequences, with progress."""
  methods = []

  def likelihoods(chunk_frames, chunk):
    estimate = evaluation.frame_log_likelihoods(
        model, params, jnp.asarray(chunk_frames), jax.random.fold_in(key, chunk),
        num_temperatures, num_chains, method)
    methods.append(estimate.method)
    return estimate.per_frame, estimate.standard_error

  per_frame, standard_error = progress.map_chunks(
      likelihoods, (np.asarray(frames),), SEQUENCES_PER_CHUNK,
      "log-likelihood (exact or AIS)")
  return evaluation.FrameLogLikelihoods(per_frame, standard_error, methods[0])
