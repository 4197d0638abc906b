"""A linear autoregressive next-frame predictor: the baseline for real-valued data.

An order-p model predicts frame t from the p frames before it,

  v_t ~ bias + sum_{k=1..p} v_{t-k} @ A_k,

with `A_k` of shape `[nv, nv]` (row vectors, as frames are stored). The lags are
stacked into one matrix, lag 1 first: `weights[(k-1) nv : k nv] = A_k`, so that
the prediction is `history @ weights + bias` with
`history = [v_{t-1}, v_{t-2}, ..., v_{t-p}]` of length `p nv`.

:func:`fit` solves the (ridge-regularised) least-squares problem over every
frame of the training sequences that has p frames before it;
:func:`choose_order` picks p by the next-frame error on validation sequences;
:func:`predict` predicts frames 2..T of a batch. Everything is numpy, in float64.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

DEFAULT_ORDERS = tuple(range(1, 11))


class LinearAutoregressive(NamedTuple):
  """An order-p linear next-frame predictor (module docstring).

  Attributes:
    weights: float64 `[order * nv, nv]`, the lag matrices A_1..A_p stacked.
    bias: float64 `[nv]`.
  """
  weights: np.ndarray
  bias: np.ndarray

  @property
  def order(self) -> int:
    return self.weights.shape[0] // self.weights.shape[1]


def _check_order(order) -> int:
  if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
    raise ValueError(f"order={order!r} is not accepted: expected an integer >= 1")
  return int(order)


def _as_sequences(sequences, name: str) -> list[np.ndarray]:
  """float64 `[T_i, nv]` arrays with one `nv`, from a list or an array `[B, T, nv]`."""
  arrays = [np.asarray(sequence, dtype=np.float64) for sequence in sequences]
  if not arrays:
    raise ValueError(f"{name} holds no sequences; expected [T_i, nv] arrays")
  for index, array in enumerate(arrays):
    if array.ndim != 2 or array.shape[1] != arrays[0].shape[1]:
      raise ValueError(f"{name}[{index}] has shape {array.shape}; expected "
                       f"[T, {arrays[0].shape[-1]}] like {name}[0]")
  return arrays


def _lagged(frames: np.ndarray, order: int) -> np.ndarray:
  """Histories `[..., T - order, order * nv]` of frames `order..T-1` of `[..., T, nv]`.

  Row i holds `[v_{order+i-1}, v_{order+i-2}, ..., v_i]`, lag 1 first.
  """
  length = frames.shape[-2]
  return np.concatenate([frames[..., order - lag:length - lag, :]
                         for lag in range(1, order + 1)], axis=-1)


def fit(sequences, order: int, ridge: float = 1e-6) -> LinearAutoregressive:
  """Least-squares fit of an order-`order` model to every predictable frame.

  The targets are the frames t >= order (0-based) of every sequence, each
  predicted from its `order` real predecessors; a sequence of `order` frames or
  fewer contributes none. The fit minimises

    mean_t ||v_t - history_t @ weights - bias||^2 + ridge ||weights||_F^2,

  the bias unpenalised (it is the least-squares bias of the centred problem), so
  `ridge` is per frame and independent of how many frames there are. A small
  ridge keeps the solution unique when dimensions are collinear, as
  standardised joint angles of consecutive frames nearly are.

  Args:
    sequences: a list of `[T_i, nv]` arrays, or an array `[B, T, nv]`.
    order: number p of past frames, >= 1.
    ridge: the penalty above, >= 0.

  Returns:
    `LinearAutoregressive` with weights `[order * nv, nv]` and bias `[nv]`.

  Raises:
    ValueError: a bad order or ridge, sequences that are not `[T_i, nv]`, or no
      sequence longer than `order`.
  """
  order = _check_order(order)
  if not ridge >= 0:
    raise ValueError(f"ridge={ridge!r} is not accepted: expected a number >= 0")
  sequences = _as_sequences(sequences, "sequences")
  usable = [sequence for sequence in sequences if len(sequence) > order]
  if not usable:
    raise ValueError(f"order={order} is not accepted: no sequence has more than "
                     f"{order} frames (lengths {[len(s) for s in sequences]}), so "
                     "no frame has a full history to fit on")
  histories = np.concatenate([_lagged(sequence, order) for sequence in usable])
  targets = np.concatenate([sequence[order:] for sequence in usable])
  history_mean, target_mean = histories.mean(axis=0), targets.mean(axis=0)
  num_frames, num_inputs = histories.shape
  # Ridge as extra rows of the centred system: lstsq's SVD is stable where the
  # normal equations would square the condition number of collinear frames.
  design = np.concatenate([histories - history_mean,
                           np.sqrt(num_frames * ridge) * np.eye(num_inputs)])
  wanted = np.concatenate([targets - target_mean,
                           np.zeros((num_inputs, targets.shape[1]))])
  weights = np.linalg.lstsq(design, wanted, rcond=None)[0]
  return LinearAutoregressive(weights=weights,
                              bias=target_mean - history_mean @ weights)


def predict(model: LinearAutoregressive, frames) -> np.ndarray:
  """Predictions of frames 2..T of every sequence, each from the frames before it.

  Frame t (0-based, t >= 1) is predicted from frames t-1, ..., t-order. Where
  t < order, the history runs past the start of the sequence: its missing frames
  are taken to be copies of frame 0 (the sequence held still before it was
  recorded), so every frame but the first gets a prediction. Frames t >= order
  use only real frames.

  Args:
    model: a fitted `LinearAutoregressive` of some order p and nv.
    frames: `[B, T, nv]` with T >= 2.

  Returns:
    float64 `[B, T - 1, nv]`: entry `[:, t - 1]` predicts `frames[:, t]`.

  Raises:
    ValueError: frames not `[B, T, nv]` with T >= 2 and the model's nv.
  """
  frames = np.asarray(frames, dtype=np.float64)
  num_visible = model.bias.shape[0]
  if frames.ndim != 3 or frames.shape[1] < 2 or frames.shape[2] != num_visible:
    raise ValueError(f"frames has shape {frames.shape}; expected [B, T, "
                     f"{num_visible}] with T >= 2 (the model's nv)")
  order = model.order
  padding = np.repeat(frames[:, :1], order - 1, axis=1)
  padded = np.concatenate([padding, frames], axis=1)
  # Real frame t is padded frame t + order - 1, so the T - 1 histories of
  # padded frames order.. are those of real frames 1..T-1.
  histories = _lagged(padded, order)
  return histories @ model.weights + model.bias


def squared_errors(model: LinearAutoregressive, frames,
                   first_predicted: int = 1) -> np.ndarray:
  """Squared errors summed over dimensions, per predicted frame.

  Args:
    model: a fitted `LinearAutoregressive`.
    frames: `[B, T, nv]`.
    first_predicted: the first frame (0-based, >= 1) whose error is returned;
      frames before it serve as history only.

  Returns:
    float64 `[B, T - first_predicted]`: `||prediction_t - v_t||^2` for frames
    t = first_predicted..T-1.
  """
  frames = np.asarray(frames, dtype=np.float64)
  if first_predicted < 1:
    raise ValueError(f"first_predicted={first_predicted!r} is not accepted: "
                     "expected >= 1 (frame 0 has no past to predict it from)")
  errors = predict(model, frames) - frames[:, 1:]
  return np.sum(errors[:, first_predicted - 1:] ** 2, axis=-1)


def choose_order(train, valid, orders: Sequence[int] = DEFAULT_ORDERS,
                 ridge: float = 1e-6) -> tuple[int, dict[int, float]]:
  """The order whose model, fitted on `train`, best predicts `valid`'s frames.

  Every order is scored on the same frames: those of each validation sequence
  with at least `max(orders)` frames before them (0-based t >= max(orders)), so
  that no score uses a padded history and no order is judged on frames the
  others skip. A validation sequence of `max(orders)` frames or fewer is left
  out; to score every frame of a validation part that continues a training
  part, prepend the training part's last `max(orders)` frames to it.

  Args:
    train: a list of `[T_i, nv]` arrays (or `[B, T, nv]`) to fit on.
    valid: a list of `[T_j, nv]` arrays (or `[B, T, nv]`) to score on.
    orders: the orders to try, each >= 1.
    ridge: passed to :func:`fit`.

  Returns:
    (the order with the lowest error, the smallest on a tie; {order: error}),
    where an error is the squared error summed over dimensions, averaged over
    the scored frames.

  Raises:
    ValueError: no orders, a bad order, or no validation sequence longer than
      `max(orders)`.
  """
  orders = [_check_order(order) for order in orders]
  if not orders:
    raise ValueError("orders=() is not accepted: expected at least one order")
  valid = _as_sequences(valid, "valid")
  history = max(orders)
  scored = [sequence for sequence in valid if len(sequence) > history]
  if not scored:
    raise ValueError(f"valid has no sequence longer than max(orders)={history} "
                     f"(lengths {[len(s) for s in valid]}); expected at least one "
                     "frame with a full history to score")
  errors = {}
  for order in orders:
    model = fit(train, order, ridge)
    per_frame = np.concatenate([
        squared_errors(model, sequence[None], first_predicted=history)[0]
        for sequence in scored])
    errors[order] = float(per_frame.mean())
  best = min(orders, key=lambda order: (errors[order], order))
  return best, errors


def fitted_predictions(train, valid, frames) -> tuple[np.ndarray, int, dict]:
  """Predictions of frames 2..T of `frames` [B, T, nv] by a linear autoregressive
  model fitted on `train`, its order (`DEFAULT_ORDERS`) chosen on `valid`.

  Returns:
    (float64 `[B, T - 1, nv]` predictions, the order, {order: validation error}).
  """
  order, valid_errors = choose_order(train, valid)
  return predict(fit(train, order), frames), order, valid_errors
