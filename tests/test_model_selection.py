"""The validation split picks the stopping point: best_params.npz, step="best"."""

import functools
import json
import os
import subprocess
import sys

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax import files
from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import chunked
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import registry
from rtrbm_jax.runs import evaluate
from rtrbm_jax.training import loop
from rtrbm_jax.training import programs
from rtrbm_jax.training import schema
from rtrbm_jax.training import selection
from rtrbm_jax.training import workdirs
from tests import helpers

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _random_model_and_frames(model, shape, num_hidden):
  """Parameters 0.5 * N(0, 1) and binary frames `shape`, drawn with numpy (eager
  jax draws compile once per shape, which costs more than these tests)."""
  rng = np.random.default_rng(0)
  params = jax.tree.map(
      lambda leaf: jnp.asarray(rng.normal(0, 0.5, leaf.shape), jnp.float32),
      model.init_params(jax.random.key(0), shape[-1], num_hidden))
  return params, jnp.asarray(rng.random(shape) < 0.5, jnp.float32)


class EvaluatorsTest(chex.TestCase):
  """The figures of `evaluators.EVALUATORS`, which training and evaluation share."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_one_pass_gives_the_error_and_the_frame_accuracy_of_its_predictions(self):
    model = registry.get_model("rnnrbm")
    params, v = _random_model_and_frames(model, (2, 4, 6), num_hidden=4)
    key = jax.random.key(3)
    figures = self.variant(evaluators.evaluate, static_argnums=(0, 1, 5))(
        (evaluators.NEXT_FRAME_ERROR, evaluators.FRAME_ACCURACY), model, params, v,
        key, 5)
    predictions = prediction.predict_next_frames(model, params, v, key, 5)
    error = prediction.prediction_error(predictions, v)
    summary = figures[evaluators.NEXT_FRAME_ERROR]
    chex.assert_trees_all_close((summary["mean"], summary["standard_error"]),
                                (error.mean, error.standard_error), rtol=1e-6)
    np.testing.assert_allclose(
        figures[evaluators.FRAME_ACCURACY]["mean"],
        prediction.frame_accuracy(np.asarray(predictions) > 0.5,
                                  np.asarray(v[:, 1:])), rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_accuracy_is_tp_over_tp_fp_fn_and_one_without_positives(self):
    evaluator = evaluators.EVALUATORS[evaluators.FRAME_ACCURACY]

    def accuracy(predicted, target):
      frames = jnp.concatenate([jnp.zeros_like(target[:, :1]), target], axis=1)
      inputs = evaluators.Inputs(None, None, frames, None, predictions=predicted)
      return evaluator.summarise(evaluator.per_frame(inputs))["mean"]

    accuracy = self.variant(accuracy)
    predicted = jnp.asarray([[[1, 1, 0, 0], [0, 1, 0, 1]]], jnp.float32)
    target = jnp.asarray([[[1, 0, 1, 0], [0, 1, 0, 0]]], jnp.float32)
    # TP 2, FP 2, FN 1.
    np.testing.assert_allclose(accuracy(predicted, target), 2 / 5, rtol=1e-6)
    np.testing.assert_allclose(accuracy(jnp.zeros((1, 2, 3)),
                                        jnp.zeros((1, 2, 3))), 1.0)

  def test_a_masked_summary_counts_the_real_frames_only(self):
    # Padding: the whole-split summaries of experiments.evaluate take a mask.
    error = np.asarray([[1.0, 2.0, 30.0], [3.0, 4.0, 5.0]], np.float32)
    mask = np.asarray([[True, True, False], [True, True, True]])
    summary = evaluators.EVALUATORS[evaluators.NEXT_FRAME_ERROR].summarise(
        {"error": error}, mask)
    self.assertAlmostEqual(summary["mean"], 3.0)
    counts = {"true_positives": np.asarray([[1, 0, 9]]),
              "errors": np.asarray([[1, 2, 9]])}
    accuracy = evaluators.EVALUATORS[evaluators.FRAME_ACCURACY].summarise(
        counts, np.asarray([[True, True, False]]))
    self.assertAlmostEqual(float(accuracy["mean"]), 1 / 4)

  def test_old_records_read_with_the_current_names(self):
    path = os.path.join(self.create_tempdir().full_path, "metrics.jsonl")
    with open(path, "w") as f:
      f.write('{"step": 5, "heldout_log_likelihood": -3.0, '
              '"heldout_log_likelihood_se": 0.1}\n')
    self.assertEqual(files.read_records(path),
                     [{"step": 5, "heldout_log_likelihood_per_frame": -3.0,
                       "heldout_log_likelihood_per_frame_se": 0.1}])


class ChunksByLengthTest(absltest.TestCase):

  def test_chunks_cut_after_their_longest_sequence_change_no_value(self):
    model = registry.get_model("rtrbm")
    params, _ = _random_model_and_frames(model, (1, 1, 5), num_hidden=4)
    rng = np.random.default_rng(1)
    lengths = [3, 70, 1, 40, 33, 2, 9, 64, 5, 12, 70]
    sequences = [(rng.random((length, 5)) < 0.5).astype(np.float32)
                 for length in lengths]
    frames, mask = datasets.pad_sequences(sequences)
    exact = jax.jit(lambda v: likelihood.frame_log_likelihoods(
        model, params, v, jax.random.key(2), method="exact").per_frame)
    whole = exact(jnp.asarray(frames))
    calls = []

    def likelihoods(chunk_frames, chunk):
      calls.append((chunk, chunk_frames.shape[1]))
      return exact(jnp.asarray(chunk_frames))

    by_chunks = chunked.map_by_length(likelihoods, frames, mask, "test")
    np.testing.assert_allclose(by_chunks[mask], np.asarray(whole)[mask], rtol=1e-5)
    self.assertEqual(by_chunks.shape, mask.shape)
    # Longest first, 8 per chunk: 70 frames, then the three shortest up to 3 -> 32.
    self.assertEqual(calls, [(0, 70), (1, 32)])


class SampledFramesTest(absltest.TestCase):
  """The log-likelihood of a uniform sample of a split's frames."""

  def setUp(self):
    super().setUp()
    self.model = registry.get_model("rtrbm")
    self.params, _ = _random_model_and_frames(self.model, (1, 1, 5), num_hidden=4)
    rng = np.random.default_rng(3)
    sequences = [(rng.random((length, 5)) < 0.5).astype(np.float32)
                 for length in (12, 3, 40, 7, 9, 25, 1, 30, 16, 2)]
    self.frames, self.mask = datasets.pad_sequences(sequences)

  def test_a_sample_draws_that_many_real_frames_reproducibly(self):
    selected = chunked.sample_frames(self.mask, 17, jax.random.key(0))
    self.assertEqual(int(selected.sum()), 17)
    self.assertFalse(np.any(selected & ~self.mask))
    np.testing.assert_array_equal(
        selected, chunked.sample_frames(self.mask, 17, jax.random.key(0)))
    self.assertFalse(np.array_equal(
        selected, chunked.sample_frames(self.mask, 17, jax.random.key(1))))
    for every_frame in (None, int(self.mask.sum()), 10**6):
      np.testing.assert_array_equal(
          chunked.sample_frames(self.mask, every_frame, jax.random.key(0)),
          self.mask)

  def test_sampled_frames_get_the_values_they_get_among_all_frames(self):
    selected = chunked.sample_frames(self.mask, 17, jax.random.key(0))
    whole = chunked.log_likelihoods(
        self.model, self.params, self.frames, self.mask, None, jax.random.key(1),
        2, 2, "exact")
    sampled = chunked.log_likelihoods(
        self.model, self.params, self.frames, self.mask, selected,
        jax.random.key(1), 2, 2, "exact")
    np.testing.assert_allclose(sampled.per_frame[selected],
                               whole.per_frame[selected], rtol=1e-5)
    np.testing.assert_array_equal(sampled.per_frame[~selected], 0.0)
    # By AIS (on the sampled rows only), within its error of the exact values.
    by_ais = chunked.log_likelihoods(
        self.model, self.params, self.frames, self.mask, selected,
        jax.random.key(1), 200, 16, "ais")
    self.assertEqual(by_ais.method, "ais")
    np.testing.assert_allclose(by_ais.per_frame[selected],
                               whole.per_frame[selected], atol=0.05)


class SampledLogLikelihoodTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_it_is_the_mean_of_its_frames_exact_log_likelihoods(self):
    model = registry.get_model("rnnrbm")
    params, frames = _random_model_and_frames(model, (3, 5, 6), 4)
    rows = jnp.asarray([0, 4, 7, 14])
    score = self.variant(functools.partial(
        evaluators.evaluate, (evaluators.LOG_LIKELIHOOD,), model,
        num_gibbs_steps=1, likelihood_rows=rows, num_temperatures=10,
        num_chains=2))
    sampled = score(params, frames, jax.random.key(0))[evaluators.LOG_LIKELIHOOD]
    whole = likelihood.frame_log_likelihoods(model, params, frames,
                                             jax.random.key(0), method="exact")
    chex.assert_shape((sampled["mean"], sampled["standard_error"]), ())
    np.testing.assert_allclose(sampled["mean"],
                               whole.per_frame.reshape(-1)[rows].mean(), rtol=1e-5)
    self.assertEqual(float(sampled["standard_error"]), 0.0)

  def test_a_sweep_scores_each_point_as_a_single_run_would(self):
    config = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=6, notes_per_frame=2,
        lowest_note=60, num_notes=8, lengths=(16, 24), num_hidden=4)[0]
    config.eval.select_by = "log_likelihood"
    config.eval.log_likelihood_frames = 7
    model = registry.get_model("rnnrbm")
    params, frames = _random_model_and_frames(model, (2, 5, 6), 4)
    points = [params, jax.tree.map(lambda leaf: 0.5 * leaf, params)]
    key = jax.random.key(config.seed + 1)
    program = functools.partial(programs._figures_program, config, model, "music",
                                frames, True)  # pylint: disable=protected-access
    swept = program(swept=True)(
        jax.tree.map(lambda *leaves: jnp.stack(leaves), *points), frames, key)
    single = program(swept=False)
    name = evaluators.LOG_LIKELIHOOD
    chex.assert_shape(swept[name]["mean"], (2,))
    for index, params in enumerate(points):
      np.testing.assert_allclose(swept[name]["mean"][index],
                                 single(params, frames, key)[name]["mean"],
                                 rtol=1e-5)
    # Without select_by="log_likelihood", training does not pay for AIS.
    self.assertNotIn(name, programs._figures_program(  # pylint: disable=protected-access
        config, model, "music", frames, False, False)(params, frames, key))

  def test_the_scored_frames_are_a_fixed_uniform_sample_or_all(self):
    rows = programs.heldout_likelihood_rows(1000, 250)
    self.assertLen(np.unique(rows), 250)
    np.testing.assert_array_equal(rows, np.sort(rows))
    self.assertBetween(int(rows.max()), 0, 999)
    np.testing.assert_array_equal(rows, programs.heldout_likelihood_rows(1000, 250))
    np.testing.assert_array_equal(programs.heldout_likelihood_rows(40, 250),
                                  np.arange(40))


def _music_run(directory, workdir, **eval_fields):
  """A tiny RTRBM on a random piano-roll pickle, evaluated and checkpointed every
  10 updates."""
  config, _ = helpers.small_music_config(
      directory, num_pieces=6, notes_per_frame=2, lowest_note=60, num_notes=8,
      lengths=(16, 24), num_hidden=10)
  config.data.window_stride = 2
  config.pretrain.num_steps = 0
  config.train.num_steps = 30
  config.eval.every = 10
  config.eval.num_sequences = 6
  config.train.checkpoint_every = 10
  config.train.keep_checkpoints = 100
  config.eval.update(eval_fields)
  loop.train_and_evaluate(config, workdir)
  return config


def _held_out_records(workdir, field):
  """The records of `workdir`'s metrics.jsonl that have `field`, its values, and
  the record of the largest."""
  records = [record for record in
             map(json.loads, open(workdirs.metrics_path(workdir)))
             if field in record]
  values = [record[field] for record in records]
  return records, values, records[int(np.argmax(values))]


class BestParamsTest(absltest.TestCase):

  def test_training_keeps_the_parameters_of_the_best_validation_accuracy(self):
    workdir = self.create_tempdir().full_path
    _music_run(self.create_tempdir().full_path, workdir)
    records, accuracies, best_record = _held_out_records(
        workdir, "heldout_frame_accuracy")
    self.assertLen(records, 3)
    with np.load(os.path.join(workdir, workdirs.BEST_PARAMS_FILE)) as stored:
      self.assertEqual(int(stored["step"]), best_record["step"])
      self.assertAlmostEqual(float(stored["frame_accuracy"]), max(accuracies),
                             places=6)
    best = rj.load_run(workdir, step="best")
    self.assertEqual(best.step, best_record["step"])
    checkpoint = rj.load_run(workdir, step=best_record["step"])
    chex.assert_trees_all_equal(best.params, checkpoint.params)

    results = evaluate.evaluate_workdir(
        workdir, step="best", log_likelihood="none", num_gibbs_steps=2,
        num_prediction_chains=2, prime_frames=2, generate_frames=2)
    self.assertEqual(results["step"], best_record["step"])
    self.assertTrue(os.path.exists(os.path.join(workdir, "eval_test_best.json")))
    for name in ("frame_accuracy", "frame_accuracy_chain_average"):
      self.assertBetween(results[name], 0.0, 1.0)

    sampled = evaluate.evaluate_workdir(
        workdir, step="best", log_likelihood="exact", log_likelihood_frames=5,
        num_gibbs_steps=2, num_prediction_chains=2, prime_frames=2,
        generate_frames=2, chain_lengths=())
    sampled_likelihood = sampled["log_likelihood_per_frame"]
    self.assertEqual(sampled_likelihood["num_frames"], 5)
    self.assertRegex(sampled_likelihood["frames"], "a uniform sample of 5 of the "
                     f"split's {sampled['num_frames']} frames")
    with self.assertRaisesRegex(ValueError, "log_likelihood_frames=0 is not "
                                "accepted: None .every frame. or an integer >= 2"):
      evaluate.evaluate_workdir(workdir, log_likelihood_frames=0)

    os.remove(os.path.join(workdir, workdirs.BEST_PARAMS_FILE))
    with self.assertRaisesRegex(ValueError, "step='best' is not accepted: "
                                ".* has no best_params.npz"):
      rj.load_run(workdir, step="best")

  def test_training_can_keep_the_parameters_of_the_best_validation_likelihood(
      self):
    workdir = self.create_tempdir().full_path
    _music_run(self.create_tempdir().full_path, workdir,
               select_by="log_likelihood", log_likelihood_frames=20)
    records, likelihoods, best_record = _held_out_records(
        workdir, "heldout_log_likelihood_per_frame")
    self.assertLen(records, 3)
    with np.load(os.path.join(workdir, workdirs.BEST_PARAMS_FILE)) as stored:
      self.assertEqual(int(stored["step"]), best_record["step"])
      self.assertAlmostEqual(float(stored["log_likelihood"]), max(likelihoods),
                             places=4)
      self.assertNotIn("frame_accuracy", stored)
    chex.assert_trees_all_equal(
        rj.load_run(workdir, step="best").params,
        rj.load_run(workdir, step=best_record["step"]).params)
    # The figure is the exact mean over the scored frames of the held-out windows.
    run = rj.load_run(workdir, step=best_record["step"])
    heldout = jnp.asarray(datasets.load_dataset(run.config.data).test[
        :run.config.eval.num_sequences])
    rows = programs.heldout_likelihood_rows(heldout.shape[0] * heldout.shape[1], 20)
    exact = likelihood.frame_log_likelihoods(run.model, run.params, heldout,
                                             jax.random.key(0), method="exact")
    self.assertAlmostEqual(float(exact.per_frame.reshape(-1)[rows].mean()),
                           best_record["heldout_log_likelihood_per_frame"], places=3)

  def test_a_lower_next_frame_error_is_the_better_one(self):
    # eval.select_by="next_frame_error" (real-valued sets): lower wins, also
    # against the figure a resumed run reads back from the file.
    workdir = self.create_tempdir().full_path
    params = registry.get_model("rtrbm").init_params(jax.random.key(0), 4, 3)
    best = selection.BestParams(workdir, 0, "next_frame_error")
    best.update(10, params, 5.0)
    best.update(20, params, 7.0)
    selection.BestParams(workdir, 20, "next_frame_error").update(30, params, 6.0)
    with np.load(os.path.join(workdir, workdirs.BEST_PARAMS_FILE)) as stored:
      self.assertEqual((int(stored["step"]), float(stored["next_frame_error"])),
                       (10, 5.0))
    config = rj.get_config("mocap")
    config.eval.select_by = "frame_accuracy"
    with self.assertRaisesRegex(ValueError, r"^config\.eval\.select_by="
                                r"'frame_accuracy' is not accepted: "
                                r"'next_frame_error' or 'log_likelihood' for "
                                r"data\.name='mocap'"):
      schema.validate_config(config)

  def test_a_best_file_chosen_by_another_figure_is_not_resumed(self):
    workdir = self.create_tempdir().full_path
    params = registry.get_model("rtrbm").init_params(jax.random.key(0), 4, 3)
    path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
    selection.BestParams(workdir, 0, "frame_accuracy").update(40, params, 0.5)
    selection.BestParams(workdir, 60, "frame_accuracy")
    self.assertTrue(os.path.exists(path))
    by_likelihood = selection.BestParams(workdir, 60, "log_likelihood")
    self.assertFalse(os.path.exists(path))
    by_likelihood.update(70, params, -20.0)
    by_likelihood.update(80, params, -25.0)
    with np.load(path) as stored:
      self.assertEqual((int(stored["step"]), float(stored["log_likelihood"])),
                       (70, -20.0))

  def test_selection_figures_are_checked_in_one_line(self):
    config = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=6, notes_per_frame=2,
        lowest_note=60, num_notes=8, lengths=(16, 24), num_hidden=10)[0]
    config.eval.select_by = "likelihood"
    with self.assertRaisesRegex(ValueError, "config.eval.select_by='likelihood' is "
                                "not accepted: one of .'frame_accuracy', "
                                "'log_likelihood'.."):
      schema.validate_config(config)
    config.eval.select_by = "log_likelihood"
    config.eval.num_temperatures = 1
    with self.assertRaisesRegex(ValueError, "config.eval.num_temperatures=1 is not "
                                "accepted: an integer >= 2"):
      schema.validate_config(config)
    bouncing = rj.get_config("tiny")
    bouncing.eval.select_by = "log_likelihood"
    with self.assertRaisesRegex(ValueError, "config.eval.select_by='log_likelihood' "
                                "is not accepted: 'frame_accuracy' for "
                                "data.name='bouncing_balls'"):
      schema.validate_config(bouncing)

  def test_a_resumed_run_keeps_the_best_before_its_checkpoint_and_no_later_one(
      self):
    workdir = self.create_tempdir().full_path
    params = registry.get_model("rtrbm").init_params(jax.random.key(0), 4, 3)
    better, worse = 0.5, 0.25
    path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
    best = selection.BestParams(workdir, 0)
    best.update(40, params, better)
    best.update(50, params, None)  # no evaluation at this step
    resumed = selection.BestParams(workdir, 60)
    resumed.update(70, params, worse)
    with np.load(path) as stored:
      self.assertEqual((int(stored["step"]), float(stored["frame_accuracy"])),
                       (40, 0.5))
    # Resumed from the checkpoint of update 30: update 40 is redone.
    selection.BestParams(workdir, 30)
    self.assertFalse(os.path.exists(path))
    selection.BestParams(workdir, 0).update(40, params, better)
    selection.BestParams(workdir, 0)  # a fresh run
    self.assertFalse(os.path.exists(path))

  def test_a_step_that_is_neither_a_number_nor_best_is_one_line(self):
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate",
         f"--workdir={self.create_tempdir().full_path}", "--step=last"],
        cwd=_REPO, capture_output=True, text=True, timeout=300)
    self.assertEqual(finished.returncode, 1, finished.stderr)
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    self.assertEqual(lines[-1], "error: --step='last' is not accepted: an update "
                     "number of a checkpoint, or 'best'.", finished.stderr)


class SelectionRestartTest(absltest.TestCase):
  """What a finished run keeps, and when selection starts again (issue 34)."""

  def _finished(self):
    workdir = self.create_tempdir().full_path
    config = _music_run(self.create_tempdir().full_path, workdir)
    path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
    with open(path, "rb") as f:
      return workdir, config, path, f.read()

  def test_a_finished_run_keeps_its_best_params_under_another_select_by(self):
    workdir, config, path, content = self._finished()
    config.eval.select_by = "log_likelihood"
    with self.assertRaisesRegex(
        ValueError, r"^the run in .* has finished \(30 updates\) and its "
        r"best_params.npz was chosen without eval.select_by 'frame_accuracy' -> "
        r"'log_likelihood': .*raise train.num_steps[^\n]*$"):
      loop.train_and_evaluate(config, workdir)
    with open(path, "rb") as f:
      self.assertEqual(f.read(), content)
    self.assertEqual(rj.load_run(workdir, step="best").config.eval.select_by,
                     "frame_accuracy")

  def _extended(self, change):
    workdir, config, path, _ = self._finished()
    config.train.num_steps = 40
    change(config)
    loop.train_and_evaluate(config, workdir, allow_config_change=True)
    records = [record for record in map(json.loads,
                                        open(workdirs.metrics_path(workdir)))
               if "config_change" in record]
    with np.load(path) as stored:
      return records, int(stored["step"])

  def test_another_data_set_restarts_selection_and_the_record_says_so(self):
    other, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=7, notes_per_frame=3,
        lowest_note=60, num_notes=8, lengths=(16, 24), num_hidden=10)
    records, best_step = self._extended(
        lambda config: setattr(config.data, "path", other.data.path))
    self.assertLen(records, 1)
    self.assertEqual(records[0]["step"], 30)
    self.assertIn("data.path", records[0]["config_change"])
    self.assertRegex(records[0]["selection_restarted"],
                     "model selection starts again: .*data.path")
    self.assertEqual(best_step, 40)

  def test_a_changed_figure_setting_restarts_selection_and_is_recorded(self):
    records, best_step = self._extended(
        lambda config: setattr(config.eval, "num_sequences", 3))
    self.assertEqual(records[0]["config_change"]["eval.num_sequences"],
                     {"from": 6, "to": 3})
    self.assertIn("selection_restarted", records[0])
    self.assertEqual(best_step, 40)


if __name__ == "__main__":
  absltest.main()
