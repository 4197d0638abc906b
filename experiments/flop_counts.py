"""FLOP counts of the train step: what the RTRBM's CD-k gradient must multiply,
and the matrix-product FLOPs of any jitted function (from its jaxpr), for the
achieved GFLOP/s of `experiments/benchmark.py`.
"""

from typing import Any, Callable, NamedTuple

import jax
from jax.extend import core as jax_core
import numpy as np


class FlopCount(NamedTuple):
  """FLOPs of the matrix products of one CD-k gradient, 2 per multiply-add.

  With N = B * T frames (B sequences of T frames), nv visible and nh hidden units:

  Attributes:
    forward_input: v_t @ w_vh for every frame, 2 N nv nh.
    recurrence: r_{t-1} @ w_hh for t = 2..T, 2 B (T - 1) nh^2.
    gibbs_chain: k Gibbs steps, each h @ w_vh^T and v @ w_vh for every frame,
      4 k N nv nh. The chain starts from P(h | v_t) of the data, which the forward
      scan has computed, so its first hidden product is not counted.
    reverse_scan: delta_{t+1} @ w_hh^T for t = 1..T-1, 2 B (T - 1) nh^2.
    weight_gradients: sum_n v_n h_n^T of the chain's last step and V^T (delta - d -
      R / B) (data and BPTT terms in one product), 4 N nv nh; r_{t-1}^T delta_t for
      t = 2..T, 2 B (T - 1) nh^2.
  """
  forward_input: int
  recurrence: int
  gibbs_chain: int
  reverse_scan: int
  weight_gradients: int

  @property
  def total(self) -> int:
    return sum(self)


def cd_gradient_flops(batch_size: int, num_frames: int, num_visible: int,
                      num_hidden: int, num_gibbs_steps: int) -> FlopCount:
  """The FLOP count of the RTRBM's `cd_gradient`'s matrix products; see `FlopCount`.

  Elementwise work (sigmoids, sampling, the optimizer) is not counted: the count is
  of the products the gradient must do, so that GFLOP/s compare with a matmul
  ceiling.
  """
  frames = batch_size * num_frames
  transitions = batch_size * (num_frames - 1)
  visible_hidden = 2 * frames * num_visible * num_hidden
  hidden_hidden = 2 * transitions * num_hidden * num_hidden
  return FlopCount(forward_input=visible_hidden,
                   recurrence=hidden_hidden,
                   gibbs_chain=2 * num_gibbs_steps * visible_hidden,
                   reverse_scan=hidden_hidden,
                   weight_gradients=2 * visible_hidden + hidden_hidden)


def count_dot_flops(function: Callable[..., Any], *args) -> int:
  """FLOPs of the matrix products `function(*args)` traces to, 2 per multiply-add.

  Counts every `dot_general` of the jaxpr, a scan's body `length` times, a `cond`'s
  costliest branch; XLA may still merge duplicates when it compiles. Static
  arguments are bound beforehand (e.g. with `functools.partial`).

  Raises:
    ValueError: the function has a `while_loop` (its trip count is not known);
      trace it with a static loop bound, which makes `fori_loop` a scan.
  """

  def jaxpr_flops(jaxpr) -> int:
    total = 0
    for equation in jaxpr.eqns:
      name = equation.primitive.name
      if name == "dot_general":
        (contracting, _), _ = equation.params["dimension_numbers"]
        lhs_shape = equation.invars[0].aval.shape
        total += 2 * int(np.prod(equation.outvars[0].aval.shape)) * int(
            np.prod([lhs_shape[axis] for axis in contracting]))
      elif name == "while":
        raise ValueError(
            "count_dot_flops cannot count a while_loop (unknown trip count); make "
            "the loop bounds static.")
      elif name == "scan":
        total += equation.params["length"] * jaxpr_flops(equation.params["jaxpr"])
      elif name == "cond":
        total += max(jaxpr_flops(branch) for branch in equation.params["branches"])
      else:
        for value in equation.params.values():
          if isinstance(value, (jax_core.Jaxpr, jax_core.ClosedJaxpr)):
            total += jaxpr_flops(value)
    return total

  closed = jax.make_jaxpr(function)(*args)
  return jaxpr_flops(closed.jaxpr)
