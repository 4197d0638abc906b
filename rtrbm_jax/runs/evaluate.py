"""Evaluation of a finished run: reads its workdir, writes `eval_SPLIT.json`, pictures
and its numbers to the run's TensorBoard events (`eval/SPLIT/...`).

The measures follow the papers: next-frame prediction error (the RTRBM papers'
protocol, `prediction.predict_next_frames`) on every predicted frame of the split,
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
from rtrbm_jax import files
from rtrbm_jax import progress
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm
from rtrbm_jax.outputs import metric_writers
from rtrbm_jax.runs import api
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs

LOG_LIKELIHOOD_METHODS = ("auto", "exact", "ais", "none")
# AIS defaults that finish in a minute or two on 2 CPU cores for the shipped configs
# (measured: README); pass more temperatures and chains for publishable estimates.
# On an RTRBM of JSB Chorales' size (88 x 150, 3000 updates), 1053 test frames:
# 100 x 16 gave -6.285 nats per frame, 100 x 64 -6.403, 300 x 64 -6.488,
# 1000 x 16 -6.483 and 1000 x 64 -6.498 (AIS standard error of the mean 0.002):
# the defaults overestimate it by about 0.2 nats, 1000 x 16 is within 0.02.
DEFAULT_NUM_TEMPERATURES = 100
DEFAULT_NUM_CHAINS = 16
# The split's sequences are processed this many at a time, so progress is visible.
SEQUENCES_PER_CHUNK = 8
# A chunk of sequences is cut after its longest one, rounded up to a multiple of
# this many frames, so that few shapes compile.
CHUNK_LENGTH_QUANTUM = 32

_predict_next_frames = jax.jit(prediction.predict_next_frames,
                               static_argnums=(0, 4, 5))
_errors_by_chain_length = jax.jit(prediction.next_frame_errors_by_chain_length,
                                  static_argnums=(0, 4))


def output_suffix(split: str, point: int | None, step: int | str | None) -> str:
  """What names an evaluation's files apart: "_test", "_train_point2_step100",
  "_test_best" (the best validation parameters)."""
  return (f"_{split}" + ("" if point is None else f"_point{point}")
          + ("" if step is None else "_best" if step == "best" else f"_step{step}"))


def evaluate_workdir(workdir: str, split: str = "test", seed: int = 0,
                     num_gibbs_steps: int = 50,
                     log_likelihood: str = "auto",
                     num_temperatures: int = DEFAULT_NUM_TEMPERATURES,
                     num_chains: int = DEFAULT_NUM_CHAINS,
                     num_samples: int | None = None,
                     prime_frames: int | None = None,
                     generate_frames: int | None = None,
                     num_prediction_chains: int = 10,
                     log_likelihood_frames: int | None = None,
                     step: int | str | None = None, point: int | None = None,
                     chain_lengths=prediction.CHAIN_LENGTHS) -> dict:
  """Evaluates the run in `workdir` on `split`; writes `eval_{split}.json` and
  `eval_samples_{split}.png` (`output_suffix`: `eval_test_point2_step100.json`
  for point 2's checkpoint of update 100, `eval_test_best.json` for the best
  validation parameters), and the figures as TensorBoard scalars
  `eval/{split}/...` at the parameters' step.

  Args:
    workdir: a finished run's workdir.
    split: "test" (or "train"; "valid" for music).
    seed: seed of the evaluation's randomness.
    num_gibbs_steps: Gibbs steps per predicted or generated frame.
    log_likelihood: one of LOG_LIKELIHOOD_METHODS ("auto": exact if the model can
      be enumerated, else AIS; "none": skip). Binary models need binary data.
    num_temperatures, num_chains: AIS settings.
    num_samples, prime_frames, generate_frames: the generation picture; None
      takes the run's `config.eval` value (what training's samples used).
    num_prediction_chains: chains averaged by the second next-frame figure,
      `next_frame_error_chain_average`.
    log_likelihood_frames: the log-likelihood of this many of the split's frames,
      drawn uniformly without replacement (seeded by `seed`), instead of all:
      AIS costs the same per frame, and the big music sets' test splits have
      20,000 to 64,000 frames. The mean estimates the whole split's, its standard
      error includes the sampling. None (or at least the split's frame count):
      every frame.
    step: evaluate the checkpoint of this update instead of the final parameters,
      or "best": the parameters of the best validation frame accuracy
      (`best_params.npz`; files `eval_test_best.json`, ...).
    point: for a sweep, the point to evaluate (see `api.load_run`).
    chain_lengths: Gibbs step counts of `next_frame_error_by_chain_length` (one
      chain, the key of the one-chain figure; empty to skip).

  Returns:
    The results written to the json file (its path under "files").
  """
  generation = dict(num_samples=num_samples, prime_frames=prime_frames,
                    generate_frames=generate_frames)
  _check_arguments(log_likelihood, num_temperatures, num_chains,
                   num_gibbs_steps=num_gibbs_steps,
                   num_prediction_chains=num_prediction_chains,
                   log_likelihood_frames=log_likelihood_frames,
                   **{name: value for name, value in generation.items()
                      if value is not None},
                   **{f"chain_lengths[{index}]": length
                      for index, length in enumerate(chain_lengths)})
  run = api.load_run(workdir, step, point)
  standardizer = _read_standardizer(workdir, run.config.model.num_visible)
  generation = {name: run.config.eval[name] if value is None else value
                for name, value in generation.items()}
  suffix = output_suffix(split, point, step)
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
  train_sequences = datasets.load_sequences(run.config.data, "train")
  results["train_sample"] = _train_sample_results(
      run, train_sequences[:run.config.eval.num_sequences], key_predict,
      num_gibbs_steps)
  if chain_lengths:
    results["next_frame_error_by_chain_length"] = _chain_length_results(
        run, frames, mask, key_predict, tuple(chain_lengths))
  results.update(_accuracy_and_baselines(run, frames, mask, binary, *predictions,
                                         train_sequences))
  if log_likelihood != "none":
    selected = _sample_frames(mask, log_likelihood_frames,
                              jax.random.fold_in(jax.random.key(seed), 4))
    results["log_likelihood_per_frame"] = _log_likelihood_results(
        run, frames, mask, selected, binary, key_likelihood, log_likelihood,
        num_temperatures, num_chains)
  labels = _point_labels(workdir, point)
  with metric_writers.TensorBoardWriter(
      workdir, run.config, swept_names=list(labels or {})[1:]) as events:
    results.update(_generation_results(
        workdir, run, frames, mask, key_generate, "eval_samples" + suffix,
        min(generation["num_samples"], len(sequences)),
        generation["prime_frames"], generation["generate_frames"],
        num_gibbs_steps, standardizer, events, labels))
    events.write_scalars(
        {f"eval/{split}/{name}": value
         for name, value in scalar_figures(results).items()}, run.step, labels)
  path = os.path.join(workdir, f"eval{suffix}.json")
  results["files"].append(path)
  with files.atomic_write(path) as f:
    json.dump(results, f, indent=2)
  return results


def _point_labels(workdir: str, point: int | None) -> dict | None:
  """A sweep point's labels as its training records carry them (`point` and its
  swept values), for its TensorBoard directory; None for a single run."""
  if point is None:
    return None
  return {"point": point,
          **sweep.sweep_points(workdirs.read_config(workdir))[point]}


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
  for baseline, values in results["baselines"].items():
    for name, value in values.items():
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
                     log_likelihood_frames=None, **counts) -> None:
  """Raises ValueError naming the first argument of `evaluate_workdir` not accepted.

  Args:
    log_likelihood: the likelihood method.
    num_temperatures, num_chains: AIS settings (checked when AIS may run).
    log_likelihood_frames: None or a frame count >= 1.
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
  if log_likelihood_frames is not None and (
      isinstance(log_likelihood_frames, bool)
      or not isinstance(log_likelihood_frames, int) or log_likelihood_frames < 1):
    raise ValueError(f"log_likelihood_frames={log_likelihood_frames!r} is not "
                     "accepted: None (every frame) or an integer >= 1.")
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


def _map_by_length(function, frames, mask, description: str, per_sequence=()):
  """`function(frames)` computed on chunks of sequences of similar length.

  Sequences are taken longest first, `SEQUENCES_PER_CHUNK` at a time, and each
  chunk is cut after its longest sequence (rounded up to a multiple of
  `CHUNK_LENGTH_QUANTUM` frames), so the padding of short sequences to the
  longest of the split is not computed: on MuseData, whose test pieces run from
  45 to 4,273 frames, it would be 8 times the real frames. The models are causal,
  so frames after a sequence's end never change its values.

  Args:
    function: `(frames [S, T', nv], *per_sequence cut the same way, chunk=index)
      -> pytree of [S, T' + c, ...]` arrays (c the same for every chunk, e.g. -1
      for predictions of frames 2..T).
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    description: what is computed, for the progress lines.
    per_sequence: more [B, T, ...] arrays that `function` takes, chunk by chunk.

  Returns:
    The pytree of numpy arrays `[B, T + c, ...]` (zeros after each chunk's cut).
  """
  frames = np.asarray(frames)
  lengths = np.asarray(mask).sum(axis=1)
  order = np.argsort(-lengths, kind="stable")
  tracker = progress.Progress(description, int(lengths.sum()), "frames")
  outputs, compiled_shapes = None, set()
  for index, start in enumerate(range(0, len(order), SEQUENCES_PER_CHUNK)):
    rows = order[start:start + SEQUENCES_PER_CHUNK]
    cut = min(frames.shape[1], -(-int(lengths[rows].max()) // CHUNK_LENGTH_QUANTUM)
              * CHUNK_LENGTH_QUANTUM)
    output = jax.tree.map(np.asarray, function(
        frames[rows, :cut], *(np.asarray(array)[rows, :cut]
                              for array in per_sequence), chunk=index))
    if outputs is None:
      outputs = jax.tree.map(lambda leaf: np.zeros(
          (len(frames), frames.shape[1] + leaf.shape[1] - cut) + leaf.shape[2:],
          leaf.dtype), output)
    for whole, part in zip(jax.tree.leaves(outputs), jax.tree.leaves(output)):
      whole[rows, :part.shape[1]] = part
    tracker.update(int(lengths[rows].sum()),
                   compiling=(len(rows), cut) not in compiled_shapes)
    compiled_shapes.add((len(rows), cut))
  return outputs


def _predict_in_chunks(run: api.Run, frames, mask, key, num_gibbs_steps: int,
                       num_chains: int, description: str) -> jax.Array:
  """`prediction.predict_next_frames` over chunks of sequences, with progress."""
  return jnp.asarray(_map_by_length(
      lambda chunk_frames, chunk: _predict_next_frames(
          run.model, run.params, jnp.asarray(chunk_frames),
          jax.random.fold_in(key, chunk), num_gibbs_steps, num_chains),
      frames, mask, description))


def _next_frame_results(run: api.Run, frames, mask, keys, num_gibbs_steps: int,
                        num_prediction_chains: int) -> tuple[tuple, dict]:
  """One chain's predictions and the chain average, each `[B, T - 1, nv]`, and the
  two next-frame figures.

  Args:
    run: the run evaluated.
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    keys: (key of the one-chain predictions, key of the chain average).
    num_gibbs_steps: Gibbs steps per predicted frame.
    num_prediction_chains: chains averaged by the second figure.
  """
  key_predict, key_average = keys
  predictions = _predict_in_chunks(run, frames, mask, key_predict,
                                   num_gibbs_steps, 1, "next-frame prediction")
  chain_average = _predict_in_chunks(
      run, frames, mask, key_average, num_gibbs_steps, num_prediction_chains,
      f"next-frame prediction, mean of {num_prediction_chains} chains")
  return (predictions, chain_average), {
      "next_frame_error": {
          **prediction.next_frame_error_summary(predictions, frames, mask),
          "by_frame": prediction.error_by_frame(
              prediction.prediction_error(predictions, frames).per_frame,
              np.asarray(mask)[:, 1:]),
          "num_gibbs_steps": num_gibbs_steps,
          "protocol": "the RTRBM papers': one Gibbs chain per frame from "
                      "P(h) = sigmoid(hidden bias), last visible step as mean "
                      "field",
          "unit": "squared error summed over the units of a frame"},
      "next_frame_error_chain_average": {
          **prediction.next_frame_error_summary(chain_average, frames, mask),
          "num_gibbs_steps": num_gibbs_steps,
          "num_chains": num_prediction_chains,
          "protocol": f"the mean of {num_prediction_chains} such chains' "
                      "predictions, an estimate of E[v_t | past]"}}


def _train_sample_results(run: api.Run, sequences, key,
                          num_gibbs_steps: int) -> dict:
  """The one-chain next-frame error on training sequences, beside the split's.

  The first `config.eval.num_sequences` of the training split (in simulator mode,
  simulated sequences of the training distribution), predicted with the key of
  the split's one-chain figure: a gap between the two says the model fits
  sequences it trained on better than new ones.
  """
  frames, mask = datasets.pad_sequences(sequences)
  predictions = _predict_in_chunks(run, frames, mask, key, num_gibbs_steps, 1,
                                   "next-frame prediction, training sample")
  return {"next_frame_error": {
      **prediction.next_frame_error_summary(predictions, jnp.asarray(frames), mask),
      "num_gibbs_steps": num_gibbs_steps,
      "source": ("fresh sequences of the simulator (the training distribution)"
                 if datasets.train_source(run.config.data) == "simulator"
                 else "the first sequences of the training split")}}


def _chain_length_results(run: api.Run, frames, mask, key,
                          chain_lengths: tuple[int, ...]) -> dict:
  """`prediction.next_frame_errors_by_chain_length` of the split, summarised.

  Chunked with the keys of the one-chain figure (`_predict_in_chunks`), so the
  value at the evaluation's `num_gibbs_steps` equals `next_frame_error`.
  """
  # [B, T - 1, K]: the time axis second, as `_map_by_length` cuts and pastes it.
  per_frame = _map_by_length(
      lambda chunk_frames, chunk: jnp.moveaxis(_errors_by_chain_length(
          run.model, run.params, jnp.asarray(chunk_frames),
          jax.random.fold_in(key, chunk), chain_lengths), 0, -1),
      frames, mask, "next-frame error by prediction chain length")
  summaries = [prediction.error_summary(per_frame[..., index],
                                        np.asarray(mask)[:, 1:])
               for index in range(len(chain_lengths))]
  return {"num_gibbs_steps": list(chain_lengths),
          "mean": [summary["mean"] for summary in summaries],
          "standard_error": [summary["standard_error"] for summary in summaries],
          "protocol": "one chain per frame as in next_frame_error, stopped after "
                      "each number of Gibbs steps"}


def _accuracy_and_baselines(run: api.Run, frames, mask, binary: bool,
                            predictions, chain_average, train_sequences) -> dict:
  """`frame_accuracy` and `baselines`: the model-free figures.

  Binary data of the music kind also get frame accuracies and the
  independent-Bernoulli likelihood. A unit is predicted on where the prediction
  (one chain's mean-field visible probability, or the mean of several chains'
  for `frame_accuracy_chain_average`) is above 0.5.

  Args:
    run: the run evaluated (its config names the training split of the baselines).
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    binary: every frame is 0/1.
    predictions: [B, T - 1, nv] the model's one-chain predictions.
    chain_average: [B, T - 1, nv] the mean of several chains' predictions.
    train_sequences: the training split's sequences `[T_i, nv]`.
  """
  music_like = run.data_kind == "music" and binary
  mean_frame = prediction.mean_frame(train_sequences)
  target, predicted_mask = np.asarray(frames[:, 1:]), mask[:, 1:]
  results, baselines = {}, {}
  for name, baseline in prediction.baseline_predictions(
      frames, run.model.visible_type,
      jnp.asarray(mean_frame, frames.dtype)).items():
    baselines[name] = {"next_frame_error": prediction.next_frame_error_summary(
        baseline, frames, mask)}
    if music_like and name == "copy_last_frame":
      baselines[name]["frame_accuracy"] = prediction.frame_accuracy(
          np.asarray(baseline) > 0.5, target, predicted_mask)
  if music_like:
    results["frame_accuracy"] = prediction.frame_accuracy(
        np.asarray(predictions) > 0.5, target, predicted_mask)
    results["frame_accuracy_chain_average"] = prediction.frame_accuracy(
        np.asarray(chain_average) > 0.5, target, predicted_mask)
    bernoulli = prediction.error_summary(
        likelihood.independent_bernoulli_log_likelihood(
            np.concatenate(train_sequences), np.asarray(frames)), mask)
    baselines["independent_bernoulli"] = {"log_likelihood_per_frame": {
        "mean": bernoulli["mean"], "standard_error": bernoulli["standard_error"],
        "unit": "nats per frame"}}
  results["baselines"] = baselines
  return results


def _log_likelihood_results(run: api.Run, frames, mask, selected, binary: bool,
                            key, method: str, num_temperatures: int,
                            num_chains: int) -> dict | str:
  """`likelihood.log_likelihood_summary` of the `selected` frames of the split
  (`_sample_frames`; `binary`: every frame is 0/1), or why it was skipped."""
  if run.model.visible_type == rbm.BINARY and not binary:
    return ("skipped: the data are not binary, and the likelihood of binary units "
            "is defined for 0/1 frames only")
  sampled = int(selected.sum()) < int(mask.sum())
  estimate = _chunked_log_likelihoods(run.model, run.params, frames, mask,
                                      selected if sampled else None, key,
                                      num_temperatures, num_chains, method)
  return {**likelihood.log_likelihood_summary(estimate, selected),
          **({"num_temperatures": num_temperatures, "num_chains": num_chains}
             if estimate.method == "ais" else {}),
          "num_frames": int(selected.sum()),
          **({"frames": f"a uniform sample of {int(selected.sum())} of the split's "
                        f"{int(mask.sum())} frames, without replacement"}
             if sampled else {}),
          "unit": "nats per frame"}


def _sample_frames(mask, num_frames: int | None, key) -> np.ndarray:
  """[B, T] True at `num_frames` of `mask`'s frames drawn uniformly without
  replacement with `key`; `mask` itself when None or not fewer than its frames."""
  mask = np.asarray(mask, bool)
  positions = np.flatnonzero(mask)
  if num_frames is None or num_frames >= positions.size:
    return mask
  chosen = np.asarray(jax.random.choice(key, positions.size, (num_frames,),
                                        replace=False))
  selected = np.zeros(mask.size, bool)
  selected[positions[chosen]] = True
  return selected.reshape(mask.shape)


def _generation_results(workdir: str, run: api.Run, frames, mask, key, name: str,
                        num_samples: int, prime_frames: int, generate_frames: int,
                        num_gibbs_steps: int,
                        standardizer: real_valued.Standardizer | None,
                        tensorboard, labels) -> dict:
  """Generates after priming on the split's first sequences; writes the pictures
  (also into the events of `tensorboard`, a sweep point's with `labels`).

  `standardizer` maps real-valued samples back to data units (None: none).

  Returns:
    {"generation": statistics of the generated frames, "units" (if the model saw
     standardised frames), "files": the pictures written}.
  """
  # Imported here: pictures pull in matplotlib, which evaluation does not need.
  from rtrbm_jax.outputs import samples  # pylint: disable=g-import-not-at-top
  written = samples.write_generated_samples(
      workdir, name, run.data_kind, run.model, run.params, key,
      frames[:num_samples, :prime_frames], generate_frames, num_gibbs_steps,
      run.step, standardizer, tensorboard, labels)
  results = {"generation": {
      "num_sequences": num_samples, "prime_frames": prime_frames,
      "generated_frames": generate_frames,
      "mean_unit_value_generated": float(jnp.mean(written.generated)),
      "mean_unit_value_data": float(np.mean(np.asarray(frames)[mask])),
      "mean_change_between_frames_generated": float(jnp.mean(jnp.sum(
          jnp.square(jnp.diff(written.generated, axis=1)), axis=-1))),
  }}
  if standardizer is not None:
    # The pictures show data units; the figures above are the model's.
    results["units"] = "standardised per dimension (see standardizer.npz)"
  results["files"] = written.files
  return results


def _chunked_log_likelihoods(model, params, frames, mask, selected, key,
                             num_temperatures, num_chains,
                             method) -> likelihood.FrameLogLikelihoods:
  """`likelihood.frame_log_likelihoods` over chunks of sequences, with progress.

  `selected` ([B, T] bool, or None for every frame): only these frames are
  evaluated (AIS on their rows alone); the others' values are zero.
  """
  methods = []

  def likelihoods(chunk_frames, *chunk_selected, chunk):
    chunk_key = jax.random.fold_in(key, chunk)
    if not chunk_selected:
      estimate = likelihood.frame_log_likelihoods(
          model, params, jnp.asarray(chunk_frames), chunk_key, num_temperatures,
          num_chains, method)
      methods.append(estimate.method)
      return estimate.per_frame, estimate.standard_error
    rows = np.flatnonzero(chunk_selected[0])
    per_frame = np.zeros(chunk_selected[0].size, np.float32)
    standard_error = np.zeros_like(per_frame)
    if rows.size:
      rbms = model.frame_rbms(params, jnp.asarray(chunk_frames))
      visible_bias, hidden_bias = rbms.row_biases()
      estimate = likelihood.row_log_likelihoods(
          model, rbms.w_vh,
          visible_bias if visible_bias.ndim == 1 else visible_bias[rows],
          hidden_bias[rows],
          jnp.asarray(chunk_frames.reshape(-1, chunk_frames.shape[-1])[rows]),
          chunk_key, num_temperatures, num_chains, method)
      methods.append(estimate.method)
      per_frame[rows] = estimate.per_frame
      standard_error[rows] = estimate.standard_error
    shape = chunk_selected[0].shape
    return per_frame.reshape(shape), standard_error.reshape(shape)

  per_frame, standard_error = _map_by_length(
      likelihoods, frames, mask, "log-likelihood (exact or AIS)",
      per_sequence=() if selected is None else (selected,))
  return likelihood.FrameLogLikelihoods(per_frame, standard_error, methods[0])
