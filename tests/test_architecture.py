"""The package's layers and its single homes: imports run one way, the pure step
imports no I/O, one schema, one registry, one dotted-path helper, the top level."""

import ast
import os
import types

from absl.testing import absltest
from absl.testing import parameterized
import jax
import ml_collections

import rtrbm_jax as rj
from rtrbm_jax import config_fields
from rtrbm_jax.data import datasets
from rtrbm_jax.data import registry as data_registry
from rtrbm_jax.models import registry
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import rtrbm
from rtrbm_jax.models import temporal
from rtrbm_jax.training import schema
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs

_PACKAGE = os.path.dirname(rj.__file__)
# Each folder's layer: a module may import its own folder and lower layers only.
# The plumbing at the top of the package (files, progress, config_fields, checks)
# imports nothing of it and serves every layer.
_LAYERS = {"models": 1, "data": 2, "evaluation": 3, "outputs": 3, "training": 4,
           "runs": 5}


def _package_imports(path: str) -> set[str]:
  """The rtrbm_jax modules that the file at `path` imports, anywhere in it."""
  imported = set()
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.ImportFrom) and node.module.startswith("rtrbm_jax"):
      imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Import):
      imported.update(alias.name for alias in node.names
                      if alias.name.startswith("rtrbm_jax"))
  return imported


def _layer(module: str) -> int:
  """0 for the plumbing modules at the top, else the layer of its folder."""
  parts = module.split(".")
  return _LAYERS[parts[1]] if len(parts) > 2 and parts[1] in _LAYERS else 0


class LayersTest(parameterized.TestCase):

  @parameterized.parameters(*_LAYERS)
  def test_a_folder_imports_only_itself_and_lower_layers(self, folder):
    for name in os.listdir(os.path.join(_PACKAGE, folder)):
      if not name.endswith(".py"):
        continue
      for module in _package_imports(os.path.join(_PACKAGE, folder, name)):
        with self.subTest(file=f"{folder}/{name}", imports=module):
          same_folder = module.split(".")[1] == folder
          self.assertTrue(same_folder or _layer(module) < _LAYERS[folder])

  def test_the_plumbing_imports_nothing_of_the_package_but_itself(self):
    for name in ("files.py", "progress.py", "config_fields.py", "checks.py"):
      imports = _package_imports(os.path.join(_PACKAGE, name))
      self.assertEqual({module for module in imports if _layer(module)}, set(),
                       name)

  def test_the_pure_train_step_imports_no_file_log_or_checkpoint_code(self):
    tree = ast.parse(open(os.path.join(_PACKAGE, "training", "steps.py")).read())
    imported = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom):
        imported.update(f"{node.module}.{alias.name}" for alias in node.names)
      elif isinstance(node, ast.Import):
        imported.update(alias.name for alias in node.names)
    self.assertEqual(
        {module for module in imported
         if not module.startswith(("typing.", "jax", "optax",
                                   "rtrbm_jax.models."))}, set())


class TopLevelTest(absltest.TestCase):

  def test_the_top_level_exports_the_models_as_modules_and_the_run_functions(self):
    self.assertEqual(sorted(rj.__all__), sorted(set(rj.__all__)))
    for name in rj.__all__:
      self.assertTrue(hasattr(rj, name), name)
    self.assertIs(rj.rtrbm, rtrbm)
    self.assertIs(rj.rnnrbm, rnnrbm)
    self.assertIsInstance(rj.train, types.FunctionType)
    self.assertIsInstance(rj.load_run, types.FunctionType)
    self.assertIs(rj.get_model, registry.get_model)


class RegistryTest(parameterized.TestCase):

  @parameterized.parameters(*registry.MODEL_KINDS)
  def test_get_model_bundles_the_parts_of_its_kind(self, kind):
    # Gaussian units where the frames are RBMs; NADE frames are binary only.
    visible_type = ("gaussian" if registry.get_model(kind).frame_rbms is not None
                    else "binary")
    model = registry.get_model(kind, visible_type, "fused_threefry")
    self.assertIsInstance(model, temporal.TemporalModel)
    self.assertEqual((model.kind, model.visible_type, model.sampler),
                     (kind, visible_type, "fused_threefry"))
    self.assertIs(model.check_params, registry.MODELS[kind].check_params)

  def test_an_unknown_kind_is_named(self):
    with self.assertRaisesRegex(ValueError, "model kind must be one of"):
      registry.get_model("tsbn")

  def test_make_model_binds_an_init_option_its_parts_name(self):
    model = temporal.make_model(rnnrbm.PARTS, num_recurrent=3)
    params = model.init_params(jax.random.key(0), 5, 4)
    self.assertEqual(params.w_uu.shape, (3, 3))
    with self.assertRaisesRegex(ValueError, "num_recurrent does not apply"):
      temporal.make_model(rtrbm.PARTS, num_recurrent=3)


class SchemaTest(absltest.TestCase):

  def test_every_field_has_a_resume_rule(self):
    for path, field in schema.FIELDS.items():
      self.assertIn(field.resume, schema.RESUME_RULES, path)

  def test_sweeps_vary_the_fields_the_schema_marks_in_its_grid_order(self):
    # The order numbers a sweep's points: it must not change between versions.
    self.assertEqual(list(sweep.SWEEPABLE.items()), [
        ("learning_rate", "optimizer.learning_rate"),
        ("momentum", "optimizer.momentum"),
        ("weight_decay", "optimizer.weight_decay"),
        ("weight_scale", "model.weight_scale"), ("seed", "seed"),
        ("num_gibbs_steps", "train.num_gibbs_steps")])

  def test_resume_rules_come_from_the_schema(self):
    config = ml_collections.ConfigDict({"train": {"chain_start": "data"}})
    self.assertEqual(workdirs.resume_rule("train.log_every", config), schema.FREE)
    self.assertEqual(workdirs.resume_rule("model.num_hidden", config),
                     schema.FIXED)
    self.assertEqual(workdirs.resume_rule("train.batch_size", config),
                     schema.WITH_FLAG)
    self.assertEqual(workdirs.resume_rule("sweep.seed", config), schema.FIXED)
    config.train.chain_start = "persistent"
    self.assertEqual(workdirs.resume_rule("train.batch_size", config),
                     schema.FIXED)

  def test_a_field_left_out_reads_as_its_default(self):
    config = ml_collections.ConfigDict({"data": {"name": "bouncing_balls"}})
    self.assertEqual(schema.get(config, "data.train_source"),
                     datasets.DEFAULT_TRAIN_SOURCE)
    self.assertIsNone(schema.get(config, "model.num_recurrent"))


class ConfigFieldsTest(absltest.TestCase):

  def test_dotted_paths_read_write_and_flatten_configs_and_dicts(self):
    for config in ({"seed": 0, "model": {"kind": "rtrbm", "sizes": {"a": 1}}},
                   ml_collections.ConfigDict(
                       {"seed": 0, "model": {"kind": "rtrbm", "sizes": {"a": 1}}})):
      self.assertEqual(config_fields.get_field(config, "model.sizes.a"), 1)
      config_fields.set_field(config, "model.kind", "rnnrbm")
      config_fields.set_field(config, "seed", 3)
      self.assertEqual(config_fields.flatten(config),
                       {"seed": 3, "model.kind": "rnnrbm", "model.sizes.a": 1})
      self.assertIsNone(config_fields.missing_prefix(config, "model.sizes.a"))
      self.assertEqual(config_fields.missing_prefix(config, "model.size.a"),
                       "model.size")
      self.assertEqual(config_fields.missing_prefix(config, "seed.a"), "seed.a")


class DataKindTest(absltest.TestCase):

  def test_every_data_set_has_a_kind(self):
    for name in datasets.DATASET_NAMES:
      self.assertIn(datasets.data_kind(ml_collections.ConfigDict({"name": name})),
                    datasets.DATA_KINDS)
    kinds = {name: entry.kind for name, entry in data_registry.DATA_SETS.items()}
    self.assertEqual(kinds["bouncing_balls"], "video")
    self.assertEqual(kinds["piano_rolls"], "music")
    self.assertEqual(kinds["arm"], "real_valued")
    with self.assertRaisesRegex(ValueError, r"^config\.data\.name='mnist' is not "
                                r"accepted: one of \("):
      data_registry.get_data_set("mnist")

  def test_only_the_data_set_registry_names_data_sets(self):
    # The schema, the loop and evaluation read the registry's entries: a new data
    # set is its module and one entry (names in docstrings and messages aside).
    for folder in ("training", "runs", "evaluation"):
      for name in os.listdir(os.path.join(_PACKAGE, folder)):
        if not name.endswith(".py"):
          continue
        tree = ast.parse(open(os.path.join(_PACKAGE, folder, name)).read())
        compared = [node for node in ast.walk(tree)
                    if isinstance(node, ast.Compare) and any(
                        isinstance(side, ast.Constant)
                        and side.value in data_registry.DATA_SETS
                        for side in [node.left, *node.comparators])]
        self.assertEqual(compared, [], f"{folder}/{name}")

  def test_a_workdir_without_config_json_is_named(self):
    workdir = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, "has no config.json"):
      workdirs.read_config(workdir)


class SizesTest(absltest.TestCase):
  """Small enough to read: every module of the package and of experiments/ at most
  500 lines, every function at most 60 lines of code (docstrings, comments and
  blank lines not counted)."""

  def _modules(self):
    for folder in (_PACKAGE, os.path.join(os.path.dirname(_PACKAGE), "experiments")):
      for root, _, names in os.walk(folder):
        for name in names:
          if name.endswith(".py"):
            yield os.path.join(root, name)

  def test_modules_and_functions_are_small(self):
    for path in self._modules():
      with open(path) as f:
        source = f.read()
      lines = source.splitlines()
      self.assertLessEqual(len(lines), 500, path)
      for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
          continue
        docstring = set()
        if ast.get_docstring(node) is not None:
          docstring = set(range(node.body[0].lineno, node.body[0].end_lineno + 1))
        code = [number for number in range(node.lineno, node.end_lineno + 1)
                if number not in docstring and lines[number - 1].strip()
                and not lines[number - 1].strip().startswith("#")]
        self.assertLessEqual(len(code), 60, f"{path}: {node.name}")


if __name__ == "__main__":
  absltest.main()
