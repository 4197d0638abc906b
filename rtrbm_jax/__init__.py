"""rtrbm_jax: Recurrent Temporal RBMs and their relatives in JAX.

`import rtrbm_jax as rj` gives the RTRBM's public API at the top level; the RBM
layer (`rj.rbm`), the RNN-RBM (`rj.rnnrbm`) and the input checks (`rj.checks`) are
modules of their own. Runs: `rj.train(config, workdir)` trains (as
`experiments.train` or `experiments.sweep` do) and `rj.load_run(workdir, step=None,
point=None)` loads one for a notebook; `rj.get_config("tiny")` is configs/tiny.py's
config from any working directory (`rj.config_names()` lists them).
"""

import types

from rtrbm_jax import ais
from rtrbm_jax import checks
from rtrbm_jax import rbm
from rtrbm_jax import rnnrbm
from rtrbm_jax.evaluation import ais_log_likelihood
from rtrbm_jax.rbm import gibbs_chain
from rtrbm_jax.rtrbm import CDAux
from rtrbm_jax.rtrbm import Params
from rtrbm_jax.rtrbm import cd_gradient
from rtrbm_jax.rtrbm import exact_gradient
from rtrbm_jax.rtrbm import exact_log_likelihood
from rtrbm_jax.rtrbm import forward_scan
from rtrbm_jax.rtrbm import gradient_from_statistics
from rtrbm_jax.rtrbm import init_params
from rtrbm_jax.rtrbm import reverse_scan
from rtrbm_jax import runs
from rtrbm_jax.runs import Run
from rtrbm_jax.runs import config_names
from rtrbm_jax.runs import get_config
from rtrbm_jax.runs import load_run
from rtrbm_jax import train


class _CallableModule(types.ModuleType):
  """`rtrbm_jax.train` stays the training module, and `rj.train(config, workdir)`
  calls `runs.train` (the module cannot be replaced by a function: the package
  imports it by name)."""

  def __call__(self, config, workdir):
    return runs.train(config, workdir)


train.__class__ = _CallableModule

__version__ = "0.1.0"
