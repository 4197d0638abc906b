"""What a run shows: pictures of each kind of data, the GIF, MIDI that parses back
to the same piano roll, and the curves' markers and legends."""

import json
import os
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np
from PIL import Image

from rtrbm_jax.data import real_valued
from rtrbm_jax.models import registry
from rtrbm_jax.outputs import midi
from rtrbm_jax.outputs import plotting
from rtrbm_jax.outputs import samples


def _piano_roll(rng, num_frames):
  return (rng.random((num_frames, midi.NUM_KEYS)) < 0.08).astype(np.float32)


class MidiTest(absltest.TestCase):

  def test_a_piano_roll_survives_midi_and_back_exactly(self):
    rng = np.random.default_rng(0)
    for seconds_per_frame in (0.5, 0.25, 0.1):
      roll = _piano_roll(rng, 150)
      roll[-1, [0, 87]] = 1  # the lowest and highest keys, up to the last frame
      path = os.path.join(self.create_tempdir().full_path, "roll.mid")
      midi.write_midi(roll, path, seconds_per_frame)
      np.testing.assert_array_equal(midi.read_midi(path, seconds_per_frame), roll)

  def test_held_keys_are_one_note_each(self):
    roll = np.zeros((6, midi.NUM_KEYS), np.float32)
    roll[1:5, 39] = 1  # middle C for four frames
    notes = midi.piano_roll_to_midi(roll).instruments[0].notes
    self.assertLen(notes, 1)
    self.assertEqual((notes[0].pitch, notes[0].start, notes[0].end), (60, 0.5, 2.5))

  def test_non_binary_or_misshapen_rolls_are_rejected(self):
    with self.assertRaisesRegex(ValueError, "threshold or sample"):
      midi.piano_roll_to_midi(np.full((3, 88), 0.3))
    with self.assertRaisesRegex(ValueError, r"expected \[T, 88\]"):
      midi.piano_roll_to_midi(np.zeros((3, 87)))

  def test_samples_midi_holds_primer_then_thresholded_generation(self):
    rng = np.random.default_rng(1)
    prime = np.stack([_piano_roll(rng, 4) for _ in range(2)])
    generated = rng.random((2, 5, midi.NUM_KEYS)).astype(np.float32)
    path = os.path.join(self.create_tempdir().full_path, "samples.mid")
    written = midi.write_samples(prime, generated, path)
    np.testing.assert_array_equal(midi.read_midi(path, num_frames=len(written)),
                                  written)
    np.testing.assert_array_equal(written[4:9], generated[0] > 0.5)


class WriteSamplesArgumentsTest(parameterized.TestCase):
  """Issue 34: each bad argument of `midi.write_samples` is one line naming it,
  and nothing is written."""

  @parameterized.named_parameters(
      ("seventeen_seconds", {"seconds_per_frame": 17.0},
       r"^seconds_per_frame=17.0 is not accepted: a duration > 0 and <= "
       r"16.777215"),
      ("infinite_seconds", {"seconds_per_frame": float("inf")},
       r"^seconds_per_frame=inf is not accepted"),
      ("no_sequences", {"prime": np.zeros((0, 2, 88)),
                        "generated": np.zeros((0, 3, 88))},
       r"^prime has shape \(0, 2, 88\); expected \[S, T, 88\] with S, T >= 1"),
      ("eighty_nine_columns", {"generated": np.zeros((2, 3, 89))},
       r"^generated has shape \(2, 3, 89\); expected \[S, T, 88\]"),
      ("more_primers", {"generated": np.zeros((1, 3, 88))},
       r"^prime has 2 sequences and generated 1; expected one generated "
       "sequence per primer"),
      ("nan_probability", {"generated": np.full((2, 3, 88), np.nan)},
       r"^generated has nan at \(sequence, frame, key\) \(0, 0, 0\); expected "
       r"probabilities in \[0, 1\]"),
  )
  def test_a_bad_argument_is_one_line_naming_it(self, overrides, expected):
    path = os.path.join(self.create_tempdir().full_path, "samples.mid")
    arguments = {"prime": np.zeros((2, 2, 88)),
                 "generated": np.zeros((2, 3, 88)), **overrides}
    with self.assertRaisesRegex(ValueError, expected) as raised:
      midi.write_samples(path=path, **arguments)
    self.assertNotIn("\n", str(raised.exception))
    self.assertFalse(os.path.exists(path))

  def test_the_longest_frame_midi_holds_is_written(self):
    path = os.path.join(self.create_tempdir().full_path, "samples.mid")
    midi.write_samples(np.ones((1, 1, 88)), np.ones((1, 1, 88)), path,
                       seconds_per_frame=midi.MAX_SECONDS_PER_FRAME)
    self.assertTrue(os.path.exists(path))


class PicturesTest(absltest.TestCase):

  def _write(self, prime, generated, kind):
    workdir = self.create_tempdir().full_path
    written = samples.write_samples(workdir, "samples", kind, prime, generated,
                                    step=5)
    return workdir, [os.path.basename(path) for path in written]

  def test_videos_wrap_into_rows_and_get_a_gif(self):
    rng = np.random.default_rng(0)
    prime, generated = rng.random((3, 10, 900)), rng.random((3, 90, 900))
    workdir, written = self._write(prime, generated, "video")
    self.assertEqual(written, ["samples.png", "samples.gif"])
    with Image.open(os.path.join(workdir, "samples.png")) as picture:
      # 100 frames of 30 x 30 in one strip would be over 3000 px wide.
      self.assertLessEqual(picture.width, 1700)
    with Image.open(os.path.join(workdir, "samples.gif")) as gif:
      self.assertEqual(gif.n_frames, 100)
      self.assertEqual(gif.width, 3 * (32 + 4) * 4)

  def test_real_valued_lines_draw_the_real_continuation_beside(self):
    rng = np.random.default_rng(0)
    prime, generated = rng.normal(size=(2, 10, 49)), rng.normal(size=(2, 30, 49))
    actual = rng.normal(size=(2, 20, 49))
    actual[:, :, 7] *= 10  # the most varied dimension: drawn first
    workdir = self.create_tempdir().full_path
    written = samples.write_samples(workdir, "samples", "real_valued", prime,
                                    generated, step=5, actual=actual)
    self.assertEqual([os.path.basename(path) for path in written],
                     ["samples.png"])
    labels = []

    def keep_labels(figure, path):
      del path
      labels.extend(figure.axes[0].get_legend_handles_labels()[1])
      plotting.plt.close(figure)

    with mock.patch.object(plotting, "_save", keep_labels):
      plotting.write_samples(prime, generated, "unused.png", "real_valued",
                             actual)
    self.assertLen(labels, plotting.TRACED_DIMENSIONS)
    self.assertEqual(labels[0], "dimension 7")

  def test_piano_rolls_get_a_picture_and_midi(self):
    rng = np.random.default_rng(0)
    prime = np.stack([_piano_roll(rng, 8) for _ in range(2)])
    _, written = self._write(prime, rng.random((2, 24, 88)), "music")
    self.assertEqual(written, ["samples.png", "samples.mid"])

  def test_real_valued_frames_are_drawn_as_lines(self):
    rng = np.random.default_rng(0)
    _, written = self._write(rng.normal(size=(2, 5, 20)),
                             rng.normal(size=(2, 9, 20)), "real_valued")
    self.assertEqual(written, ["samples.png"])

  def test_an_unknown_kind_is_named(self):
    with self.assertRaisesRegex(ValueError, "kind must be one of"):
      self._write(np.zeros((1, 2, 4)), np.zeros((1, 2, 4)), "piano_roll")

  def test_generated_samples_are_the_models_and_are_drawn_in_data_units(self):
    model = registry.get_model("rtrbm", "gaussian")
    params = model.init_params(jax.random.key(0), 20, 6)
    prime = np.random.default_rng(0).normal(size=(2, 5, 20)).astype(np.float32)
    standardizer = real_valued.Standardizer(mean=np.full(20, 3.0),
                                            scale=np.full(20, 2.0))
    workdir = self.create_tempdir().full_path
    written = samples.write_generated_samples(
        workdir, "eval_samples", "real_valued", model, params, jax.random.key(1),
        prime, 4, 3, 7, standardizer)
    np.testing.assert_array_equal(
        written.generated, model.generate(params, jax.random.key(1), prime, 4, 3))
    self.assertEqual(written.files, [os.path.join(workdir, "eval_samples.png")])
    self.assertTrue(os.path.exists(written.files[0]))

  def test_curves_mark_the_end_of_pretraining_and_each_cd_k_change(self):
    config = {"pretrain": {"num_steps": 100}, "train": {"gibbs_schedule": [[50, 5],
                                                                          [200, 25]]}}
    self.assertEqual(plotting._switches(config),
                     [(100, "RBM pretraining ends"), (150, "CD-5 from here"),
                      (300, "CD-25 from here")])

  def test_sweep_curves_are_labelled_by_the_swept_values(self):
    workdir = self.create_tempdir().full_path
    config = {"sweep": {"learning_rate": [0.01, 0.1]},
              "pretrain": {"num_steps": 0}, "train": {"gibbs_schedule": []}}
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      for point, rate in enumerate((0.01, 0.1)):
        for step in (10, 20):
          f.write(json.dumps({"step": step, "point": point, "learning_rate": rate,
                              "reconstruction_error": 1.0 / step,
                              "heldout_next_frame_error": 2.0 / step,
                              "heldout_next_frame_error_se": 0.1}) + "\n")
    self.assertEqual(plotting._point_label({"point": 1, "learning_rate": 0.1},
                                           ["learning_rate"]), "learning_rate=0.1")
    plotting.write_sweep_curves(os.path.join(workdir, "metrics.jsonl"),
                                os.path.join(workdir, "curves.png"), config)
    self.assertTrue(os.path.exists(os.path.join(workdir, "curves.png")))


if __name__ == "__main__":
  absltest.main()
