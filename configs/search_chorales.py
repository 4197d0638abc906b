"""Recipe searches on the Bach chorales: a vmapped sweep of the learning rate.

  python -m experiments.sweep --config=configs/search_chorales.py:KIND_CHAIN \
      --workdir=DIR
  python -m experiments.evaluate --workdir=DIR --point=N

KIND is `rtrbm` or `rnnrbm`; CHAIN is where the negative chains start
(`train.chain_start`: data, prediction or persistent). These are the searches
behind the chorale rows of docs/results.md.
"""

from configs import chorales
from rtrbm_jax.models import registry
from rtrbm_jax.models import frame_statistics


def get_config(recipe: str = "rtrbm_prediction"):
  kind, _, chain_start = recipe.partition("_")
  if (kind not in registry.MODEL_KINDS
      or chain_start not in frame_statistics.CHAIN_STARTS):
    raise ValueError(f"recipe={recipe!r} is not accepted: KIND_CHAIN with KIND in "
                     f"{', '.join(registry.MODEL_KINDS)} and CHAIN in "
                     f"{', '.join(frame_statistics.CHAIN_STARTS)}.")
  config = chorales.get_config()
  config.model.kind = kind
  config.train.chain_start = chain_start
  config.sweep = dict(learning_rate=(0.001, 0.003, 0.01))
  return config
