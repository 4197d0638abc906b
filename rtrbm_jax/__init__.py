"""rtrbm_jax: Recurrent Temporal RBMs and their relatives in JAX.

    import rtrbm_jax as rj

    model = rj.get_model("rtrbm")            # or "rnnrbm", "rnnnade": pure functions
    params = model.init_params(key, num_visible, num_hidden)
    grads, aux = model.cd_gradient(params, v, key, num_gibbs_steps)
    c, r = rj.rtrbm.forward_scan(params, v)  # a model's own functions: its module

    config = rj.get_config("tiny")           # configs/tiny.py, from anywhere
    rj.train(config, workdir)                # as experiments.train / .sweep do
    run = rj.load_run(workdir)               # config, model, params, step

The package's layers are its folders (README, "What is where"): `models/` (the
math), `data/`, `evaluation/`, `outputs/` (what a run writes), `training/` and
`runs/` (a workdir from outside).
"""

from rtrbm_jax.models import rbm
from rtrbm_jax.models import rnnnade
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import rtrbm
from rtrbm_jax.models import temporal
from rtrbm_jax.models.registry import MODEL_KINDS
from rtrbm_jax.models.registry import get_model
from rtrbm_jax.runs.api import Run
from rtrbm_jax.runs.api import config_names
from rtrbm_jax.runs.api import get_config
from rtrbm_jax.runs.api import load_run
from rtrbm_jax.runs.api import train

__all__ = ["MODEL_KINDS", "Run", "config_names", "get_config", "get_model",
           "load_run", "rbm", "rnnnade", "rnnrbm", "rtrbm", "temporal", "train"]

__version__ = "0.1.0"
