"""The RNN-RBM paper's four polyphonic-music sets, for the RTRBM and the RNN-RBM.

The config string is `SET,MODEL`:

  python -m experiments.train \
      --config=configs/polyphonic.py:jsb_chorales,rnnrbm --workdir=runs/jsb_rnnrbm

Sets: jsb_chorales, nottingham, musedata, piano_midi (Boulanger-Lewandowski et al.
2012, their published train/valid/test splits); models: rtrbm, rnnrbm, rnnnade. The data
are read from `../shared/data/polyphonic/<set>.mat` beside the repository if it is
there, else from the pickle `python -m experiments.download` puts in the cache
directory; `--config.data.path=...` reads another copy (.mat or .pickle).

Training evaluates the held-out next-frame error and frame accuracy on the
**valid** split (non-overlapping windows) every `eval.every` updates and keeps the
parameters of the best validation accuracy as `best_params.npz`; the test split is
touched once, by `python -m experiments.evaluate --workdir=DIR --step=best`.

Sizes: 88 visible units (MIDI 21..108), 150 hidden units and, for the RNN-RBM,
100 recurrent units: the defaults of the authors' RNN-RBM tutorial code
(deeplearning.net `rnnrbm.py`: n_hidden=150, n_hidden_recurrent=100, CD-15,
learning rate 0.001, weights 0.01 * N(0, 1)). The recipe (chains started at the
model's prediction, SGD with momentum, batches of 10 windows) is the best measured
on the music21 chorales (`configs/chorales.py`, docs/results.md). The RNN-NADE
takes the RNN-RBM's sizes (a NADE of 150 hidden units per frame) and is trained
by its exact gradient, with no chain and no RBM pretraining: Adam at 0.001 for
50,000 updates (JSB: 20,000), its parameters picked by the exact log-likelihood
of the evaluated validation windows (all their frames: it needs no AIS). On JSB
(docs/results.md) this beat SGD, a shorter schedule and a larger model (300
hidden, 300 recurrent), which overfits the 229 chorales within 2,000 updates.
"""

import os

import ml_collections

from configs import chorales
from rtrbm_jax.data import polyphonic
from rtrbm_jax.models import registry

# Per set: (frames per training window, updates of the temporal model, windows of
# the valid split evaluated during training). JSB's shortest training chorale has
# 25 frames, so its windows are 24 frames long and no chorale is left out; the
# other sets' pieces are longer (a few MuseData and Nottingham pieces shorter than
# 64 frames, under 0.4% of their training frames, are not trained on).
_SETTINGS = {
    "jsb_chorales": (24, 10_000, 150),
    "nottingham": (64, 50_000, 600),
    "musedata": (64, 50_000, 1000),
    "piano_midi": (64, 30_000, 120),
}
# The best learning rate of each model on the chorales (docs/results.md).
_LEARNING_RATES = {"rtrbm": 0.003, "rnnrbm": 0.001, "rnnnade": 0.001}
# The RNN-NADE's updates (Adam, the rate decaying linearly to 0 over them): on
# JSB's 229 chorales 20,000 reach a better validation likelihood than 50,000
# (docs/results.md); the larger sets take 50,000.
_RNNNADE_STEPS = {"jsb_chorales": 20_000, "nottingham": 50_000,
                  "musedata": 50_000, "piano_midi": 50_000}
_REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get_config(config_string: str = "jsb_chorales,rtrbm"
               ) -> ml_collections.ConfigDict:
  data_set, _, model = config_string.partition(",")
  if data_set not in polyphonic.DATA_SETS or model not in registry.MODEL_KINDS:
    raise ValueError(
        f"config string {config_string!r} is not accepted: SET,MODEL with SET one "
        f"of {tuple(polyphonic.DATA_SETS)} and MODEL one of "
        f"{registry.MODEL_KINDS}, e.g. jsb_chorales,rnnrbm.")
  num_frames, num_steps, num_eval_windows = _SETTINGS[data_set]
  config = chorales.get_config()
  config.model.kind = model
  if "num_recurrent" in registry.MODELS[model].init_options:
    config.model.num_recurrent = 100
  if registry.get_model(model).frame_rbms is None:
    config.pretrain.num_steps = 0  # Only RBM frames are pretrained.
  config.data.name = "piano_rolls"
  config.data.path = polyphonic.default_path(data_set, _REPOSITORY_ROOT)
  config.data.num_frames = num_frames
  config.data.window_stride = num_frames // 4
  config.optimizer.learning_rate = _LEARNING_RATES[model]
  config.train.num_steps = num_steps
  config.train.checkpoint_every = 5000
  config.eval.every = 500
  config.eval.num_sequences = num_eval_windows
  config.eval.prime_frames = 8
  config.eval.generate_frames = 32
  if model == "rnnnade":
    # Exact frames: the likelihood picks the parameters, on every evaluated frame.
    config.optimizer.name = "adam"
    config.train.num_steps = _RNNNADE_STEPS[data_set]
    config.eval.select_by = "log_likelihood"
    config.eval.log_likelihood_frames = num_eval_windows * num_frames
  return config
