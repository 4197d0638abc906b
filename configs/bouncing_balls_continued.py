"""The RTRBM of `configs/bouncing_balls.py` trained on from its shipped 300k run.

`docs/runs/bouncing_balls_300k/` ended at 4.21 with its error still falling 0.11-0.14
per 25,000 updates as its rate decayed to 0. This run starts from those parameters
(`init_from`, no pretraining) and trains 100,000 more updates: Adam's rate warms up
to 1e-3 over 1,000 updates (its moments start at 0) and decays linearly to 0, on
fresh sequences of the simulator at every update (as Sutskever's code trained), so
no sequence is seen twice. Run from the repository root (`init_from` is a path).
"""

import ml_collections

from configs import bouncing_balls


def get_config() -> ml_collections.ConfigDict:
  config = bouncing_balls.get_config()
  config.init_from = "docs/runs/bouncing_balls_300k"
  config.pretrain.num_steps = 0
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 1_000
  config.data.train_source = "simulator"
  config.train.num_steps = 100_000
  return config
