"""Evaluation of a finished run: reads its workdir, writes `eval_SPLIT.json`, pictures
and its numbers to the run's TensorBoard events (`eval/SPLIT/...`).

The papers' measures (next-frame error, log-likelihood per frame, Bay et al.'s
frame accuracy for music) are `evaluation/evaluators.py`'s figures, as training
records them, computed on a whole split by `evaluation/chunked.py`.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax import files
from rtrbm_jax.data import datasets
from rtrbm_jax.data import real_valued
from rtrbm_jax.evaluation import autoregressive
from rtrbm_jax.evaluation import chunked
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm
from rtrbm_jax.outputs import metric_writers
from rtrbm_jax.runs import api
from rtrbm_jax.runs import summaries
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs

LOG_LIKELIHOOD_METHODS = ("auto", "exact", "ais", "none")
# AIS defaults that finish in a minute or two on 2 CPU cores for the shipped
# configs; they overestimate a JSB-sized RTRBM's log-likelihood by about 0.2 nats
# per frame, 1000 x 16 is within 0.02 (measured: docs/guide.md): pass more
# temperatures and chains for publishable estimates.
DEFAULT_NUM_TEMPERATURES = 100
DEFAULT_NUM_CHAINS = 16
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
                     chain_lengths=prediction.CHAIN_LENGTHS,
                     prediction_rule: str | None = None,
                     ais_path: str = ais.WEIGHTS) -> dict:
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
      or "best": the parameters of the best validation figure (config.eval.select_by)
      (`best_params.npz`; files `eval_test_best.json`, ...).
    point: for a sweep, the point to evaluate (see `api.load_run`).
    chain_lengths: Gibbs step counts of `next_frame_error_by_chain_length` (one
      chain, the key of the one-chain figure; empty to skip).
    prediction_rule: how a frame is predicted from its RBM, one of
      `prediction.PREDICTION_RULES`; None: the run's `config.eval.prediction_rule`
      (what training evaluated and selected by).
    ais_path: AIS's path, one of `ais.PATHS` (`models/ais.py` measures them).

  Returns:
    The results written to the json file (its path under "files").
  """
  generation = dict(num_samples=num_samples, prime_frames=prime_frames,
                    generate_frames=generate_frames)
  _check_arguments(log_likelihood, num_temperatures, num_chains, prediction_rule,
                   num_gibbs_steps=num_gibbs_steps,
                   num_prediction_chains=num_prediction_chains,
                   log_likelihood_frames=log_likelihood_frames, ais_path=ais_path,
                   **{name: value for name, value in generation.items()
                      if value is not None},
                   **{f"chain_lengths[{index}]": length
                      for index, length in enumerate(chain_lengths)})
  run = api.load_run(workdir, step, point)
  rule = prediction_rule or run.config.eval.get("prediction_rule", "gibbs")
  prediction.check_rule(run.model, rule, "prediction_rule")
  standardizer = workdirs.read_standardizer(workdir, run.config.model.num_visible)
  generation = {name: run.config.eval[name] if value is None else value
                for name, value in generation.items()}
  sequences = datasets.load_sequences(run.config.data, split)
  frames, mask = datasets.pad_sequences(sequences)
  frames = jnp.asarray(frames)
  # Paths relative to the workdir: the file speaks of the run, wherever it lies.
  results = {"workdir": ".", "split": split,
             "step": run.step, **({} if point is None else {"point": point}),
             "num_sequences": len(sequences), "num_frames": int(mask.sum())}
  if point is not None:
    results.update(sweep.divergence_mark(workdir, point))
  results.update(_split_figures(
      run, frames, mask, seed, num_gibbs_steps, num_prediction_chains,
      tuple(chain_lengths), log_likelihood=log_likelihood,
      log_likelihood_frames=log_likelihood_frames, ais_path=ais_path,
      num_temperatures=num_temperatures, num_chains=num_chains, rule=rule))
  labels = _point_labels(workdir, point)
  suffix = output_suffix(split, point, step)
  with metric_writers.TensorBoardWriter(
      workdir, run.config, swept_names=list(labels or {})[1:]) as events:
    results.update(_generation_results(
        workdir, run, frames, mask, jax.random.split(jax.random.key(seed), 4)[2],
        "eval_samples" + suffix, min(generation["num_samples"], len(sequences)),
        generation["prime_frames"], generation["generate_frames"],
        num_gibbs_steps, standardizer, events, labels))
    events.write_scalars(
        {f"eval/{split}/{name}": value
         for name, value in summaries.scalar_figures(results).items()},
        run.step, labels)
  return _written(results, os.path.join(workdir, f"eval{suffix}.json"), workdir)


def _written(results: dict, path: str, workdir: str) -> dict:
  """`results` written to `path` as strict JSON, its files (the pictures and
  itself) named relative to the workdir: the file speaks of the run, wherever it
  lies."""
  results["files"] = [os.path.relpath(name, workdir)
                      for name in results["files"] + [path]]
  with files.atomic_write(path) as f:
    files.dump_json(results, f)
  return results


def _split_figures(run: api.Run, frames, mask, seed: int, num_gibbs_steps: int,
                   num_prediction_chains: int, chain_lengths: tuple[int, ...], *,
                   log_likelihood: str, log_likelihood_frames: int | None,
                   num_temperatures: int, num_chains: int, rule: str,
                   ais_path: str = ais.WEIGHTS) -> dict:
  """The model's figures on the padded split `frames` [B, T, nv] (`mask` [B, T]),
  its training sample and the baselines, as `evaluate_workdir` writes them."""
  key_predict, key_likelihood, _, key_average = jax.random.split(
      jax.random.key(seed), 4)
  binary = bool(np.all((np.asarray(frames) == 0) | (np.asarray(frames) == 1)))
  predictions, results = _next_frame_results(
      run, frames, mask, (key_predict, key_average), num_gibbs_steps,
      num_prediction_chains, rule)
  train_sequences = datasets.load_sequences(run.config.data, "train")
  results["train_sample"] = _train_sample_results(
      run, train_sequences[:run.config.eval.num_sequences], key_predict,
      num_gibbs_steps, rule)
  if chain_lengths:
    results["next_frame_error_by_chain_length"] = _chain_length_results(
        run, frames, mask, key_predict, chain_lengths)
  results.update(_accuracy_and_baselines(run, frames, mask, binary, *predictions,
                                         train_sequences))
  results.update(_other_figures(run, frames, mask, predictions[0]))
  if log_likelihood != "none":
    selected = chunked.sample_frames(mask, log_likelihood_frames,
                                     jax.random.fold_in(jax.random.key(seed), 4))
    results["log_likelihood_per_frame"] = _log_likelihood_results(
        run, frames, mask, selected, binary, key_likelihood, log_likelihood,
        num_temperatures, num_chains, ais_path)
  return results


def _point_labels(workdir: str, point: int | None) -> dict | None:
  """A sweep point's labels as its training records carry them (`point` and its
  swept values), for its TensorBoard directory; None for a single run."""
  if point is None:
    return None
  return {"point": point,
          **sweep.sweep_points(workdirs.read_config(workdir))[point]}


def _check_arguments(log_likelihood: str, num_temperatures, num_chains,
                     prediction_rule, log_likelihood_frames=None,
                     ais_path=ais.WEIGHTS, **counts) -> None:
  """Raises ValueError naming the first argument of `evaluate_workdir` not accepted.

  Args:
    log_likelihood: the likelihood method.
    num_temperatures, num_chains: AIS settings (checked when AIS may run).
    log_likelihood_frames: None or a frame count >= 2 (one frame's standard
      error would read 0).
    ais_path: one of `ais.PATHS`.
    **counts: name -> value of the Gibbs-step and picture counts, each in
      [1, checks.MAX_GIBBS_STEPS].
  """
  if prediction_rule not in (None, *prediction.PREDICTION_RULES):
    raise ValueError(f"prediction_rule={prediction_rule!r} is not accepted: one "
                     f"of {prediction.PREDICTION_RULES}.")
  if ais_path not in ais.PATHS:
    raise ValueError(f"ais_path={ais_path!r} is not accepted: one of {ais.PATHS}.")
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
      or not isinstance(log_likelihood_frames, int) or log_likelihood_frames < 2):
    raise ValueError(f"log_likelihood_frames={log_likelihood_frames!r} is not "
                     "accepted: None (every frame) or an integer >= 2 (a standard "
                     "error needs two frames).")
  if log_likelihood in ("auto", "ais"):
    for name, value, minimum in (("num_temperatures", num_temperatures, 2),
                                 ("num_chains", num_chains, 2)):
      if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not accepted: an integer >= "
                         f"{minimum}.")


def _next_frame_results(run: api.Run, frames, mask, keys, num_gibbs_steps: int,
                        num_prediction_chains: int,
                        rule: str) -> tuple[tuple, dict]:
  """One chain's predictions and the chain average, each `[B, T - 1, nv]`, and the
  two next-frame figures.

  Args:
    run: the run evaluated.
    frames: [B, T, nv] padded frames; mask: [B, T] True for real frames.
    keys: (key of the one-chain predictions, key of the chain average).
    num_gibbs_steps: Gibbs steps per predicted frame.
    num_prediction_chains: chains averaged by the second figure.
    rule: how a frame is predicted (`prediction.PREDICTION_RULES`).
  """
  key_predict, key_average = keys
  predictions = chunked.predict(run.model, run.params, frames, mask, key_predict,
                                num_gibbs_steps, 1, "next-frame prediction", rule)
  chain_average = chunked.predict(
      run.model, run.params, frames, mask, key_average, num_gibbs_steps,
      num_prediction_chains,
      f"next-frame prediction, mean of {num_prediction_chains} chains", rule)
  errors = _per_frame(evaluators.NEXT_FRAME_ERROR, frames, predictions)
  return (predictions, chain_average), {
      "next_frame_error": {
          **_summary(evaluators.NEXT_FRAME_ERROR, errors, mask),
          "by_frame": prediction.error_by_frame(errors["error"],
                                                np.asarray(mask)[:, 1:]),
          "num_gibbs_steps": num_gibbs_steps,
          "prediction_rule": rule,
          "protocol": prediction.protocol(run.model, rule),
          "unit": "squared error summed over the units of a frame"},
      "next_frame_error_chain_average": {
          **_figure(evaluators.NEXT_FRAME_ERROR, frames, mask, chain_average),
          "num_gibbs_steps": num_gibbs_steps,
          "num_chains": num_prediction_chains,
          "protocol": prediction.chains_protocol(rule, num_prediction_chains)}}


def _per_frame(name: str, frames, predictions) -> dict:
  """The per-frame values of figure `name` (`evaluators.EVALUATORS`) of
  next-frame `predictions` [B, T - 1, nv] of the frames [B, T, nv]."""
  return evaluators.EVALUATORS[name].per_frame(evaluators.Inputs(
      None, None, jnp.asarray(frames), None, jnp.asarray(predictions)))


def _summary(name: str, per_frame: dict, mask) -> dict:
  """Figure `name` of the predicted frames 2..T that are real in `mask` [B, T]."""
  return evaluators.EVALUATORS[name].summarise(
      jax.tree.map(np.asarray, per_frame), np.asarray(mask)[:, 1:])


def _figure(name: str, frames, mask, predictions) -> dict:
  return _summary(name, _per_frame(name, frames, predictions), mask)


def _train_sample_results(run: api.Run, sequences, key, num_gibbs_steps: int,
                          rule: str) -> dict:
  """The one-chain next-frame error on training sequences, beside the split's.

  The first `config.eval.num_sequences` of the training split (in simulator mode,
  simulated sequences of the training distribution), predicted with the key of
  the split's one-chain figure: a gap between the two says the model fits
  sequences it trained on better than new ones.
  """
  frames, mask = datasets.pad_sequences(sequences)
  predictions = chunked.predict(run.model, run.params, frames, mask, key,
                                num_gibbs_steps, 1,
                                "next-frame prediction, training sample", rule)
  return {"next_frame_error": {
      **_figure(evaluators.NEXT_FRAME_ERROR, frames, mask, predictions),
      "num_gibbs_steps": num_gibbs_steps, "prediction_rule": rule,
      "source": ("fresh sequences of the simulator (the training distribution)"
                 if datasets.train_source(run.config.data) == "simulator"
                 else "the first sequences of the training split")}}


def _chain_length_results(run: api.Run, frames, mask, key,
                          chain_lengths: tuple[int, ...]) -> dict:
  """`prediction.next_frame_errors_by_chain_length` of the split, summarised
  (chunked with the keys of the one-chain figure, so the value at the
  evaluation's `num_gibbs_steps` equals `next_frame_error`)."""
  per_frame = chunked.errors_by_chain_length(run.model, run.params, frames, mask,
                                           key, chain_lengths)
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
  results, baselines = {}, {}
  for name, baseline in prediction.baseline_predictions(
      frames, run.model.visible_type,
      jnp.asarray(mean_frame, frames.dtype)).items():
    baselines[name] = {"next_frame_error": _figure(
        evaluators.NEXT_FRAME_ERROR, frames, mask, baseline)}
    if music_like and name == "copy_last_frame":
      baselines[name]["frame_accuracy"] = _accuracy(frames, mask, baseline)
  if run.data_kind == "real_valued" and datasets.heldout_split(
      run.config.data.name) == "valid":
    baselines["linear_autoregressive"] = _autoregressive_baseline(
        run, frames, mask, train_sequences)
  if music_like:
    results["frame_accuracy"] = _accuracy(frames, mask, predictions)
    results["frame_accuracy_chain_average"] = _accuracy(frames, mask,
                                                        chain_average)
    bernoulli = prediction.error_summary(
        likelihood.independent_bernoulli_log_likelihood(
            np.concatenate(train_sequences), np.asarray(frames)), mask)
    baselines["independent_bernoulli"] = {"log_likelihood_per_frame": {
        "mean": bernoulli["mean"], "standard_error": bernoulli["standard_error"],
        "unit": "nats per frame"}}
  results["baselines"] = baselines
  return results


def _autoregressive_baseline(run: api.Run, frames, mask, train_sequences) -> dict:
  """The fitted linear autoregressive model's next-frame error (its order chosen
  on the validation split): the baseline of real-valued data."""
  predictions, order, valid_errors = autoregressive.fitted_predictions(
      train_sequences, datasets.load_sequences(run.config.data, "valid"), frames)
  return {"next_frame_error": _figure(evaluators.NEXT_FRAME_ERROR, frames, mask,
                                      jnp.asarray(predictions, frames.dtype)),
          "order": order,
          "valid_error_by_order": {str(key): value
                                   for key, value in valid_errors.items()}}




def _other_figures(run: api.Run, frames, mask, predictions) -> dict:
  """Every other figure of `evaluators.EVALUATORS` defined for the run's data and
  read from the one-chain predictions, as its summary: a figure added to the
  registry reaches `eval_*.json` and TensorBoard with no change here."""
  return {name: jax.tree.map(float, _figure(name, frames, mask, predictions))
          for name, evaluator in evaluators.EVALUATORS.items()
          if name not in summaries.DETAILED and evaluator.uses_predictions
          and run.data_kind in evaluator.applies_to}


def _accuracy(frames, mask, predictions) -> float:
  """Bay et al.'s frame accuracy of `predictions` (above 0.5: predicted on)."""
  return float(_figure(evaluators.FRAME_ACCURACY, frames, mask,
                       predictions)["mean"])


def _log_likelihood_results(run: api.Run, frames, mask, selected, binary: bool,
                            key, method: str, num_temperatures: int,
                            num_chains: int, ais_path: str) -> dict | str:
  """`likelihood.log_likelihood_summary` of the `selected` frames of the split
  (`_sample_frames`; `binary`: every frame is 0/1) with the mean upper bound and
  `likelihood.suspect_reasons`, or why it was skipped."""
  if run.model.visible_type == rbm.BINARY and not binary:
    return ("skipped: the data are not binary, and the likelihood of binary units "
            "is defined for 0/1 frames only")
  sampled = int(selected.sum()) < int(mask.sum())
  estimate = chunked.log_likelihoods(run.model, run.params, frames, mask,
                                     selected if sampled else None, key,
                                     num_temperatures, num_chains, method, ais_path)
  summary = evaluators.EVALUATORS[evaluators.LOG_LIKELIHOOD].summarise(
      {"log_likelihood": estimate.per_frame, "standard_error":
       estimate.standard_error, "upper_bound": estimate.upper_bound}, selected)
  return {"method": estimate.method, **summary,
          **({"num_temperatures": num_temperatures, "num_chains": num_chains,
              "ais_path": ais_path} if estimate.method == "ais" else {}),
          **likelihood.suspect_reasons(estimate.per_frame, estimate.upper_bound,
                                       selected, run.model.visible_type),
          "num_frames": int(selected.sum()),
          **({"frames": f"a uniform sample of {int(selected.sum())} of the split's "
                        f"{int(mask.sum())} frames, without replacement"}
             if sampled else {}),
          "unit": "nats per frame"}


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
  # Primed on real frames only: a longer primer is cut to the shortest piece
  # (padding would prime on silence), and the json says so; the real frames
  # after it are drawn beside the generated ones as far as every piece has them.
  shortest = int(np.asarray(mask)[:num_samples].sum(axis=1).min())
  asked, prime_frames = prime_frames, min(prime_frames, shortest)
  available = shortest - prime_frames
  written = samples.write_generated_samples(
      workdir, name, run.data_kind, run.model, run.params, key,
      frames[:num_samples, :prime_frames], generate_frames, num_gibbs_steps,
      run.step, standardizer, tensorboard, labels,
      actual=frames[:num_samples, prime_frames:prime_frames + max(
          0, min(available, generate_frames))])
  results = {"generation": {
      "num_sequences": num_samples, "prime_frames": prime_frames,
      **({"prime_frames_asked": asked, "note": f"the shortest primed sequence "
                                              f"has {shortest} frames"}
         if prime_frames < asked else {}),
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
