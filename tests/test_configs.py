"""Every config file builds and passes validation; music configs train end to end."""

import glob
import importlib
import os
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import ml_collections

from rtrbm_jax.data import datasets
from rtrbm_jax.training import loop
from rtrbm_jax.training import schema
from tests import helpers

_CONFIGS = sorted(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(
    os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "[a-z]*.py")))


def _field_types(config, prefix: str = "") -> dict:
  """{field: type name} of every leaf of `config` (a section's fields as one)."""
  fields = {}
  for name in config.keys():
    value = config[name]
    if isinstance(value, ml_collections.ConfigDict) and name != "sweep":
      fields.update(_field_types(value, f"{prefix}{name}."))
    else:
      fields[prefix + name] = type(value).__name__
  return fields


class ConfigsTest(parameterized.TestCase):

  @parameterized.parameters(*_CONFIGS)
  def test_config_is_valid(self, name):
    config = importlib.import_module(f"configs.{name}").get_config()
    schema.validate_config(config)
    for field in ("seed", "model.num_hidden", "optimizer.name",
                  "optimizer.learning_rate", "train.num_steps", "train.batch_size"):
      value = config
      for part in field.split("."):
        value = value[part]
      self.assertIsNotNone(value, field)

  @parameterized.parameters(*_CONFIGS)
  def test_config_has_exactly_the_fields_of_the_default(self, name):
    config = importlib.import_module(f"configs.{name}").get_config()
    default = importlib.import_module("configs.default").get_config()
    fields = _field_types(config)
    fields.pop("sweep", None)  # only sweeps have it
    self.assertEqual(fields, _field_types(default))

  def test_polyphonic_config_without_the_mat_files_points_at_the_download(self):
    cache = self.create_tempdir().full_path
    polyphonic = importlib.import_module("configs.polyphonic")
    # A repository with no ../shared/data/polyphonic beside it.
    with mock.patch.dict(os.environ, {"RTRBM_JAX_CACHE": cache}), \
        mock.patch.object(polyphonic, "_REPOSITORY_ROOT", cache):
      config = polyphonic.get_config("nottingham,rnnrbm")
    self.assertEqual(config.data.path, os.path.join(cache, "Nottingham.pickle"))
    with self.assertRaisesRegex(ValueError, "python -m experiments.download"):
      datasets.load_dataset(config.data)
    config.data.path = ""
    with self.assertRaisesRegex(ValueError, "config.data.path='' is not accepted"):
      datasets.load_dataset(config.data)

  def test_polyphonic_config_reads_the_mat_file_beside_the_repository(self):
    root = self.create_tempdir().full_path
    repository = os.path.join(root, "repository")
    shared = os.path.join(root, "shared", "data", "polyphonic")
    os.makedirs(shared)
    os.makedirs(repository)
    open(os.path.join(shared, "Piano_midi.mat"), "wb").close()
    polyphonic = importlib.import_module("configs.polyphonic")
    with mock.patch.object(polyphonic, "_REPOSITORY_ROOT", repository):
      config = polyphonic.get_config("piano_midi,rtrbm")
    self.assertEqual(config.data.path, os.path.join(shared, "Piano_midi.mat"))

  @parameterized.parameters("jsb_chorales", "nottingham", "musedata", "piano_midi")
  def test_polyphonic_configs_are_valid_for_both_models(self, data_set):
    polyphonic = importlib.import_module("configs.polyphonic")
    for model in ("rtrbm", "rnnrbm"):
      config = polyphonic.get_config(f"{data_set},{model}")
      schema.validate_config(config)
      self.assertEqual((config.model.kind, config.model.num_visible,
                        config.model.num_hidden), (model, 88, 150))
      self.assertEqual(config.model.num_recurrent,
                       100 if model == "rnnrbm" else None)

  @parameterized.parameters("bach", "jsb_chorales", "jsb_chorales,rbm",
                            "jsb_chorales,rtrbm,x")
  def test_a_wrong_polyphonic_config_string_is_one_line(self, config_string):
    with self.assertRaisesRegex(ValueError, f"config string {config_string!r} is "
                                "not accepted: SET,MODEL"):
      importlib.import_module("configs.polyphonic").get_config(config_string)

  def test_a_piano_roll_pickle_trains_end_to_end(self):
    config, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=6, notes_per_frame=3,
        lowest_note=60, num_notes=12, lengths=(12, 20), num_hidden=12)
    config.data.window_stride = 2
    state = loop.train_and_evaluate(config, self.create_tempdir().full_path)
    self.assertEqual(state.params.w_vh.shape, (88, 12))


if __name__ == "__main__":
  absltest.main()
