"""The temporal models by name: `get_model(kind)` is a lookup in `MODELS`.

Each model's module exports its parts (`rtrbm.PARTS`, `rnnrbm.PARTS`: RBM frames,
`temporal.ModelParts`; `rnnnade.PARTS`: NADE frames, `tractable.TractableParts`)
and their `make_model` bundles them; adding a model kind is its module and one
entry here. Training, evaluation, sweeps and benchmarks take the bundle (a
`temporal.TemporalModel`) and never branch on its kind.
"""

from rtrbm_jax.models import rbm
from rtrbm_jax.models import rnnnade
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import rtrbm
from rtrbm_jax.models import temporal

MODELS = {parts.kind: parts for parts in (rtrbm.PARTS, rnnrbm.PARTS,
                                           rnnnade.PARTS)}
MODEL_KINDS = tuple(MODELS)


def get_model(kind: str = "rtrbm", visible_type: str = rbm.BINARY,
              sampler: str = "uniform", num_recurrent: int | None = None,
              chain_start: str = "data") -> temporal.TemporalModel:
  """The model of the given kind with its visible type and Bernoulli sampler bound.

  Args:
    kind: one of `MODEL_KINDS`.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    num_recurrent: size of the RNN state of the RNN-RBM and the RNN-NADE, bound
      into `init_params`; `None` means num_hidden. The RTRBM's state is its
      hidden layer, so it takes only `None`.
    chain_start: where `cd_gradient`'s negative chains start, one of
      `frame_statistics.CHAIN_STARTS`, bound into `cd_gradient`.

  Raises:
    ValueError: a value that is not one of those accepted, named.
  """
  if kind not in MODELS:
    raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {kind!r}.")
  init_options = {} if num_recurrent is None else {"num_recurrent": num_recurrent}
  return MODELS[kind].make_model(visible_type, sampler, chain_start,
                                 **init_options)


def from_config(config) -> temporal.TemporalModel:
  """The model a training config describes: `config.model` and `train.chain_start`.

  Args:
    config: an `ml_collections.ConfigDict` with `model.kind`, `model.visible_type`,
      `model.sampler`, optionally `model.num_recurrent` (bound where the model
      takes it), and `train.chain_start`.
  """
  num_recurrent = config.model.get("num_recurrent")
  if "num_recurrent" not in MODELS[config.model.kind].init_options:
    # A config's model section holds the field for every kind.
    num_recurrent = None
  return get_model(config.model.kind, config.model.visible_type,
                   config.model.sampler, num_recurrent=num_recurrent,
                   chain_start=config.train.chain_start)
