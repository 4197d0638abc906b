"""What every experiment entry point does first and last.

Flags defined here (`--multihost`) are shared by all entry points.
"""

import sys

from absl import flags
from absl import logging
import jax

_MULTIHOST = flags.DEFINE_bool(
    "multihost", False,
    "Call jax.distributed.initialize() before anything else, so the same command "
    "runs on every host of a TPU pod slice or a multi-node GPU cluster.")


class _HideOrbaxInfo(logging.logging.Filter):
  """Orbax logs every step of every save at INFO; keep our progress readable."""

  def filter(self, record):
    return record.levelno > logging.logging.INFO or "orbax" not in record.pathname


class _HideBackendProbes(logging.logging.Filter):
  """JAX tries every backend it knows and logs at INFO each one not installed
  ("Unable to initialize backend 'tpu'"): noise on every command, not an error.
  A backend that was asked for and fails still raises."""

  def filter(self, record):
    return (record.levelno > logging.logging.INFO
            or not record.getMessage().startswith("Unable to initialize backend"))


def start() -> None:
  """Initialises multi-host JAX if asked, and quiets orbax's logging."""
  if _MULTIHOST.value:
    jax.distributed.initialize()
  logging.get_absl_handler().addFilter(_HideOrbaxInfo())
  logging.get_absl_handler().addFilter(_HideBackendProbes())


def run_or_exit(function, *args):
  """Runs `function(*args)`; a ValueError becomes one line on stderr and exit 1."""
  try:
    return function(*args)
  except ValueError as error:
    # One line, not also an absl E line: the message is the whole story.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
