"""An RTRBM with Gaussian visibles on the simulated articulated arm (real-valued).

20-dimensional noisy marker positions of a 10-link arm (rtrbm_jax.data.real_valued),
standardised per dimension; sequences of 50 frames. Adam suits Gaussian units better
than the binary setup's SGD. `--config.model.kind=rnnrbm` trains the RNN-RBM.
The negative chains start at the data (CD-5, the default's `train.chain_start`):
the prediction-started chains of the bouncing-balls recipe were not tried on
Gaussian units.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model.visible_type = "gaussian"
  config.model.num_visible = 20
  config.model.num_hidden = 100
  config.model.weight_scale = 0.01
  config.data.name = "arm"
  config.data.num_frames = 50
  config.data.num_train = 500
  config.data.num_test = 50
  config.data.window_stride = 50
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 1e-3
  config.optimizer.schedule = "constant"
  config.train.num_steps = 2000
  config.train.batch_size = 10
  config.train.gibbs_schedule = ()
  config.train.checkpoint_every = 500
  # No RBM pretraining: plain SGD on Gaussian units diverges at the binary setup's
  # rates, and Adam learns the weights from scratch quickly.
  config.pretrain.num_steps = 0
  config.eval.every = 500
  config.eval.generate_frames = 20
  return config
