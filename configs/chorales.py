"""An RTRBM on the built-in Bach chorales (music21's corpus, 88-key piano rolls).

Trained on windows of 32 quarter-note frames, 8 apart; evaluated on whole pieces.
Sizes follow the RNN-RBM paper's JSB Chorales setup (150 hidden units); our split
of music21's chorales is not the paper's JSB split.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model.num_visible = 88
  config.model.num_hidden = 150
  config.model.weight_scale = 0.01
  config.data.name = "bach_chorales"
  config.data.num_frames = 32
  config.data.window_stride = 8
  # The best measured recipe (docs/results.md): chains started at the model's
  # prediction, learning rate 0.003, 3000 updates (configs/search_chorales.py).
  config.optimizer.learning_rate = 0.003
  config.train.num_steps = 3000
  config.train.batch_size = 10
  config.train.num_gibbs_steps = 15
  config.train.gibbs_schedule = ()
  config.train.chain_start = "prediction"
  config.train.checkpoint_every = 1000
  config.pretrain.num_steps = 500
  config.pretrain.learning_rate = 0.001
  config.pretrain.batch_size = 10
  config.eval.every = 500
  config.eval.prime_frames = 8
  config.eval.generate_frames = 24
  return config
