"""The RTRBM paper's motion capture (Sutskever, Hinton & Taylor 2008), its own data.

The config string picks the row (default `rtrbm`):

  python -m experiments.train --config=configs/mocap.py:rtrbm --workdir=runs/mocap

- `rtrbm`: the paper's settings, from its code (`rtrbm/p8/rnn_trbm/r/r_mocap.py`):
  Gaussian visible units (49 joint angles), 200 hidden units, weights 0.005 *
  N(0, 1), windows of 50 frames, one window per update, SGD with momentum 0.9 at
  0.001 on the gradient averaged over the window's frames (our 2e-5 on the
  gradient summed over them) decaying linearly to 0 over 100,000 updates, CD-5
  then CD-10 from update 100 and CD-25 from update 1,000, after 50 updates of RBM
  pretraining of the visible-hidden weights (its 0.01 is our 2e-4), chains started
  at the data.
- `rtrbm_adam`: the same model trained with Adam, whose per-parameter scale
  suits Gaussian units (`configs/arm.py`), as a second row.
- `rnnrbm`: the RNN-RBM (100 recurrent units) with the `rtrbm_adam` recipe.

The data are `../shared/data/mocap/MOCAP.mat` beside the repository if it is
there, else the copy `python -m experiments.download --data_set=mocap` fetches;
the last 20% of each sequence is the test part, as in the paper's code, and the
last 10% of each training part the validation part that training evaluates on
(`rtrbm_jax/data/mocap.py`). The file is standardised already: frames are kept in
its units.
"""

import ml_collections

from configs import default

VARIANTS = ("rtrbm", "rtrbm_adam", "rnnrbm")


def get_config(variant: str = "rtrbm") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"config string {variant!r} is not accepted: one of "
                     f"{VARIANTS}.")
  config = default.get_config()
  config.model.visible_type = "gaussian"
  config.model.num_visible = 49
  config.model.num_hidden = 200
  config.data.name = "mocap"
  config.data.num_frames = 50
  config.optimizer.learning_rate = 2e-5
  config.train.num_steps = 100_000
  config.train.checkpoint_every = 10_000
  config.pretrain.num_steps = 50
  config.pretrain.learning_rate = 2e-4
  # The validation part holds 5 windows of 50 frames (its longest sequence's).
  config.eval.num_sequences = 5
  config.eval.num_samples = 3
  config.eval.generate_frames = 50
  config.eval.every = 5_000
  # The parameters of the lowest validation next-frame error are kept
  # (best_params.npz; `--step=best` evaluates them).
  config.eval.select_by = "next_frame_error"
  if variant != "rtrbm":
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-3
    config.pretrain.num_steps = 0
  if variant == "rnnrbm":
    config.model.kind = "rnnrbm"
    config.model.num_recurrent = 100
  return config
