"""The best model of our family on bouncing balls: an RNN-RBM, chains at its prediction.

`configs/bouncing_balls.py` with the RNN-RBM (Boulanger-Lewandowski et al. 2012):
its RNN state (400 units) drives both the visible and the hidden biases of every
frame's RBM. Its learning rate is 3e-5: at 1e-4 and 3e-4 the held-out error rose
again after a few thousand updates (docs/results.md).
"""

from configs import bouncing_balls


def get_config():
  config = bouncing_balls.get_config()
  config.model.kind = "rnnrbm"
  # Its own recipe: SGD with momentum at 3e-5, chains of k = 10 (not the RTRBM's
  # Adam and k = 25).
  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 3e-5
  config.train.num_gibbs_steps = 10
  return config
