"""Progress lines with an honest ETA, for every step longer than a few seconds.

Two pitfalls make naive ETAs wrong under `jax.jit`: the first call of a jitted
function with new shapes includes its compilation (often longer than the work), and
work done between the timed calls (evaluation in a training loop) is not in the
per-step rate. So rates here are measured only on calls whose shapes were seen
before, and a training run's evaluations are timed and forecast separately.
"""

import contextlib
import logging as python_logging
import math
import sys
import time
from typing import Callable

from absl import logging


def format_seconds(seconds: float | None) -> str:
  """`h:mm:ss`, or "?" for an unknown (None, inf or NaN) duration."""
  if seconds is None or not math.isfinite(seconds):
    return "?"
  minutes, seconds = divmod(int(round(seconds)), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}:{minutes:02d}:{seconds:02d}"


class Progress:
  """Counts `done` of `total` items and logs `description: done/total, ETA` lines.

  A line is logged at most every `interval` seconds and at the end. The rate
  ignores updates marked `compiling=True` (a first jitted call), so the ETA is that
  of the remaining, already compiled, calls.
  """

  def __init__(self, description: str, total: int, unit: str = "items",
               interval: float = 5.0, clock: Callable[[], float] = time.monotonic):
    self.description, self.total, self.unit = description, total, unit
    self.interval, self._clock = interval, clock
    self.done = 0
    self._measured_items = 0
    self._measured_seconds = 0.0
    self._start = self._last_update = self._last_log = clock()

  def eta(self) -> float | None:
    """Seconds left at the measured rate; None until a non-compiling update."""
    if not self._measured_items:
      return None
    return (self.total - self.done) * self._measured_seconds / self._measured_items

  def update(self, items: int, compiling: bool = False) -> None:
    now = self._clock()
    if not compiling:
      self._measured_items += items
      self._measured_seconds += now - self._last_update
    self._last_update = now
    self.done += items
    if self.done >= self.total or now - self._last_log >= self.interval:
      self._last_log = now
      logging.info("%s", self.line())

  def line(self) -> str:
    elapsed = self._clock() - self._start
    if self.done >= self.total:
      return (f"{self.description}: {self.done}/{self.total} {self.unit}, done in "
              f"{format_seconds(elapsed)}")
    return (f"{self.description}: {self.done}/{self.total} {self.unit}, "
            f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(self.eta())}")


class TrainingEta:
  """The time left of a training run: its remaining updates and evaluations.

  Each phase's seconds per update come from its latest chunk whose length (a
  static argument of the jitted chunk) was run before, i.e. not compiling; the
  seconds per evaluation from the latest evaluation after the first. Phases or
  evaluations not measured yet make the ETA unknown ("?") rather than wrong.
  """

  def __init__(self, pretrain_steps: int, total_steps: int, eval_every: int,
               log_every: int):
    self.pretrain_steps, self.total_steps = pretrain_steps, total_steps
    self.eval_every, self.log_every = eval_every, log_every
    self._seconds_per_step = {}
    self._seen_chunks = set()
    self._seconds_per_eval = None
    self._evals_seen = 0

  def record_chunk(self, phase: str, num_steps: int, seconds: float) -> None:
    if (phase, num_steps) in self._seen_chunks:
      self._seconds_per_step[phase] = seconds / num_steps
    self._seen_chunks.add((phase, num_steps))

  def record_eval(self, seconds: float) -> None:
    if self._evals_seen:
      self._seconds_per_eval = seconds
    self._evals_seen += 1

  def _remaining_evals(self, step: int) -> int:
    if not self.eval_every:
      return 0
    # Evaluations happen at multiples of eval_every and at the last step.
    count = self.total_steps // self.eval_every - step // self.eval_every
    return count + (self.total_steps % self.eval_every != 0 and
                    step < self.total_steps)

  def _estimate(self, step: int) -> tuple[float, list[str]]:
    """(seconds of the measured remaining work, names of the unmeasured work)."""
    seconds, unmeasured = 0.0, []
    for phase, start, end in (("pretrain", 0, self.pretrain_steps),
                              ("train", self.pretrain_steps, self.total_steps)):
      steps_left = max(0, end - max(step, start))
      if steps_left and phase in self._seconds_per_step:
        seconds += steps_left * self._seconds_per_step[phase]
      elif steps_left:
        unmeasured.append(f"{phase} updates")
    evals_left = self._remaining_evals(step)
    if evals_left and self._seconds_per_eval is not None:
      seconds += evals_left * self._seconds_per_eval
    elif evals_left:
      unmeasured.append("evaluations")
    return seconds, unmeasured

  def remaining_seconds(self, step: int) -> float | None:
    """Seconds left after `step` updates; None while a needed rate is unmeasured."""
    seconds, unmeasured = self._estimate(step)
    return None if unmeasured else seconds

  def describe(self, step: int) -> str:
    """"ETA h:mm:ss", or a lower bound naming what is not timed yet."""
    seconds, unmeasured = self._estimate(step)
    if not unmeasured:
      return f"ETA {format_seconds(seconds)}"
    bound = f"> {format_seconds(seconds)}" if seconds else "?"
    return f"ETA {bound} ({', '.join(unmeasured)} not timed yet)"


class HideOrbaxInfo(python_logging.Filter):
  """Orbax logs every step of every save at INFO; keep our progress readable."""

  def filter(self, record):
    return (record.levelno > python_logging.INFO
            or "orbax" not in record.pathname)


class HideBackendProbes(python_logging.Filter):
  """JAX tries every backend it knows and logs at INFO each one not installed
  ("Unable to initialize backend 'tpu'"): noise on every command, not an error.
  A backend that was asked for and fails still raises."""

  def filter(self, record):
    return (record.levelno > python_logging.INFO
            or not record.getMessage().startswith("Unable to initialize backend"))


@contextlib.contextmanager
def progress_lines(stream=None):
  """Shows the library's INFO lines (progress, ETAs) while open, where absl
  would hide them: outside `app.run` (a notebook, a script) absl logs warnings
  only. Under `app.run`, or wherever INFO is already shown, it changes nothing.

  Args:
    stream: where the lines go; None: sys.stderr at the time of each line (what
      a notebook shows below the cell).
  """
  absl_logger = logging.get_absl_logger()
  if absl_logger.getEffectiveLevel() <= python_logging.INFO:
    yield
    return
  handler = python_logging.StreamHandler(stream or _CurrentStderr())
  handler.setFormatter(python_logging.Formatter("%(message)s"))
  handler.addFilter(HideOrbaxInfo())
  level, propagate = absl_logger.level, absl_logger.propagate
  absl_logger.addHandler(handler)
  absl_logger.setLevel(python_logging.INFO)
  # Not also to the root logger's handlers, which would print each line twice.
  absl_logger.propagate = False
  try:
    yield
  finally:
    absl_logger.removeHandler(handler)
    absl_logger.setLevel(level)
    absl_logger.propagate = propagate


class _CurrentStderr:
  """A stream writing to whatever sys.stderr is when written to (notebooks and
  pytest replace it)."""

  def write(self, text):
    sys.stderr.write(text)

  def flush(self):
    sys.stderr.flush()
