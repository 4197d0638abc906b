"""What every experiment entry point does first and last.

Flags defined here (`--multihost`, `--print_config`) are shared by all entry
points.
"""

import difflib
import json
import os
import sys

from absl import app
from absl import flags
from absl import logging
import jax
import ml_collections

from rtrbm_jax import progress
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import schema

_MULTIHOST = flags.DEFINE_bool(
    "multihost", False,
    "Call jax.distributed.initialize() before anything else, so the same command "
    "runs on every host of a TPU pod slice or a multi-node GPU cluster.")


_PRINT_CONFIG = flags.DEFINE_bool(
    "print_config", False,
    "Print the resolved config (the config file with every override applied, as "
    "JSON; for an entry point without a config file, its flags' values) and exit.")


def mark_flags_as_required(names: list[str]) -> None:
  """`flags.mark_flags_as_required`, except with --print_config, which needs
  none of them."""
  for name in names:
    flags.register_multi_flags_validator(
        [name, "print_config"],
        lambda values, name=name: (values[name] is not None
                                   or values["print_config"]),
        message=f"Flag --{name} must have a value other than None.")


class _HideOrbaxErrors(logging.logging.Filter):
  """Orbax logs a failed save from each of its threads, with tracebacks (hundreds
  of lines); the run's own one-line error says what failed and where."""

  def filter(self, record):
    return record.levelno < logging.logging.ERROR or "orbax" not in record.pathname


def resolved_config() -> str:
  """The entry point's config file as resolved by its flags, as JSON; without a
  config file, the values of the flags its main module defines."""
  config = flags.FLAGS["config"].value if "config" in flags.FLAGS else None
  if isinstance(config, ml_collections.ConfigDict):
    return config.to_json_best_effort(indent=2)
  own = flags.FLAGS.flags_by_module_dict().get(sys.argv[0], [])
  return json.dumps({flag.name: flag.value for flag in own}, indent=2,
                    default=str)


def start(argv) -> None:
  """Refuses stray arguments, prints the config and exits if asked
  (`--print_config`), initialises multi-host JAX if asked, and quiets orbax's
  logging: the first line of every entry point's `main(argv)`."""
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if _PRINT_CONFIG.value:
    print(resolved_config())
    sys.exit(0)
  if _MULTIHOST.value:
    jax.distributed.initialize()
  logging.get_absl_handler().addFilter(progress.HideOrbaxInfo())
  logging.get_absl_handler().addFilter(_HideOrbaxErrors())
  logging.get_absl_handler().addFilter(progress.HideBackendProbes())


def _exit_with(message: str, status: int = 1):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(status)


def _end_now(message: str, status: int):
  """`_exit_with`, skipping the interpreter's teardown (and its threads)."""
  print(f"error: {message}", file=sys.stderr)
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def _unknown_field_message(argv) -> str | None:
  """For an override of a config field that does not exist: which, and a guess."""
  overrides = [arg[2:].split("=", 1)[0] for arg in argv[1:]
               if arg.startswith("--config.")]
  paths = [arg.split("=", 1)[1] for arg in argv[1:]
           if arg.startswith("--config=")]
  try:
    config = flags.FLAGS["config"].parser.parse(paths[-1])
  except Exception:  # pylint: disable=broad-except
    return None
  for override in overrides:
    node, parts = config, override.split(".")[1:]
    for depth, part in enumerate(parts):
      if isinstance(node, ml_collections.ConfigDict) and part in node:
        node = node[part]
        continue
      prefix = ".".join(["config"] + parts[:depth])
      known = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
      close = difflib.get_close_matches(part, known, n=1, cutoff=0.5)
      hint = (f"did you mean --{prefix}.{close[0]}?" if close
              else f"{prefix} has the fields {sorted(known)}.")
      return f"--{override}: {prefix} has no field {part!r}; {hint}"
  return None


def parse_flags(argv):
  """absl's flag parsing, every error as one line (and exit status 1).

  A mistyped config field, a config string `get_config` rejects or a value of
  the wrong type would otherwise end in a traceback or several lines.
  """
  try:
    return flags.FLAGS(argv)
  except flags.Error as error:
    # ml_collections embeds the traceback of a failed `get_config`; its last
    # line is the reason.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[-1]
    if reason != lines[0]:
      where = lines[0].rstrip(":").rsplit(": ", 1)[0]
      reason = f"{where}: {reason.split(': ', 1)[-1]}"
    _exit_with(reason)
  except (AttributeError, KeyError) as error:
    _exit_with(_unknown_field_message(argv)
               or f"{_config_file(argv) or 'bad flag'}: {error}")
  except Exception as error:  # pylint: disable=broad-except
    # A config file that does not parse or whose get_config raises: its
    # SyntaxError, NameError, ... would end in a traceback of absl's parsing.
    if _config_file(argv) is None:
      raise
    reason = str(error).splitlines()[0] if str(error) else ""
    _exit_with(f"{_config_file(argv)}: the config file does not load "
               f"({type(error).__name__}: {reason}).")


def _config_file(argv) -> str | None:
  """The file of the last `--config=` argument, or None."""
  paths = [arg.split("=", 1)[1] for arg in argv[1:] if arg.startswith("--config=")]
  return paths[-1].split(":", 1)[0] if paths else None


def run_or_exit(function, *args):
  """Runs `function(*args)`; a ValueError becomes one line on stderr and exit 1.

  So do errors of the file system (a read-only or full disk, a missing file) and
  running out of device memory: the message says what and where, no traceback.
  A config missing a field names the config file too. A failed checkpoint
  save ends the process at once; Ctrl-C (after the run saved its checkpoint)
  is one line and exit status 130.
  """
  try:
    return function(*args)
  except checkpoints.SaveError as error:
    # Orbax's threads of the failed save would keep the process alive for
    # minutes (they wait for signals that never come): end it now.
    _end_now(str(error), 1)
  except KeyboardInterrupt as error:
    # Ctrl-C can land inside a runtime call (a compilation, a transfer) and
    # leave it half done; the interpreter's teardown then crashed in it (a
    # segfault, exit -11, after the checkpoint was saved). The loop has saved and
    # closed everything it writes by now, so end at once.
    _end_now(str(error) or "interrupted.", 130)
  except schema.MissingFieldError as error:
    config_file = _config_file(sys.argv)
    _exit_with(f"{config_file}: {error}" if config_file else str(error))
  except ValueError as error:
    _exit_with(str(error))
  except OSError as error:
    _exit_with(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
  except jax.errors.JaxRuntimeError as error:
    if "RESOURCE_EXHAUSTED" not in str(error):
      raise
    _exit_with("out of memory: " + str(error).splitlines()[0])
