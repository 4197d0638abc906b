"""A tiny bouncing-balls run: 10 x 10 pixels, 20-frame sequences, 64 hidden units.

Trains in well under a minute on 2 CPU cores; used by the README's first command
and by the CI smoke test.
"""

import ml_collections

from configs import bouncing_balls


def get_config() -> ml_collections.ConfigDict:
  config = bouncing_balls.get_config()
  config.model.num_visible = 100
  config.model.num_hidden = 64
  config.model.weight_scale = 0.01
  config.data.resolution = 10
  config.data.num_frames = 20
  config.data.num_train = 200
  config.data.num_test = 20
  config.optimizer.learning_rate = 0.01
  config.train.num_steps = 400
  config.train.batch_size = 10
  config.train.num_gibbs_steps = 1
  config.train.gibbs_schedule = ((100, 5),)
  config.train.log_every = 50
  config.train.checkpoint_every = 100
  config.train.sweep_group_size = 0  # small models gain from vmapping all points
  config.pretrain.num_steps = 100
  config.pretrain.learning_rate = 0.01
  config.pretrain.batch_size = 10
  config.pretrain.num_gibbs_steps = 1
  config.eval.every = 100
  config.eval.num_sequences = 20
  config.eval.num_gibbs_steps = 20
  config.eval.prime_frames = 5
  config.eval.generate_frames = 15
  return config
