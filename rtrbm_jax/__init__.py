"""rtrbm_jax: Recurrent Temporal RBMs and their relatives in JAX.

`import rtrbm_jax as rj` gives the RTRBM's public API at the top level; the RBM
layer (`rj.rbm`), the RNN-RBM (`rj.rnnrbm`) and the input checks (`rj.checks`) are
modules of their own.
"""

from rtrbm_jax import ais
from rtrbm_jax import checks
from rtrbm_jax import rbm
from rtrbm_jax import rnnrbm
from rtrbm_jax.ais import ais_log_likelihood
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

__version__ = "0.1.0"
