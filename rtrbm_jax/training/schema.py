"""The config schema: every field's check, resume rule and sweep name, in one table.

`FIELDS` is read by everything that needs to know a field: `validate_config`
(each field's check, then the checks that tie fields together), resuming
(`workdirs.check_resume`: which fields may change, with or without
--allow_config_change, and which never) and sweeps (`sweep.SWEEPABLE`: which
fields a `config.sweep` may vary). `check_dataset` checks the config against the
loaded data; `check_memory` refuses model sizes that cannot fit. Each check
raises a one-line `ValueError` naming the config field, the value received and
what is accepted.
"""

import math
import os
from typing import Any, Callable, NamedTuple

import jax
import ml_collections

from rtrbm_jax import checks
from rtrbm_jax import config_fields
from rtrbm_jax.data import datasets
from rtrbm_jax.data import registry as data_registry
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import frame_statistics
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.models import temporal

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "linear", "cosine")
# "data": split every batch over all devices; "sweep": split a sweep's points.
PARALLELISM = ("none", "data", "sweep")
# What picks a run's best parameters on a validation split (`eval.select_by`).
SELECTION_FIGURES = ("frame_accuracy", "log_likelihood", "next_frame_error")

# Counts live in int32 arrays (the step, CD-k), so they stay below 2^31.
MAX_INT = 2**31 - 1
# The run also uses seed + 1 and seed + 2.
MAX_SEED = MAX_INT - 2

# What a resumed run may do with a field (`workdirs.check_resume`).
FREE = "free"  # how a run is watched or laid out: may always change
WITH_FLAG = "with_flag"  # applies from the resumed update on, with the flag
FIXED = "fixed"  # fixes shapes, the initialisation or the updates done: never
# Fixed when the run has persistent chains (one per frame of a batch), else
# WITH_FLAG.
FIXED_WITH_PERSISTENT_CHAINS = "fixed_with_persistent_chains"
RESUME_RULES = (FREE, WITH_FLAG, FIXED, FIXED_WITH_PERSISTENT_CHAINS)

_REQUIRED = object()


def _is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))


class Check(NamedTuple):
  """A field's own check: `accepts(value)`, and what it accepts, in words."""
  accepts: Callable[[Any], bool]
  accepted: str


def _integer(low: int, high: int = MAX_INT, accepted: str | None = None) -> Check:
  return Check(lambda value: _is_int(value) and low <= value <= high,
               accepted or f"an integer in [{low}, {high}]")


def _number(accepts: Callable[[float], bool], accepted: str) -> Check:
  # Non-finite values pass comparisons like `not x > 0` only by accident: every
  # number is checked finite first.
  return Check(lambda value: _is_number(value) and accepts(value), accepted)


def _one_of(accepted: tuple) -> Check:
  return Check(lambda value: value in accepted, f"one of {accepted}")


_COUNT = _integer(1)
_NON_NEGATIVE = _integer(0)
_GIBBS_STEPS = _integer(1, checks.MAX_GIBBS_STEPS)
_LEARNING_RATE = _number(lambda value: value > 0, "a finite learning rate > 0")
_DECAY_RATE = _number(lambda value: 0 <= value < 1, "a decay rate in [0, 1)")
_NON_NEGATIVE_NUMBER = _number(lambda value: value >= 0, "a finite value >= 0")


class Field(NamedTuple):
  """One config field.

  Attributes:
    check: its own check, or None for a field checked where it is used (the data
      set's fields, by the data loaders; `train.gibbs_schedule` and the fields
      that must agree with others, by `validate_config`'s joint checks).
    resume: what a resumed run may do with it, one of `RESUME_RULES`.
    sweep: the name under which `config.sweep` varies it, or None.
    default: for a field a config may leave out (configs written before it),
      the value that reproduces those configs' runs; required if absent.
  """
  check: Check | None
  resume: str
  sweep: str | None = None
  default: Any = _REQUIRED


# Every field of configs/default.py that the library reads. The sections are in
# the order of a sweep's grid axes (`sweep.sweep_points`, row-major), so that a
# sweep's points keep their numbers: optimizer, model, seed, then the others.
FIELDS = {
    "optimizer.name": Field(_one_of(OPTIMIZERS), FIXED),
    "optimizer.learning_rate": Field(_LEARNING_RATE, WITH_FLAG, "learning_rate"),
    "optimizer.momentum": Field(_DECAY_RATE, WITH_FLAG, "momentum"),
    "optimizer.nesterov": Field(None, WITH_FLAG),
    "optimizer.b1": Field(_DECAY_RATE, WITH_FLAG),
    "optimizer.b2": Field(_DECAY_RATE, WITH_FLAG),
    "optimizer.eps": Field(_number(lambda value: value > 0, "a finite number > 0"),
                           WITH_FLAG),
    "optimizer.weight_decay": Field(_NON_NEGATIVE_NUMBER, WITH_FLAG,
                                    "weight_decay"),
    # Turning clipping on or off changes the optimizer state's structure:
    # `workdirs.check_resume` refuses that.
    "optimizer.clip_norm": Field(_NON_NEGATIVE_NUMBER, WITH_FLAG),
    "optimizer.schedule": Field(_one_of(SCHEDULES), WITH_FLAG),
    "optimizer.warmup_steps": Field(_NON_NEGATIVE, WITH_FLAG),
    "model.kind": Field(_one_of(registry.MODEL_KINDS), FIXED),
    "model.num_visible": Field(_COUNT, FIXED),
    "model.num_hidden": Field(_COUNT, FIXED),
    "model.visible_type": Field(_one_of(rbm.VISIBLE_TYPES), FIXED),
    "model.weight_scale": Field(_NON_NEGATIVE_NUMBER, FIXED, "weight_scale"),
    "model.sampler": Field(_one_of(rbm.BERNOULLI_SAMPLERS), WITH_FLAG),
    "model.num_recurrent": Field(
        Check(lambda value: value is None or (_is_int(value)
                                              and 1 <= value <= MAX_INT),
              "None (as many as num_hidden) or an integer >= 1"),
        FIXED, default=None),
    "seed": Field(_integer(0, MAX_SEED, f"an integer in [0, {MAX_SEED}] (the run "
                           "also uses seed + 1 and + 2)"), FIXED, "seed"),
    # A fresh run's parameters come from this run or file (a resumed run's from
    # its checkpoint): "" initialises them afresh.
    "init_from": Field(Check(lambda value: isinstance(value, str),
                             "'' or the path of a finished run or a .npz "
                             "parameter file"), FIXED, default=""),
    "data.name": Field(_one_of(data_registry.DATASET_NAMES), WITH_FLAG),
    "data.num_frames": Field(
        _integer(2, accepted="an integer >= 2 (each frame is predicted from the "
                 "frames before it)"), FIXED_WITH_PERSISTENT_CHAINS),
    "data.resolution": Field(None, WITH_FLAG),
    "data.num_train": Field(None, WITH_FLAG),
    "data.num_test": Field(None, WITH_FLAG),
    "data.window_stride": Field(
        _integer(1, accepted="an integer >= 1 (the frames from one window's "
                 "start to the next)"), WITH_FLAG),
    "data.path": Field(None, WITH_FLAG),
    # A fixed-split run may go on with fresh simulated sequences, or back: the
    # state does not depend on it.
    "data.train_source": Field(_one_of(datasets.TRAIN_SOURCES), WITH_FLAG,
                               default=datasets.DEFAULT_TRAIN_SOURCE),
    "train.num_steps": Field(_NON_NEGATIVE, WITH_FLAG),
    "train.batch_size": Field(_COUNT, FIXED_WITH_PERSISTENT_CHAINS),
    "train.num_gibbs_steps": Field(_GIBBS_STEPS, WITH_FLAG, "num_gibbs_steps"),
    "train.gibbs_schedule": Field(None, WITH_FLAG),
    "train.chain_start": Field(_one_of(frame_statistics.CHAIN_STARTS), FIXED),
    "train.log_every": Field(_COUNT, FREE),
    "train.checkpoint_every": Field(_COUNT, FREE),
    "train.keep_checkpoints": Field(_COUNT, FREE),
    "train.plot_every": Field(_NON_NEGATIVE, FREE),
    "train.parallelism": Field(_one_of(PARALLELISM), FREE),
    "train.sweep_group_size": Field(_NON_NEGATIVE, FREE),
    "pretrain.num_steps": Field(_NON_NEGATIVE, FIXED),
    "pretrain.batch_size": Field(_COUNT, WITH_FLAG),
    "pretrain.learning_rate": Field(_LEARNING_RATE, WITH_FLAG),
    "pretrain.momentum": Field(_DECAY_RATE, WITH_FLAG),
    "pretrain.num_gibbs_steps": Field(_GIBBS_STEPS, WITH_FLAG),
    "eval.every": Field(_NON_NEGATIVE, FREE),
    "eval.num_sequences": Field(_COUNT, FREE),
    "eval.num_gibbs_steps": Field(_GIBBS_STEPS, FREE),
    "eval.num_samples": Field(_COUNT, FREE),
    "eval.prime_frames": Field(_COUNT, FREE),
    "eval.generate_frames": Field(_COUNT, FREE),
    # Model selection: changing it on resume starts the best parameters afresh.
    "eval.select_by": Field(_one_of(SELECTION_FIGURES), FREE,
                            default="frame_accuracy"),
    "eval.log_likelihood_frames": Field(_COUNT, FREE, default=250),
    "eval.prediction_rule": Field(_one_of(prediction.PREDICTION_RULES), FREE,
                                  default="gibbs"),
    "eval.num_temperatures": Field(_integer(2, accepted="an integer >= 2"), FREE,
                                   default=300),
    "eval.num_chains": Field(_integer(2, accepted="an integer >= 2"), FREE,
                             default=16),
}
REQUIRED_FIELDS = tuple(path for path, field in FIELDS.items()
                        if field.default is _REQUIRED)
# Fields a config may leave out: configs written before them read as their
# defaults.
OPTIONAL_FIELDS = tuple(path for path, field in FIELDS.items()
                        if field.default is not _REQUIRED)
DEFAULTS = {path: FIELDS[path].default for path in OPTIONAL_FIELDS}


def get(config, path: str):
  """The value of field `path`, its default if the config leaves it out."""
  if path in DEFAULTS and config_fields.missing_prefix(config, path):
    return DEFAULTS[path]
  return config_fields.get_field(config, path)


def _fail(field: str, value, accepted: str):
  raise ValueError(f"config.{field}={value!r} is not accepted: {accepted}.")


class MissingFieldError(ValueError):
  """A config lacks a field or a section (a ValueError: a bad config, exit 1)."""


def check_fields_present(config: ml_collections.ConfigDict) -> None:
  """Every field of `REQUIRED_FIELDS` is there, its sections config dicts.

  Raises:
    MissingFieldError: one line naming the first missing field.
  """
  for field in REQUIRED_FIELDS:
    missing = config_fields.missing_prefix(config, field)
    if missing:
      raise MissingFieldError(
          f"config.{missing} is missing: a config defines every field of "
          "configs/default.py (start from default.get_config() and change "
          "what differs).")


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every config value that can be checked without data.

  The fields' presence first, then each field's own check (`FIELDS`), and last
  the CD schedule and the fields that must agree with each other.

  Raises:
    ValueError: one line naming the field, the value and what is accepted.
  """
  check_fields_present(config)
  for path, field in FIELDS.items():
    if field.check is not None and not field.check.accepts(get(config, path)):
      _fail(path, get(config, path), field.check.accepted)
  data_set = data_registry.get_data_set(config.data.name)
  if (get(config, "data.train_source") == "simulator"
      and data_set.fresh_batches is None):
    _fail("data.train_source", "simulator",
          f"'fixed' for data.name={config.data.name!r} (it has no simulator; "
          f"these have: {_data_sets_with(lambda entry: entry.fresh_batches)})")
  if (get(config, "eval.select_by") == "log_likelihood"
      and data_set.heldout_split != "valid"):
    _fail("eval.select_by", "log_likelihood",
          f"'frame_accuracy' for data.name={config.data.name!r}: only data sets "
          "with a validation split select parameters ("
          f"{_data_sets_with(lambda entry: entry.heldout_split == 'valid')})")
  if (get(config, "eval.select_by") == "frame_accuracy"
      and data_set.heldout_split == "valid" and data_set.kind != "music"):
    _fail("eval.select_by", "frame_accuracy",
          f"'next_frame_error' or 'log_likelihood' for data.name="
          f"{config.data.name!r} (frame accuracy is a figure of music)")
  if get(config, "init_from") and config.pretrain.num_steps:
    _fail("pretrain.num_steps", config.pretrain.num_steps,
          "0 with config.init_from set (pretraining would retrain the loaded "
          "weights as a plain RBM)")
  if (config.pretrain.num_steps
      and registry.get_model(config.model.kind).frame_rbms is None):
    _fail("pretrain.num_steps", config.pretrain.num_steps,
          f"0 for model.kind={config.model.kind!r} (its frames are not RBMs: "
          "pretraining trains the weights as one)")
  model = registry.get_model(config.model.kind, config.model.visible_type)
  if get(config, "eval.prediction_rule") not in prediction.rules_for(model):
    _fail("eval.prediction_rule", get(config, "eval.prediction_rule"),
          f"one of {prediction.rules_for(model)} for model.kind="
          f"{config.model.kind!r}")
  _check_gibbs_schedule(config.train.gibbs_schedule)
  _check_intervals(config)


def _data_sets_with(has: Callable) -> str:
  """The names of the data sets whose registry entry `has` something, in words."""
  return ", ".join(f"data.name={name!r}"
                   for name, entry in data_registry.DATA_SETS.items() if has(entry))


def _check_gibbs_schedule(schedule) -> None:
  """Pairs (update, k) of integers >= 1, in increasing update order."""
  pairs = isinstance(schedule, (tuple, list)) and all(
      isinstance(entry, (tuple, list)) and len(entry) == 2
      and all(_is_int(value) and 1 <= value <= checks.MAX_GIBBS_STEPS
              for value in entry) for entry in schedule)
  if not pairs or [start for start, _ in schedule] != sorted(
      start for start, _ in schedule):
    _fail("train.gibbs_schedule", schedule,
          "a tuple of pairs (update, num_gibbs_steps) of integers >= 1, in "
          "increasing update order, e.g. ((100, 10), (1000, 25)); one pair is "
          "((100, 10),)")


def _check_intervals(config: ml_collections.ConfigDict) -> None:
  """Intervals that must be multiples of log_every, and the run's length."""
  log_every = config.train.log_every
  if config.train.checkpoint_every % log_every:
    _fail("train.checkpoint_every", config.train.checkpoint_every,
          f"a multiple of train.log_every={log_every}")
  for field in ("eval.every", "train.plot_every"):
    if config_fields.get_field(config, field) % log_every:
      _fail(field, config_fields.get_field(config, field),
            f"0 or a multiple of train.log_every={log_every}")
  if config.train.num_steps + config.pretrain.num_steps == 0:
    _fail("train.num_steps", 0, "at least one update in train or pretrain")
  if config.train.num_steps + config.pretrain.num_steps > MAX_INT:
    _fail("train.num_steps", config.train.num_steps,
          f"at most {MAX_INT} updates with pretrain.num_steps (the step is int32)")


def check_dataset(config: ml_collections.ConfigDict,
                  dataset: datasets.Dataset) -> None:
  """Checks that the data fit the model and the batch sizes."""
  if dataset.num_visible != config.model.num_visible:
    _fail("model.num_visible", config.model.num_visible,
          f"the data set {config.data.name!r} has frames of {dataset.num_visible} "
          "units")
  if dataset.visible_type != config.model.visible_type:
    _fail("model.visible_type", config.model.visible_type,
          f"{dataset.visible_type!r}, the units of data set {config.data.name!r}")
  for field in ("train.batch_size", "pretrain.batch_size"):
    section, name = field.split(".")
    if (config.train.parallelism == "data"
        and config[section][name] % jax.device_count()):
      _fail(field, config[section][name],
            f"a multiple of the {jax.device_count()} devices with "
            "train.parallelism='data'")
    if (datasets.train_source(config.data) == "fixed"
        and config[section][name] > len(dataset.train)):
      _fail(field, config[section][name],
            f"at most the {len(dataset.train)} training sequences")
  for field in ("eval.num_sequences", "eval.num_samples"):
    if config_fields.get_field(config, field) > len(dataset.test):
      _fail(field, config_fields.get_field(config, field),
            f"at most the {len(dataset.test)} held-out sequences")
  if config.eval.prime_frames > dataset.test.shape[1]:
    _fail("eval.prime_frames", config.eval.prime_frames,
          f"at most the {dataset.test.shape[1]} frames of a held-out sequence")


# Copies of the parameters a train step holds at once: the parameters, two Adam
# moments (or momentum), the pretraining momentum, the gradients, the updates and
# the new parameters, and the checkpoint being written.
_PARAMETER_COPIES = 8


def available_memory() -> int | None:
  """Bytes of memory of the first device (the host's RAM on CPU), if known."""
  stats = jax.devices()[0].memory_stats() or {}
  if "bytes_limit" in stats:
    return int(stats["bytes_limit"])
  try:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def check_data_memory(config: ml_collections.ConfigDict) -> None:
  """Refuses a generated data set that cannot fit in memory, before generating it.

  A lower bound: the float32 frames of the splits built, twice (the host's copy
  and the device's; `registry.DataSet.generated_bytes`): a simulator-trained run
  builds no training split.
  """
  data = config.data
  generated_bytes = data_registry.get_data_set(data.name).generated_bytes
  if generated_bytes is None:
    return
  for field in ("data.num_train", "data.num_test"):
    value = config_fields.get_field(config, field)
    if not _is_int(value) or not 1 <= value <= MAX_INT:
      _fail(field, value, f"an integer in [1, {MAX_INT}]")
  needed = generated_bytes(data, config.model.num_visible)
  available = available_memory()
  if available is not None and needed > available:
    built = data_registry.built_sequences(data)
    # The field of the largest split built is the one to lower.
    field = max(built, key=built.get)
    _fail(field, config_fields.get_field(config, field),
          f"its {sum(built.values()):,} sequences of {data.num_frames} "
          f"frames need about {needed / 2**30:.1f} GiB, more than the "
          f"{available / 2**30:.1f} GiB of memory: out of memory; generate fewer")


def check_memory(config: ml_collections.ConfigDict, model: temporal.TemporalModel,
                 dataset: datasets.Dataset) -> None:
  """Refuses model sizes whose train state cannot fit in memory, before allocating.

  A lower bound: the parameter copies a train step holds, plus the batch's
  per-frame hidden activations; it catches sizes that are far too large (a
  mistyped num_hidden) instead of failing in XLA's allocator.
  """
  shapes = jax.eval_shape(lambda: model.init_params(
      jax.random.key(0), config.model.num_visible, config.model.num_hidden,
      config.model.weight_scale))
  num_parameters = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes))
  batch = max(config.train.batch_size, config.pretrain.batch_size)
  frames = batch * dataset.train.shape[1]
  needed = 4 * (_PARAMETER_COPIES * num_parameters
                + 4 * frames * (config.model.num_hidden + config.model.num_visible))
  available = available_memory()
  # The samples written at the end: frames of every sample and their activations.
  generated = 4 * config.eval.num_samples * (
      config.eval.prime_frames + config.eval.generate_frames) * (
          2 * config.model.num_visible + 2 * config.model.num_hidden)
  if available is not None and generated > available:
    _fail("eval.generate_frames", config.eval.generate_frames,
          f"{config.eval.num_samples} samples of that many frames need about "
          f"{generated / 2**30:.1f} GiB, more than the {available / 2**30:.1f} GiB "
          "of memory: out of memory; generate fewer frames")
  if available is not None and needed > available:
    sizes = f"config.model.num_hidden={config.model.num_hidden}"
    if config.model.get("num_recurrent"):
      sizes += f" with config.model.num_recurrent={config.model.num_recurrent}"
    raise ValueError(
        f"{sizes} needs about "
        f"{needed / 2**30:.1f} GiB ({num_parameters:,} parameters, "
        f"{_PARAMETER_COPIES} copies, and the batch), more than the "
        f"{available / 2**30:.1f} GiB of memory of {jax.devices()[0].device_kind}: "
        "out of memory; choose smaller sizes.")
