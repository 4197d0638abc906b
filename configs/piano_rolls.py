"""The RNN-RBM paper's piano-roll data sets, from a local pickle.

One config per data set, chosen by the config string:

  python -m experiments.train --config=configs/piano_rolls.py:jsb_chorales \
      --config.data.path="/path/to/JSB Chorales.pickle" --workdir=DIR

Data sets: jsb_chorales, nottingham, musedata, piano_midi (the pickles of
Boulanger-Lewandowski et al. 2012). The model and training follow configs/chorales.py.
"""

import ml_collections

from configs import chorales

# The pickle each data set is published as.
PICKLES = {
    "jsb_chorales": "JSB Chorales.pickle",
    "nottingham": "Nottingham.pickle",
    "musedata": "MuseData.pickle",
    "piano_midi": "Piano-midi.de.pickle",
}


def get_config(data_set: str = "jsb_chorales") -> ml_collections.ConfigDict:
  if data_set not in PICKLES:
    raise ValueError(f"config string {data_set!r} is not accepted: one of "
                     f"{tuple(PICKLES)}.")
  config = chorales.get_config()
  config.data.name = "piano_rolls"
  # Required on the command line: where PICKLES[data_set] is.
  config.data.path = ""
  return config
