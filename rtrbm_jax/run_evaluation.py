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
from rtrbm_jax import sweep
from rtrbm_jax import workdirs
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued

LOG_LIKELIHOOD_METHODS = ("auto", "exact", "ais", "none")
# AIS defaults that finish in a minute or two on 2 CPU cores for the shipped configs
# (measured: README); pass more temperatures and chains for publishable estimates.
DEFAULT_NUM_TEMPERATURES = 100
DEFAULT_NUM_CHAINS = 16
# The split's sequences are processed this many at a time, so progress is visible.
SEQUENCES_PER_CHUNK = 8

_predict_next_frames = jax.jit(evaluation.predict_next_frames,
                               static_argnums=(0, 4, 5))


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
  _check_arguments(log_likelihood, num_temperatures, num_chains,
                   num_gibbs_steps=num_gibbs_steps, num_samples=num_samples,
                   prime_frames=prime_frames, generate_frames=generate_frames,
                   num_prediction_chains=num_prediction_chains)
  run = runs.load_run(workdir, step, point)
  standardizer = _read_standardizer(workdir, run.config.model.num_visible)
  suffix = ("" if point is None else f"_point{point}") + (
      "" if step is None else f"_step{step}")
  sequences = datasets.load_sequences(run.config.data, split)
  frames, mask = datasets.pad_sequences(sequences)
  frames = jnp.asarray(frames)
  key_predict, key_likelihood, key_generate, key_average = jax.random.split(
      jax.random.key(seed), 4)
  results = {"workdir": os.path.abspath(workdir), "split": split,
             "step": run.step, **({} if point is None else {"point": point}),
             "num_sequences": len(sequences), "num_frames": int(mask.sum())}
  if point is not None:
    results.update(_divergence(workdir, point))
  binary = _is_binary(frames)
  predictions, next_frame_results = _next_frame_results(
      run, frames, mask, (key_predict, key_average), num_gibbs_steps,
      num_prediction_chains)
  results.update(next_frame_results)
  results.update(_accuracy_and_baselines(run, frames, mask, binary, predictions))
  if log_likelihood != "none":
    results["log_likelihood_per_frame"] = _log_likelihood_results(
        run, frames, mask, binary, key_likelihood, log_likelihood,
        num_temperatures, num_chains)
  results.update(_generation_results(
      workdir, run, frames, mask, key_generate, "eval_samples" + suffix,
      min(num_samples, len(sequences)), prime_frames, generate_frames,
      num_gibbs_steps, standardizer))
  with files.atomic_write(os.path.join(workdir, f"eval{suffix}.json")) as f:
    json.dump(results, f, indent=2)
  return results


def _divergence(workdir: str, point: int) -> dict:
  """{"diverged": ...} for a sweep point that diverged during training, else {}.

  Its parameters are those of its last finite update, so they evaluate as a
  normal point's would; the mark says the figures are not of a trained point.
  """
  path = workdirs.metrics_path(workdir)
  step = sweep.diverged_steps(path).get(point) if os.path.exists(path) else None
  if step is None:
    return {}
  return {"diverged": {
      "first_step": step,
      "note": "NaN or inf at this point's updates: they were not applied, and "
              "the parameters are those of its last finite update"}}


def _check_arguments(log_likelihood: str, num_temperatures, num_chains,
                     **counts) -> None:
  """Raises ValueError naming the first argument of `evaluate_workdir` not accepted.

  Args:
    log_likelihood: the likelihood method.
    num_temperatures, num_chains: AIS settings (checked when AIS may run).
    **counts: name -> value of the Gibbs-step and picture counts, each in
      [1, checks.MAX_GIBBS_STEPS].
  """
  if log_likelihood not in LOG_LIKELIHOOD_METHODS:
    raise ValueError(f"log_likelihood={log_likelihood!r} is not accepted: one of "
                     f"{LOG_LIKELIHOOD_METHODS}.")
  for name, value in counts.items():
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


def _read_standardizer(workdir: str,
                       num_visible: int) -> real_valued.Standardizer | None:
  """The run's `standardizer.npz` (None without one), checked before any work.

  Raises:
    ValueError: the file does not read as a mean and a scale of `num_visible`
      finite values (one line naming it).
  """
  path = os.path.join(workdir, workdirs.STANDARDIZER_FILE)
  if not os.path.exists(path):
    return None
  fields = real_valued.Standardizer._fields
  try:
    with np.load(path) as stored:
      arrays = {name: np.asarray(stored[name]) for name in fields}
    for name, array in arrays.items():
      if (array.shape != (num_visible,) or array.dtype.kind != "f"
          or not np.all(np.isfinite(array))):
        raise ValueError(f"{name} has shape {list(array.shape)}, expected "
                         f"[{num_visible}] finite values")
  except Exception as error:  # pylint: disable=broad-except
    # numpy raises zipfile, EOF, OS, key and value errors for damaged files.
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise ValueError(f"{path} is damaged or not this run's ({reason}); rerun "
                     "experiments.train on the workdir to write it again.") from error
  return real_valued.Standardizer(**arrays)


def _is_binary(frames) -> bool:
  frames = np.asarray(frames)
  return bool(np.all((frames == 0) | (frames == 1)))


def _predict_in_chunks(run: runs.Run, frames, key, num_gibbs_steps: int,
                       num_chains: int, description: str) -> jax.Array:
  """`evaluation.predict_next_frames` over chunks of sequences, with progress."""
  return jnp.asarray(progress.map_chunks(
      lambda chunk_frames, chunk: _predict_next_frames(
          run.model, run.params, chunk_frames, jax.random.fold_in(key, chunk),
          num_gibbs_steps, num_chains),
      (np.asarray(frames),), SEQUENCES_PER_CHUNK, description))


def _next_frame_results(run: runs.Run, frames, mask, keys, num_gibbs_steps: int,
                        num_prediction_chains: int) -> tuple[jax.Array, dict]:
  """One chain's predictions `[B, T - 1, nv]`, and the two next-frame figures.

  Args:
    run: the run evaluated.
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    keys: (key of the one-chain predictions, key of the chain average).
    num_gibbs_steps: Gibbs steps per predicted frame.
    num_prediction_chains: chains averaged by the second figure.
  """
  key_predict, key_average = keys
  predictions = _predict_in_chunks(run, frames, key_predict, num_gibbs_steps, 1,
                                   "next-frame prediction")
  chain_average = _predict_in_chunks(
      run, frames, key_average, num_gibbs_steps, num_prediction_chains,
      f"next-frame prediction, mean of {num_prediction_chains} chains")
  return predictions, {
      "next_frame_error": {
          **evaluation.next_frame_error_summary(predictions, frames, mask),
          "num_gibbs_steps": num_gibbs_steps,
          "protocol": "the RTRBM papers': one Gibbs chain per frame from "
                      "P(h) = sigmoid(hidden bias), last visible step as mean "
                      "field",
          "unit": "squared error summed over the units of a frame"},
      "next_frame_error_chain_average": {
          **evaluation.next_frame_error_summary(chain_average, frames, mask),
          "num_gibbs_steps": num_gibbs_steps,
          "num_chains": num_prediction_chains,
          "protocol": f"the mean of {num_prediction_chains} such chains' "
                      "predictions, an estimate of E[v_t | past]"}}


def _accuracy_and_baselines(run: runs.Run, frames, mask, binary: bool,
                            predictions) -> dict:
  """`frame_accuracy` and `baselines`: the model-free figures.

  Binary data other than bouncing balls (music) also get frame accuracies and the
  independent-Bernoulli likelihood.

  Args:
    run: the run evaluated (its config names the training split of the baselines).
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    binary: every frame is 0/1.
    predictions: [B, T - 1, nv] the model's one-chain predictions.
  """
  music_like = run.config.data.name != "bouncing_balls" and binary
  train_sequences = datasets.load_sequences(run.config.data, "train")
  mean_frame = evaluation.mean_frame(train_sequences)
  target, predicted_mask = np.asarray(frames[:, 1:]), mask[:, 1:]
  results, baselines = {}, {}
  for name, prediction in evaluation.baseline_predictions(
      frames, run.model.visible_type,
      jnp.asarray(mean_frame, frames.dtype)).items():
    baselines[name] = {"next_frame_error": evaluation.next_frame_error_summary(
        prediction, frames, mask)}
    if music_like and name == "copy_last_frame":
      baselines[name]["frame_accuracy"] = evaluation.frame_accuracy(
          np.asarray(prediction) > 0.5, target, predicted_mask)
  if music_like:
    results["frame_accuracy"] = evaluation.frame_accuracy(
        np.asarray(predictions) > 0.5, target, predicted_mask)
    bernoulli = evaluation.error_summary(
        evaluation.independent_bernoulli_log_likelihood(
            np.concatenate(train_sequences), np.asarray(frames)), mask)
    baselines["independent_bernoulli"] = {"log_likelihood_per_frame": {
        "mean": bernoulli["mean"], "standard_error": bernoulli["standard_error"],
        "unit": "nats per frame"}}
  results["baselines"] = baselines
  return results


def _log_likelihood_results(run: runs.Run, frames, mask, binary: bool, key,
                            method: str, num_temperatures: int,
                            num_chains: int) -> dict | str:
  """`evaluation.log_likelihood_summary` of the split (`binary`: every frame is
  0/1), or why it was skipped."""
  if run.model.visible_type == rbm.BINARY and not binary:
    return ("skipped: the data are not binary, and the likelihood of binary units "
            "is defined for 0/1 frames only")
  estimate = _chunked_log_likelihoods(run.model, run.params, frames, key,
                                      num_temperatures, num_chains, method)
  return {**evaluation.log_likelihood_summary(estimate, mask),
          **({"num_temperatures": num_temperatures, "num_chains": num_chains}
             if estimate.method == "ais" else {}),
          "unit": "nats per frame"}


def _generation_results(workdir: str, run: runs.Run, frames, mask, key, name: str,
                        num_samples: int, prime_frames: int, generate_frames: int,
                        num_gibbs_steps: int,
                        standardizer: real_valued.Standardizer | None) -> dict:
  """Generates after priming on the split's first sequences; writes the pictures.

  `standardizer` maps real-valued samples back to data units (None: none).

  Returns:
    {"generation": statistics of the generated frames, "units" (if the model saw
     standardised frames), "files": the pictures written}.
  """
  # Imported here: pictures pull in matplotlib, which evaluation does not need.
  from rtrbm_jax import outputs  # pylint: disable=g-import-not-at-top
  samples = outputs.write_generated_samples(
      workdir, name, run.model, run.params, key,
      frames[:num_samples, :prime_frames], generate_frames, num_gibbs_steps,
      run.step, standardizer)
  results = {"generation": {
      "num_sequences": num_samples, "prime_frames": prime_frames,
      "generated_frames": generate_frames,
      "mean_unit_value_generated": float(jnp.mean(samples.generated)),
      "mean_unit_value_data": float(np.mean(np.asarray(frames)[mask])),
      "mean_change_between_frames_generated": float(jnp.mean(jnp.sum(
          jnp.square(jnp.diff(samples.generated, axis=1)), axis=-1))),
  }}
  if standardizer is not None:
    # The pictures show data units; the figures above are the model's.
    results["units"] = "standardised per dimension (see standardizer.npz)"
  results["files"] = samples.files
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
