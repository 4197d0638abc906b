"""Recipe searches on bouncing balls: vmapped sweeps of learning rate and CD-k.

  python -m experiments.sweep --config=configs/search_bouncing_balls.py:RECIPE \
      --workdir=DIR

RECIPE is `CHAIN_OPTIMIZER[_rnnrbm][/RATES[/KS]]`, e.g. `prediction_sgd`,
`data_adam`, `persistent_sgd_rnnrbm`, `prediction_adam/0.003,0.01/25`: where the
negative chains start (`train.chain_start`), the optimizer, the model (RTRBM unless
`_rnnrbm`), and optionally the swept learning rates and k values. Each recipe sweeps
the learning rate and (except "data", which keeps the paper's CD-5/10/25 schedule)
a constant k, over the paper's 100,000 updates with the rate decaying linearly to
0. These are the searches behind docs/results.md.
"""

from configs import bouncing_balls
from rtrbm_jax.models import frame_statistics

LEARNING_RATES = {"sgd": (3e-5, 1e-4, 3e-4), "adam": (1e-4, 3e-4, 1e-3)}


def get_config(recipe: str = "prediction_sgd"):
  recipe, *grids = recipe.split("/")
  parts = recipe.split("_")
  if (len(parts) not in (2, 3) or parts[0] not in frame_statistics.CHAIN_STARTS
      or parts[1] not in LEARNING_RATES or parts[2:] not in ([], ["rnnrbm"])):
    raise ValueError(f"recipe={recipe!r} is not accepted: CHAIN_OPTIMIZER[_rnnrbm] "
                     f"with CHAIN in {', '.join(frame_statistics.CHAIN_STARTS)} and "
                     f"OPTIMIZER in {', '.join(LEARNING_RATES)}.")
  chain_start, optimizer = parts[:2]
  config = bouncing_balls.get_config()
  config.train.chain_start = chain_start
  config.optimizer.name = optimizer
  # As when these searches ran (each point sets its own rate, and k unless "data").
  config.optimizer.learning_rate = 1e-4
  config.train.num_gibbs_steps = 10
  if parts[2:]:
    config.model.kind = "rnnrbm"
  config.train.num_steps = 100_000  # the rate decays over the paper's horizon
  config.train.log_every = 500
  rates = (tuple(float(rate) for rate in grids[0].split(",")) if grids
           else LEARNING_RATES[optimizer])
  config.sweep = dict(learning_rate=rates)
  if chain_start != "data":
    config.sweep["num_gibbs_steps"] = (tuple(int(k) for k in grids[1].split(","))
                                       if len(grids) > 1 else (10, 25))
  return config
