"""Measuring the train step: FLOP counts, timing, the matmul ceiling, a naive port.

What `experiments/benchmark.py` reports for a config, and the pieces it is made of:

- `flop_counts.cd_gradient_flops`: the matrix products the RTRBM's CD-k gradient
  must do.
- `time_call`: warm up, block on the results, median of repeats.
- `make_matmul_ceiling`: a jitted chain of exactly those products, with the same
  shapes and nothing else; its speed is the most the train step could reach on this
  machine with this XLA.
- `naive_port.naive_cd_gradient`: the same gradient written the way public RTRBM
  ports are: a Python loop over frames, the Gibbs chain inside it, a jitted
  function per frame.
- `benchmark_config`: all of the above for one config (its `Workload`), plus an
  8-point sweep and the compile time of the train step: a constant-CD-k copy of the
  config, its train step compiled in chunks, the four timed in interleaved rounds,
  and one row of numbers from the timings.
"""

import statistics
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections

from experiments import flop_counts
from experiments import naive_port
from rtrbm_jax.data import bouncing_balls
from rtrbm_jax.data import datasets
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.training import loop
from rtrbm_jax.training import optimizers
from rtrbm_jax.training import schema
from rtrbm_jax.training import steps
from rtrbm_jax.training import sweep

Array = jax.Array


class Timing(NamedTuple):
  """Wall-clock seconds of repeated calls.

  Attributes:
    median: the median over repeats.
    seconds: every repeat, in order.
  """
  median: float
  seconds: tuple[float, ...]


def time_call(function: Callable[..., Any], *args, repeats: int = 5,
              warmup: int = 1) -> Timing:
  """Times `function(*args)`: `warmup` untimed calls, then `repeats` timed ones.

  Every call is waited for (`jax.block_until_ready`), so the time is that of the
  computation, not of its dispatch.
  """
  if repeats < 1 or warmup < 0:
    raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats} "
                     f"and warmup={warmup}.")
  for _ in range(warmup):
    jax.block_until_ready(function(*args))
  seconds = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(function(*args))
    seconds.append(time.perf_counter() - start)
  return Timing(statistics.median(seconds), tuple(seconds))


def time_interleaved(calls: dict[str, tuple[Callable[..., Any], tuple]],
                     repeats: int = 5, warmup: int = 1) -> dict[str, Timing]:
  """Times several calls in rounds, each round calling each once, in order.

  On a machine shared with other work, load drifts over minutes; interleaving
  keeps the ratios of the timings (fraction of the ceiling, speed-ups, sweep
  efficiency) fair to each side.

  Args:
    calls: name -> (function, args); each `function(*args)` is waited for.
    repeats: timed rounds.
    warmup: untimed rounds first.

  Returns:
    name -> `Timing` over the rounds.
  """
  if repeats < 1 or warmup < 0:
    raise ValueError(f"repeats must be >= 1 and warmup >= 0, got repeats={repeats} "
                     f"and warmup={warmup}.")
  for _ in range(warmup):
    for function, args in calls.values():
      jax.block_until_ready(function(*args))
  seconds = {name: [] for name in calls}
  for _ in range(repeats):
    for name, (function, args) in calls.items():
      start = time.perf_counter()
      jax.block_until_ready(function(*args))
      seconds[name].append(time.perf_counter() - start)
  return {name: Timing(statistics.median(values), tuple(values))
          for name, values in seconds.items()}


class CeilingOperands(NamedTuple):
  """Inputs of the matmul ceiling.

  Attributes:
    frames: [B * T, nv] one row per frame.
    states: [B * (T - 1), nh] one row per transition.
    w_vh: [nv, nh].
    w_hh: [nh, nh].
  """
  frames: Array
  states: Array
  w_vh: Array
  w_hh: Array


def make_matmul_ceiling(batch_size: int, num_frames: int, num_visible: int,
                        num_hidden: int, num_gibbs_steps: int, seed: int = 0):
  """The products of `flop_counts.cd_gradient_flops`, alone, as a jitted chunk of
  steps.

  One step does every product of the count with the same shapes, but with all
  frames' rows in one matrix (the recurrent products too, which the real step must
  run frame after frame): `[B T, nv] @ [nv, nh]`, k times `[B T, nh] @ [nh, nv]` and
  `[B T, nv] @ [nv, nh]`, `[nv, B T] @ [B T, nh]` twice, and `[B (T-1), nh] @
  [nh, nh]` three times. Each step's products feed a small update of the weights,
  so no product can be hoisted out of the loop or skipped; the weights' scale keeps
  the chain's values near 1 (no overflow, no slow denormals).

  Returns:
    (run, operands): `run(operands, num_steps) -> (w_vh, w_hh)` jitted (num_steps
    static), timed like the train step's chunks.
  """
  frame_key, state_key, visible_key, recurrent_key = jax.random.split(
      jax.random.key(seed), 4)
  # A product with h then with h^T scales the variance by nv nh scale^4 = 1.
  scale = (num_visible * num_hidden) ** -0.25
  operands = CeilingOperands(
      frames=jax.random.normal(frame_key, (batch_size * num_frames, num_visible)),
      states=jax.random.normal(state_key,
                               (batch_size * (num_frames - 1), num_hidden)),
      w_vh=scale * jax.random.normal(visible_key, (num_visible, num_hidden)),
      w_hh=num_hidden ** -0.5 * jax.random.normal(recurrent_key,
                                                  (num_hidden, num_hidden)))
  step_size = 1e-7

  def step(weights, operands):
    w_vh, w_hh = weights
    hidden = operands.frames @ w_vh
    recurrent = operands.states @ w_hh

    def gibbs_step(_, chain):
      _, hidden = chain
      visible = hidden @ w_vh.T
      return visible, visible @ w_vh

    visible, hidden = jax.lax.fori_loop(0, num_gibbs_steps, gibbs_step,
                                        (operands.frames, hidden))
    message = recurrent @ w_hh.T
    w_vh_gradient = visible.T @ hidden + operands.frames.T @ hidden
    w_hh_gradient = operands.states.T @ message
    return (w_vh - step_size * w_vh_gradient, w_hh - step_size * w_hh_gradient)

  def run(operands: CeilingOperands, num_steps: int):
    weights, _ = jax.lax.scan(lambda weights, _: (step(weights, operands), None),
                              (operands.w_vh, operands.w_hh), None, length=num_steps)
    return weights

  return jax.jit(run, static_argnums=1), operands


def benchmark_data(config: ml_collections.ConfigDict,
                   num_sequences: int) -> datasets.Dataset:
  """Bouncing-balls sequences of the config's frame size and length."""
  resolution = config.data.resolution
  if resolution * resolution != config.model.num_visible:
    raise ValueError(
        f"config.data.resolution={resolution} gives {resolution ** 2} pixels, but "
        f"config.model.num_visible={config.model.num_visible}; the benchmark "
        "trains on bouncing balls of resolution^2 == num_visible pixels.")
  frames = bouncing_balls.generate(config.seed, num_sequences,
                                   config.data.num_frames, resolution)
  return datasets.Dataset(frames, frames[:1], rbm.BINARY, "video")


def _chunk_length(seconds_per_step: float, chunk_seconds: float,
                  max_steps: int = 100) -> int:
  """Steps per timed chunk, so that dispatch costs little next to the chunk."""
  return int(min(max(round(chunk_seconds / seconds_per_step), 1), max_steps))


def _sweep_config(config: ml_collections.ConfigDict,
                  num_points: int) -> ml_collections.ConfigDict:
  """The config with `num_points` seeds (and learning rates 1/2 and 1 of its own)."""
  if num_points < 1:
    raise ValueError(f"num_points must be >= 1, got {num_points}.")
  swept = ml_collections.ConfigDict(config.to_dict())
  rate = config.optimizer.learning_rate
  rates = (rate / 2, rate) if num_points % 2 == 0 else (rate,)
  swept.sweep = dict(learning_rate=rates,
                     seed=tuple(range(num_points // len(rates))))
  return swept


def _compiled_sweep_chunk(swept: ml_collections.ConfigDict,
                          dataset: datasets.Dataset, train_step,
                          num_steps: int):
  """A compiled chunk of the vmapped train step over `swept`'s points, its state."""
  model = registry.from_config(swept)
  optimizer = optimizers.make_optimizer(swept.optimizer, swept.train.num_steps)
  stacked = sweep.init_sweep_state(
      swept, loop.Setup(swept, dataset, model, optimizer,
                        optimizers.make_pretrain_optimizer(
                            swept.pretrain.learning_rate, swept.pretrain.momentum)),
      sweep.sweep_points(swept))
  run_sweep = steps.make_run_steps(train_step, swept.train.batch_size, swept=True)
  return run_sweep.lower(stacked, jnp.asarray(dataset.train),
                         num_steps).compile(), stacked


class Workload(NamedTuple):
  """The sizes of one CD-k train step, in the argument order of
  `flop_counts.cd_gradient_flops` and `make_matmul_ceiling`.

  Attributes:
    batch_size: B sequences per update.
    num_frames: T frames per sequence.
    num_visible: nv visible units.
    num_hidden: nh hidden units.
    num_gibbs_steps: k of CD-k.
  """
  batch_size: int
  num_frames: int
  num_visible: int
  num_hidden: int
  num_gibbs_steps: int


def workload_of(config: ml_collections.ConfigDict) -> Workload:
  """The train step's sizes in a config, with its constant CD-k."""
  return Workload(config.train.batch_size, config.data.num_frames,
                  config.model.num_visible, config.model.num_hidden,
                  config.train.num_gibbs_steps)


class _TrainChunk(NamedTuple):
  """A config's train step, compiled as a chunk of `num_steps` updates.

  Attributes:
    run: compiled `(state, data) -> state` of `num_steps` updates.
    state: the train state each timed chunk starts from.
    data: [2 B, T, nv] the training sequences.
    train_step: the train step itself, uncompiled (the sweep vmaps it).
    num_steps: updates per chunk.
    compile_seconds: tracing, lowering and compiling a chunk of one update.
  """
  run: Callable[..., Any]
  state: steps.TrainState
  data: Array
  train_step: Callable[..., Any]
  num_steps: int
  compile_seconds: float


def _constant_cd_config(config: ml_collections.ConfigDict
                        ) -> ml_collections.ConfigDict:
  """A validated copy of `config` whose train step runs its CD-k throughout."""
  config = ml_collections.ConfigDict(config.to_dict())
  config.train.gibbs_schedule = ()
  schema.validate_config(config)
  return config


def _compile_train_chunk(config: ml_collections.ConfigDict,
                        dataset: datasets.Dataset, chunk_seconds: float,
                        log: Callable[[str], None]) -> _TrainChunk:
  """Compiles the config's train step as a chunk that takes about `chunk_seconds`.

  A chunk of one update is compiled (and its compile time measured) and timed
  once; its time sets the chunk length, whose chunk is then compiled too.
  """
  data = jnp.asarray(dataset.train)
  model = registry.from_config(config)
  optimizer = optimizers.make_optimizer(config.optimizer, config.train.num_steps)
  pretrain_optimizer = optimizers.make_pretrain_optimizer(
      config.pretrain.learning_rate, config.pretrain.momentum)
  state = loop.initial_state(config, model, optimizer, pretrain_optimizer)
  train_step = steps.make_train_step(model, optimizer, config.pretrain.num_steps)
  run_steps = steps.make_run_steps(train_step, config.train.batch_size)
  log("compiling the train step")
  start = time.perf_counter()
  run_one = run_steps.lower(state, data, 1).compile()
  compile_seconds = time.perf_counter() - start
  num_steps = _chunk_length(time_call(run_one, state, data, repeats=1).median,
                            chunk_seconds)
  run_chunk = (run_one if num_steps == 1
               else run_steps.lower(state, data, num_steps).compile())
  return _TrainChunk(run_chunk, state, data, train_step, num_steps,
                    compile_seconds)


def _time_against_baselines(config: ml_collections.ConfigDict, workload: Workload,
                            dataset: datasets.Dataset, chunk: _TrainChunk,
                            sweep_points: int, repeats: int,
                            log: Callable[[str], None]
                            ) -> tuple[dict[str, Timing], int]:
  """Times the train chunk, the matmul ceiling, the naive port and a sweep.

  Returns:
    (name -> `Timing` of `train`, `ceiling`, `sweep` (chunks of
    `chunk.num_steps` updates) and `naive` (one gradient), the sweep's points).
  """
  ceiling, operands = make_matmul_ceiling(*workload)
  run_sweep_chunk, stacked = _compiled_sweep_chunk(
      _sweep_config(config, sweep_points), dataset, chunk.train_step,
      chunk.num_steps)
  num_points = len(stacked.step)
  log(f"timing chunks of {chunk.num_steps} steps: train step, matmul ceiling, "
      f"naive port (one gradient), {num_points}-point sweep")
  timings = time_interleaved(dict(
      train=(chunk.run, (chunk.state, chunk.data)),
      ceiling=(ceiling, (operands, chunk.num_steps)),
      naive=(naive_port.naive_cd_gradient, (chunk.state.params,
                                 chunk.data[:workload.batch_size],
                                 jax.random.key(0), workload.num_gibbs_steps,
                                 config.model.sampler)),
      sweep=(run_sweep_chunk, (stacked, chunk.data))), repeats=repeats)
  return timings, num_points


def _benchmark_row(name: str, sampler: str, workload: Workload, chunk: _TrainChunk,
                   timings: dict[str, Timing], num_points: int,
                   repeats: int) -> dict:
  """The row of `benchmark_config` from its timings; see there."""
  frames_per_step = workload.batch_size * workload.num_frames
  flops = flop_counts.cd_gradient_flops(*workload).total
  step_seconds = timings["train"].median / chunk.num_steps
  ceiling_seconds = timings["ceiling"].median / chunk.num_steps
  naive_seconds = timings["naive"].median
  sweep_seconds = timings["sweep"].median / chunk.num_steps
  return dict(
      name=name, **workload._asdict(),
      sampler=sampler, steps_per_chunk=chunk.num_steps, repeats=repeats,
      step_seconds=step_seconds,
      frames_per_second=frames_per_step / step_seconds,
      gflop_per_step=flops / 1e9,
      gflops=flops / step_seconds / 1e9,
      ceiling_gflops=flops / ceiling_seconds / 1e9,
      fraction_of_ceiling=ceiling_seconds / step_seconds,
      naive_step_seconds=naive_seconds,
      naive_frames_per_second=frames_per_step / naive_seconds,
      speedup_over_naive=naive_seconds / step_seconds,
      sweep_points=num_points,
      sweep_step_seconds=sweep_seconds,
      sweep_efficiency=num_points * step_seconds / sweep_seconds,
      compile_seconds=chunk.compile_seconds)


def benchmark_config(name: str, config: ml_collections.ConfigDict, repeats: int = 5,
                     sweep_points: int = 8, chunk_seconds: float = 0.5,
                     log: Callable[[str], None] = lambda message: None) -> dict:
  """Measures the train step of `config` against its ceiling, a naive port and sweeps.

  The train step runs `config.train.num_gibbs_steps` Gibbs steps throughout (the
  schedule is ignored) on bouncing-balls data. Timings are medians of `repeats`
  chunks of n steps each (one `make_run_steps` call, n chosen so that a chunk takes
  about `chunk_seconds`), after a warm-up round. The ceiling and the sweep run
  chunks of the same n; the naive port is timed per gradient. The four are timed
  in interleaved rounds (`time_interleaved`).

  Args:
    name: what the row is called.
    config: a training config (`schema.validate_config` must accept it).
    repeats: timed repeats of each measurement.
    sweep_points: points of the sweep (seeds, and two learning rates if even).
    chunk_seconds: about how long a timed chunk of the train step should take.
    log: called with a line of progress now and then.

  Returns:
    One row: the name, the config's sizes and sampler; for the train step
    `step_seconds`, `frames_per_second`, `gflop_per_step`, `gflops`;
    `ceiling_gflops` and `fraction_of_ceiling`; `naive_step_seconds`,
    `naive_frames_per_second` and `speedup_over_naive`; `sweep_step_seconds` (all
    points) and `sweep_efficiency` (points x single-run time / sweep time);
    `compile_seconds` of the train step (a chunk of one step: trace, lower,
    compile).
  """
  config = _constant_cd_config(config)
  workload = workload_of(config)
  dataset = benchmark_data(config, 2 * workload.batch_size)
  chunk = _compile_train_chunk(config, dataset, chunk_seconds, log)
  timings, num_points = _time_against_baselines(
      config, workload, dataset, chunk, sweep_points, repeats, log)
  return _benchmark_row(name, config.model.sampler, workload, chunk, timings,
                        num_points, repeats)


# Columns of `format_table`: (heading, row field, format).
TABLE_COLUMNS = (
    ("config", "name", "{}"), ("B", "batch_size", "{}"), ("T", "num_frames", "{}"),
    ("nv", "num_visible", "{}"), ("nh", "num_hidden", "{}"),
    ("k", "num_gibbs_steps", "{}"), ("sampler", "sampler", "{}"),
    ("frames/s", "frames_per_second", "{:.0f}"), ("GFLOP/s", "gflops", "{:.1f}"),
    ("ceiling GFLOP/s", "ceiling_gflops", "{:.1f}"),
    ("of ceiling", "fraction_of_ceiling", "{:.0%}"),
    ("naive frames/s", "naive_frames_per_second", "{:.0f}"),
    ("speed-up", "speedup_over_naive", "{:.1f}x"),
    ("sweep eff.", "sweep_efficiency", "{:.2f}"),
    ("compile s", "compile_seconds", "{:.1f}"),
)


def format_table(rows: list[dict]) -> str:
  """The rows as a Markdown table, one line per row."""
  cells = [[heading for heading, _, _ in TABLE_COLUMNS]] + [
      [form.format(row[field]) for _, field, form in TABLE_COLUMNS] for row in rows]
  widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE_COLUMNS))]
  lines = ["| " + " | ".join(cell.rjust(width) for cell, width in zip(line, widths))
           + " |" for line in cells]
  lines.insert(1, "|" + "|".join("-" * (width + 1) + ":" for width in widths) + "|")
  return "\n".join(lines)
