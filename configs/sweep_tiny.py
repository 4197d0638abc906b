"""An 8-point sweep of the tiny config: 4 learning rates x 2 initial weight scales."""

from configs import tiny


def get_config():
  config = tiny.get_config()
  config.sweep = dict(learning_rate=(0.003, 0.01, 0.03, 0.1),
                      weight_scale=(0.01, 0.1))
  return config
