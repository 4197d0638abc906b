"""The RNN-RBM paper's piano-roll data sets, from a local pickle.

One config per data set, chosen by the config string:

  python -m experiments.download --data_set=jsb_chorales
  python -m experiments.train --config=configs/piano_rolls.py:jsb_chorales --workdir=DIR

The download puts the pickle where `config.data.path` points by default (the
cache directory); pass `--config.data.path=...` for a copy elsewhere.

Data sets: jsb_chorales, nottingham, musedata, piano_midi (the pickles of
Boulanger-Lewandowski et al. 2012). The model and training follow configs/chorales.py.
"""

import ml_collections

from configs import chorales
from rtrbm_jax.data import download

# The pickle each data set is published as.
PICKLES = download.PIANO_ROLL_FILES


def get_config(data_set: str = "jsb_chorales") -> ml_collections.ConfigDict:
  if data_set not in PICKLES:
    raise ValueError(f"config string {data_set!r} is not accepted: one of "
                     f"{tuple(PICKLES)}.")
  config = chorales.get_config()
  config.data.name = "piano_rolls"
  # Where experiments.download puts PICKLES[data_set].
  config.data.path = str(download.local_path(data_set))
  return config
