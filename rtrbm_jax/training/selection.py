"""Model selection: the parameters of a run's best validation figure.

For data sets with a validation split, training keeps the parameters of the best
held-out figure (`config.eval.select_by`), as the RNN-RBM paper stops early on
its validation split; `rj.load_run(workdir, step="best")` loads them.

The best figure compares evaluations of one meaning: a resumed run whose data
set or selection settings changed (`changed_meaning`) starts selection again,
and a finished run, with no evaluation left to choose again, refuses the change.
"""

import os

from absl import logging
import numpy as np

from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import workdirs


# The evaluation settings that compute the selection figure; with the data set's
# fields (which split is scored, cut how), what the figure means.
_FIGURE_SETTINGS = ("eval.select_by", "eval.num_sequences", "eval.num_gibbs_steps",
                    "eval.log_likelihood_frames", "eval.num_temperatures",
                    "eval.num_chains")


def gives_meaning(field: str) -> bool:
  """Whether a change of config `field` changes what the selection figure means
  (where training sequences come from does not: the validation split stays)."""
  return field in _FIGURE_SETTINGS or (field.startswith("data.")
                                       and field != "data.train_source")


def changed_meaning(workdir: str, config, step: int, last_step: int) -> dict:
  """The changes, {field: (old, new)}, that restart the selection of a run
  resumed at `step` of `last_step` (empty if none).

  Raises:
    ValueError: the run has finished with a best_params.npz that such a change
      would leave unmatched (no evaluation is left to choose again); one line.
  """
  changes = {field: values for field, values
             in workdirs.stored_changes(workdir, config).items()
             if gives_meaning(field)}
  path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
  if changes and step >= last_step and os.path.exists(path):
    listed = ", ".join(f"{field} {old!r} -> {new!r}"
                       for field, (old, new) in changes.items())
    raise ValueError(
        f"the run in {workdir} has finished ({step} updates) and its "
        f"{workdirs.BEST_PARAMS_FILE} was chosen without {listed}: the change "
        "would restart model selection with no evaluation left to choose again. "
        "Keep the run's values, or raise train.num_steps (with "
        "--allow_config_change) to train and select further.")
  return changes if step < last_step else {}


def restart(workdir: str, changes: dict) -> str:
  """Removes the best parameters chosen before `changes`; says so (for the
  record of the config change)."""
  path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
  if os.path.exists(path):
    os.remove(path)
  reason = (f"model selection starts again: {', '.join(changes)} changed what "
            "the held-out figure means, so the best parameters chosen before "
            "(removed) are not compared with those after")
  logging.warning("%s.", reason)
  return reason


class BestParams:
  """Keeps the parameters of the best held-out figure in a workdir.

  For data sets with a validation split (`datasets.heldout_split` is "valid"),
  the validation split picks the stopping point, as in the RNN-RBM paper: at each
  held-out evaluation whose figure (`eval.select_by`: the frame accuracy, the
  log-likelihood of the sampled held-out frames, or the next-frame error, where
  lower is better) beats every earlier one, the
  parameters are written (atomically) to `workdir/best_params.npz` with the
  update (`step`) and the figure (under its name). A run resumed at `step`
  starts from the file's figure; a file from a later update than `step` (the
  run was stopped after it and resumed from an older checkpoint, perhaps with a
  changed config), from before a fresh start, or chosen by another figure is
  removed, since the updates after `step` are redone and evaluated again.
  """

  def __init__(self, workdir: str, step: int, figure: str = "frame_accuracy"):
    self.path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
    # Compared as `sign * value`, so that a larger one is always better.
    self.sign = -1.0 if figure in evaluators.LOWER_IS_BETTER else 1.0
    self.figure, self.value = figure, -np.inf
    if not os.path.exists(self.path):
      return
    try:
      stored = checkpoints.load_params(self.path)
      stored_step = int(stored["step"])
    except (ValueError, KeyError) as error:
      logging.warning("%s does not read (%s); the next evaluation replaces it.",
                      self.path, str(error).splitlines()[0][:200])
      return
    if 0 < stored_step <= step and figure in stored:
      self.value = self.sign * float(stored[figure])
    else:
      os.remove(self.path)

  def update(self, step: int, params, value: float | None) -> None:
    """Writes `params` if `value` (the figure of an evaluation, or None when the
    step had none) is the best yet."""
    if value is None or not self.sign * value > self.value:
      return
    self.value = self.sign * float(value)
    checkpoints.save_params(self.path, params, step=step,
                            **{self.figure: float(value)})
    logging.info("step %d: the best held-out %s yet (%.4f); its parameters are "
                 "in %s.", step, self.figure.replace("_", " "), value, self.path)


def selection_figure(figures: dict | None, select_by: str) -> float | None:
  """The held-out figure that `select_by` (a key of
  `evaluators.SELECTION_FIGURES`) names, from an evaluation's figures, or None
  without one."""
  if figures is None:
    return None
  return float(figures["heldout"][evaluators.SELECTION_FIGURES[select_by]]["mean"])
