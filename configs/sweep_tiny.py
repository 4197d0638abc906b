"""A 6-point sweep of the tiny config: 3 learning rates x 2 initial weight scales."""

from configs import tiny


def get_config():
  config = tiny.get_config()
  config.sweep = dict(learning_rate=(0.001, 0.003, 0.01),
                      weight_scale=(0.01, 0.1))
  return config
