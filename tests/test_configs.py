"""Every config file builds and passes validation; music configs train end to end."""

import glob
import importlib
import os
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import ml_collections

from rtrbm_jax import train
from rtrbm_jax import validation
from rtrbm_jax.data import datasets
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
    validation.validate_config(config)
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

  def test_piano_roll_config_points_at_the_download_and_says_how_to_get_it(self):
    cache = self.create_tempdir().full_path
    with mock.patch.dict(os.environ, {"RTRBM_JAX_CACHE": cache}):
      config = importlib.import_module("configs.piano_rolls").get_config("nottingham")
    self.assertEqual(config.data.path, os.path.join(cache, "Nottingham.pickle"))
    with self.assertRaisesRegex(ValueError, "python -m experiments.download"):
      datasets.load_dataset(config.data)
    config.data.path = ""
    with self.assertRaisesRegex(ValueError, "config.data.path='' is not accepted"):
      datasets.load_dataset(config.data)
    with self.assertRaisesRegex(ValueError, "config string 'bach' is not accepted"):
      importlib.import_module("configs.piano_rolls").get_config("bach")

  def test_a_piano_roll_pickle_trains_end_to_end(self):
    config, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=6, notes_per_frame=3,
        lowest_note=60, num_notes=12, lengths=(12, 20), num_hidden=12)
    config.data.window_stride = 2
    state = train.train_and_evaluate(config, self.create_tempdir().full_path)
    self.assertEqual(state.params.w_vh.shape, (88, 12))


if __name__ == "__main__":
  absltest.main()
