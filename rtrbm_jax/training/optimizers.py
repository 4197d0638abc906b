"""The optimizers of a run, from `config.optimizer` and `config.pretrain`.

An optax chain for the temporal model (clipping, weight decay, SGD with momentum
or Adam, a learning-rate schedule), with its learning rate, momentum and weight
decay in the optimizer state so that a sweep vmaps over them and a resumed run
can take changed ones; plain SGD for the RBM pretraining.
"""

import jax
import ml_collections
import optax


def learning_rate_schedule(optimizer_config, num_steps: int) -> optax.Schedule:
  """Constant, linear decay to 0 (the paper's) or cosine, after a linear warmup."""
  rate = optimizer_config.learning_rate
  warmup = optimizer_config.warmup_steps
  decay_steps = max(num_steps - warmup, 1)
  if optimizer_config.schedule == "constant":
    schedule = optax.constant_schedule(rate)
  elif optimizer_config.schedule == "linear":
    schedule = optax.linear_schedule(rate, 0.0, decay_steps)
  else:
    schedule = optax.cosine_decay_schedule(rate, decay_steps)
  if warmup:
    return optax.join_schedules(
        [optax.linear_schedule(0.0, rate, warmup), schedule], [warmup])
  return schedule


def make_optimizer(optimizer_config, num_steps: int) -> optax.GradientTransformation:
  """The optax chain named by `config.optimizer`.

  Gradient clipping (if `clip_norm` > 0), then weight decay on the weight matrices
  only (added to the gradient, i.e. L2 regularisation, before momentum or Adam's
  scaling), then SGD with momentum or Adam, then the learning-rate schedule.
  The learning rate, momentum and weight decay live in the optimizer state
  (`optax.inject_hyperparams`), so a sweep vmaps over them with one compiled step.
  """
  relative = ml_collections.ConfigDict(optimizer_config.to_dict())
  relative.learning_rate = 1.0
  relative_schedule = learning_rate_schedule(relative, num_steps)

  def chain(learning_rate, momentum, weight_decay):
    parts = []
    if optimizer_config.clip_norm:
      parts.append(optax.clip_by_global_norm(optimizer_config.clip_norm))
    parts.append(optax.add_decayed_weights(
        weight_decay,
        mask=lambda params: jax.tree.map(lambda leaf: leaf.ndim == 2, params)))
    if optimizer_config.name == "sgd":
      parts.append(optax.trace(decay=momentum, nesterov=optimizer_config.nesterov))
    else:
      parts.append(optax.scale_by_adam(b1=optimizer_config.b1,
                                       b2=optimizer_config.b2,
                                       eps=optimizer_config.eps))
    parts.append(optax.scale_by_schedule(
        lambda count: -learning_rate * relative_schedule(count)))
    return optax.chain(*parts)

  return optax.inject_hyperparams(chain)(
      learning_rate=optimizer_config.learning_rate,
      momentum=optimizer_config.momentum,
      weight_decay=optimizer_config.weight_decay)


def make_pretrain_optimizer(learning_rate: float,
                            momentum: float) -> optax.GradientTransformation:
  """SGD of the RBM pretraining; momentum 0 means none (no momentum state)."""
  return optax.sgd(learning_rate, momentum=momentum or None)
