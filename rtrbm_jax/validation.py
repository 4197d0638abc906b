"""Checks of a training config, before anything is allocated or written.

`validate_config` checks every value that can be checked without data;
`check_dataset` checks the config against the loaded data; `check_memory` refuses
model sizes that cannot fit. Each raises a one-line `ValueError` naming the config
field, the value received and what is accepted.
"""

import functools
import math
import os

import jax
import ml_collections

from rtrbm_jax import checks
from rtrbm_jax import models
from rtrbm_jax import rbm
from rtrbm_jax import temporal
from rtrbm_jax.data import datasets

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "linear", "cosine")
# "data": split every batch over all devices; "sweep": split a sweep's points.
PARALLELISM = ("none", "data", "sweep")

# Counts live in int32 arrays (the step, CD-k), so they stay below 2^31.
MAX_INT = 2**31 - 1
# The run also uses seed + 1 and seed + 2.
MAX_SEED = MAX_INT - 2


def _fail(field: str, value, accepted: str):
  raise ValueError(f"config.{field}={value!r} is not accepted: {accepted}.")


def _is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))


def get_field(config: ml_collections.ConfigDict, field: str):
  """`config.a.b` for field "a.b"."""
  value = config
  for part in field.split("."):
    value = value[part]
  return value


# Counts: every one an int32, most at least 1.
_POSITIVE_INTS = ("model.num_hidden", "model.num_visible", "train.batch_size",
                  "train.num_gibbs_steps", "train.log_every",
                  "train.checkpoint_every", "train.keep_checkpoints",
                  "data.num_frames", "eval.num_sequences", "eval.num_gibbs_steps",
                  "pretrain.num_gibbs_steps", "pretrain.batch_size",
                  "eval.num_samples", "eval.prime_frames", "eval.generate_frames")
_NON_NEGATIVE_INTS = ("train.num_steps", "pretrain.num_steps", "eval.every",
                      "train.plot_every", "optimizer.warmup_steps",
                      "train.sweep_group_size")
_GIBBS_STEPS = ("train.num_gibbs_steps", "eval.num_gibbs_steps",
                "pretrain.num_gibbs_steps")


# Every field of configs/default.py that the library reads (model.num_recurrent
# is optional): a config derived from the default has them all.
REQUIRED_FIELDS = (
    "seed", "model.kind", "model.num_visible", "model.num_hidden",
    "model.visible_type", "model.weight_scale", "model.sampler", "data.name",
    "data.num_frames", "data.resolution", "data.num_train", "data.num_test",
    "data.window_stride", "data.path", "optimizer.name", "optimizer.learning_rate",
    "optimizer.momentum", "optimizer.nesterov", "optimizer.b1", "optimizer.b2",
    "optimizer.eps", "optimizer.weight_decay", "optimizer.clip_norm",
    "optimizer.schedule", "optimizer.warmup_steps", "train.num_steps",
    "train.batch_size", "train.num_gibbs_steps", "train.gibbs_schedule",
    "train.chain_start", "train.log_every", "train.checkpoint_every",
    "train.keep_checkpoints", "train.plot_every", "train.parallelism",
    "train.sweep_group_size", "pretrain.num_steps", "pretrain.batch_size",
    "pretrain.learning_rate", "pretrain.momentum", "pretrain.num_gibbs_steps",
    "eval.every", "eval.num_sequences", "eval.num_gibbs_steps", "eval.num_samples",
    "eval.prime_frames", "eval.generate_frames")
# Fields a config may leave out: configs written before them read as their
# defaults (`model.num_recurrent`: as many as `num_hidden`; `data.train_source`:
# "fixed", the data set's training split).
OPTIONAL_FIELDS = ("model.num_recurrent", "data.train_source")


class MissingFieldError(ValueError):
  """A config lacks a field or a section (a ValueError: a bad config, exit 1)."""


def check_fields_present(config: ml_collections.ConfigDict) -> None:
  """Every field of `REQUIRED_FIELDS` is there, its sections config dicts.

  Raises:
    MissingFieldError: one line naming the first missing field.
  """
  for field in REQUIRED_FIELDS:
    node = config
    for depth, part in enumerate(field.split(".")):
      if not isinstance(node, (dict, ml_collections.ConfigDict)) or part not in node:
        where = ".".join(["config"] + field.split(".")[:depth + 1])
        raise MissingFieldError(
            f"{where} is missing: a config defines every field of "
            "configs/default.py (start from default.get_config() and change "
            "what differs).")
      node = node[part]


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every config value that can be checked without data.

  The fields' presence first, then counts, real numbers, names, the CD
  schedule, and last the fields that must agree with each other.

  Raises:
    ValueError: one line naming the field, the value and what is accepted.
  """
  check_fields_present(config)
  _check_counts(config)
  _check_numbers(config)
  _check_choices(config)
  _check_gibbs_schedule(config.train.gibbs_schedule)
  _check_intervals(config)


def _check_counts(config: ml_collections.ConfigDict) -> None:
  get = functools.partial(get_field, config)
  for field in _POSITIVE_INTS:
    value = get(field)
    if not _is_int(value) or not 1 <= value <= MAX_INT:
      _fail(field, value, f"an integer in [1, {MAX_INT}]")
  for field in _NON_NEGATIVE_INTS:
    value = get(field)
    if not _is_int(value) or not 0 <= value <= MAX_INT:
      _fail(field, value, f"an integer in [0, {MAX_INT}]")
  if config.data.num_frames < 2:
    _fail("data.num_frames", config.data.num_frames,
          "an integer >= 2 (each frame is predicted from the frames before it)")
  for field in _GIBBS_STEPS:
    if get(field) > checks.MAX_GIBBS_STEPS:
      _fail(field, get(field), f"an integer in [1, {checks.MAX_GIBBS_STEPS}]")
  if not _is_int(config.seed) or not 0 <= config.seed <= MAX_SEED:
    _fail("seed", config.seed,
          f"an integer in [0, {MAX_SEED}] (the run also uses seed + 1 and + 2)")


def _check_numbers(config: ml_collections.ConfigDict) -> None:
  # Non-finite values pass comparisons like `not x > 0` only by accident: check
  # finiteness first, for every number.
  get = functools.partial(get_field, config)
  for field in ("optimizer.learning_rate", "pretrain.learning_rate"):
    if not _is_number(get(field)) or not get(field) > 0:
      _fail(field, get(field), "a finite learning rate > 0")
  for field in ("optimizer.momentum", "pretrain.momentum", "optimizer.b1",
                "optimizer.b2"):
    if not _is_number(get(field)) or not 0 <= get(field) < 1:
      _fail(field, get(field), "a decay rate in [0, 1)")
  if not _is_number(config.optimizer.eps) or not config.optimizer.eps > 0:
    _fail("optimizer.eps", config.optimizer.eps, "a finite number > 0")
  for field in ("optimizer.weight_decay", "optimizer.clip_norm",
                "model.weight_scale"):
    if not _is_number(get(field)) or not get(field) >= 0:
      _fail(field, get(field), "a finite value >= 0")


def _check_choices(config: ml_collections.ConfigDict) -> None:
  """The named choices, and the RNN-RBM's optional RNN size."""
  _check_one_of(config, (("optimizer.name", OPTIMIZERS),
                         ("optimizer.schedule", SCHEDULES),
                         ("model.kind", models.MODEL_KINDS)))
  num_recurrent = config.model.get("num_recurrent")
  if num_recurrent is not None and (not _is_int(num_recurrent)
                                    or not 1 <= num_recurrent <= MAX_INT):
    _fail("model.num_recurrent", num_recurrent,
          "None (as many as num_hidden) or an integer >= 1")
  _check_one_of(config, (("train.chain_start", temporal.CHAIN_STARTS),
                         ("model.visible_type", rbm.VISIBLE_TYPES),
                         ("model.sampler", rbm.BERNOULLI_SAMPLERS),
                         ("train.parallelism", PARALLELISM),
                         ("data.name", datasets.DATASET_NAMES)))
  source = datasets.train_source(config.data)
  if source not in datasets.TRAIN_SOURCES:
    _fail("data.train_source", source, f"one of {datasets.TRAIN_SOURCES}")
  if source == "simulator" and config.data.name != "bouncing_balls":
    _fail("data.train_source", source,
          f"'fixed' for data.name={config.data.name!r} (the simulator draws "
          "bouncing balls only)")


def _check_one_of(config: ml_collections.ConfigDict, choices) -> None:
  """Each (field, accepted values) of `choices`, in order."""
  for field, accepted in choices:
    if get_field(config, field) not in accepted:
      _fail(field, get_field(config, field), f"one of {accepted}")


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
    if get_field(config, field) % log_every:
      _fail(field, get_field(config, field),
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
    if get_field(config, field) > len(dataset.test):
      _fail(field, get_field(config, field),
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


# Data sets the library generates, and the config fields that size them.
_GENERATED_DATA = ("bouncing_balls", "arm")


def check_data_memory(config: ml_collections.ConfigDict) -> None:
  """Refuses a generated data set that cannot fit in memory, before generating it.

  A lower bound: the float32 frames of both splits, twice (the host's copy and
  the device's).
  """
  data = config.data
  if data.name not in _GENERATED_DATA:
    return
  for field in ("data.num_train", "data.num_test"):
    value = get_field(config, field)
    if not _is_int(value) or not 1 <= value <= MAX_INT:
      _fail(field, value, f"an integer in [1, {MAX_INT}]")
  units = (data.resolution**2 if data.name == "bouncing_balls"
           else config.model.num_visible)
  needed = 2 * 4 * (data.num_train + data.num_test) * data.num_frames * units
  available = available_memory()
  if available is not None and needed > available:
    _fail("data.num_train", data.num_train,
          f"its {data.num_train + data.num_test:,} sequences of {data.num_frames} "
          f"frames need about {needed / 2**30:.1f} GiB, more than the "
          f"{available / 2**30:.1f} GiB of memory: out of memory; generate fewer")


def check_memory(config: ml_collections.ConfigDict, model: models.TemporalModel,
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
