"""Benchmarks the train step: throughput, matmul ceiling, naive port, sweeps, compile.

  python -m experiments.benchmark --output=benchmark.json
  python -m experiments.benchmark --configs=tiny --repeats=1

Prints a Markdown table and writes the rows as JSON. Intentionally short: the
measurements live in `experiments/benchmarking.py`, which is tested.
"""

import json
import os

from absl import app
from absl import flags
import jax

from configs import bouncing_balls
from configs import tiny
from experiments import benchmarking
from experiments import common
from rtrbm_jax import files


def _with(config, num_gibbs_steps, **fields):
  """`config` with a constant CD-k and the given `section__field` overrides."""
  config.train.num_gibbs_steps = num_gibbs_steps
  for name, value in fields.items():
    section, field = name.split("__")
    config[section][field] = value
  return config


# The benchmarked setups: name -> config. "bouncing_balls" is the paper's update (one
# sequence, CD-5 at the start of its schedule); "bouncing_balls_b10" the batched one
# the CPU target is set for; "large" a model twice as wide on 64 sequences.
CONFIGS = {
    "tiny": lambda: _with(tiny.get_config(), 5, model__kind="rtrbm",
                          train__chain_start="data"),
    "bouncing_balls": lambda: _with(bouncing_balls.get_config(), 5),
    "bouncing_balls_b10": lambda: _with(bouncing_balls.get_config(), 25,
                                        train__batch_size=10),
    "large": lambda: _with(bouncing_balls.get_config(), 10, model__num_hidden=1000,
                           train__batch_size=64),
}

_CONFIGS = flags.DEFINE_list("configs", list(CONFIGS),
                             f"Which setups to benchmark, from {list(CONFIGS)}.")
_SAMPLERS = flags.DEFINE_list(
    "samplers", ["fused_threefry"],
    "Bernoulli samplers (config.model.sampler) to benchmark each setup with.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats per measurement.")
_SWEEP_POINTS = flags.DEFINE_integer("sweep_points", 8, "Points of the sweep.")
_CHUNK_SECONDS = flags.DEFINE_float(
    "chunk_seconds", 0.5, "About how long one timed chunk of train steps takes.")
_OUTPUT = flags.DEFINE_string("output", "benchmark.json",
                              "Where to write the rows as JSON.")


def _run():
  unknown = [name for name in _CONFIGS.value if name not in CONFIGS]
  if unknown:
    raise ValueError(f"--configs: unknown setup {unknown[0]!r}; accepted: "
                     f"{list(CONFIGS)}.")
  rows = []
  for name in _CONFIGS.value:
    for sampler in _SAMPLERS.value:
      config = CONFIGS[name]()
      config.model.sampler = sampler
      rows.append(benchmarking.benchmark_config(
          name, config, repeats=_REPEATS.value, sweep_points=_SWEEP_POINTS.value,
          chunk_seconds=_CHUNK_SECONDS.value,
          log=lambda message, name=name: print(f"[{name}] {message}", flush=True)))
  print(benchmarking.format_table(rows))
  with files.atomic_write(_OUTPUT.value) as f:
    json.dump(dict(device=str(jax.devices()[0].device_kind),
                   cpu_count=os.cpu_count(), jax_version=jax.__version__,
                   rows=rows), f, indent=2)
  print(f"Wrote {_OUTPUT.value}")


def main(argv):
  common.start(argv)
  common.run_or_exit(_run)


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
