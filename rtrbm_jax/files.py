"""Files of a run: written so that a crash never leaves half of one, and read back."""

import contextlib
import json
import math
import os
import re
import uuid

from absl import logging


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w"):
  """Opens a new file to write in place of `path`; renames it onto `path` on success.

  The file is written under a name unique to this writer in the same directory,
  flushed to disk, then renamed onto `path` (atomic on POSIX): readers see the old
  file or the complete new one, never half of it, and concurrent writers race
  harmlessly (the last rename wins). On an error the partial file is removed and
  `path` is left as it was. The file is created under the umask, like `open`.

  Args:
    path: the file to write.
    mode: "w" or "wb" (text or bytes).

  Yields:
    The open file object.

  Raises:
    OSError: writing failed; one without a file name (a write's) names `path`.
  """
  if mode not in ("w", "wb"):
    raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}.")
  path = os.fspath(path)
  temporary = f"{path}.{uuid.uuid4().hex}.tmp"
  try:
    with open(temporary, mode) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(temporary, path)
  except OSError as error:
    if error.filename is not None:
      raise
    # A failed write (a full disk, a file-size limit) names no file: say which.
    raise OSError(error.errno, error.strerror or str(error), path) from error
  finally:
    if os.path.exists(temporary):
      os.unlink(temporary)


# The name `atomic_write` gives its file while writing it.
_TEMPORARY_NAME = re.compile(r".+\.[0-9a-f]{32}\.tmp")


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
  """Removes the files `atomic_write` left in `directory` when killed mid-write.

  Call it only while no other writer works in `directory` (a run holding its
  workdir's lock): a live writer's file has the same form of name.

  Returns:
    The names removed.
  """
  removed = []
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    if _TEMPORARY_NAME.fullmatch(name) and os.path.isfile(path):
      os.unlink(path)
      removed.append(name)
  if removed:
    logging.warning("Removed %d unfinished file(s) of a run that was stopped "
                    "while writing them: %s", len(removed), ", ".join(removed))
  return removed


# Strict JSON has no NaN or infinity: records spell them as these strings.
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"),
               "-Infinity": float("-inf")}


def _spell_non_finite(value):
  if isinstance(value, float) and not math.isfinite(value):
    return "NaN" if math.isnan(value) else (
        "Infinity" if value > 0 else "-Infinity")
  if isinstance(value, dict):
    return {name: _spell_non_finite(item) for name, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_spell_non_finite(item) for item in value]
  return value


def record_line(record: dict) -> str:
  """`record` as one line of strict JSON (with its newline), for a `.jsonl` file.

  NaN and infinities (a diverged sweep point's metrics) are written as the
  strings "NaN", "Infinity" and "-Infinity", which `read_records` reads back as
  floats; other JSON readers see valid JSON.
  """
  return json.dumps(_spell_non_finite(record), allow_nan=False) + "\n"


def dump_json(value, file, indent: int = 2) -> None:
  """Writes `value` to the open text `file` as strict JSON, its non-finite
  numbers spelled as `record_line` spells them (a diverged run's figures)."""
  json.dump(_spell_non_finite(value), file, indent=indent, allow_nan=False)
  file.write("\n")


# Record fields that were renamed: older runs' records read with today's names
# (the held-out log-likelihood took its figure's name, `log_likelihood_per_frame`,
# as in eval_*.json).
RENAMED_FIELDS = {"heldout_log_likelihood": "heldout_log_likelihood_per_frame",
                  "heldout_log_likelihood_se": "heldout_log_likelihood_per_frame_se"}


def _read_non_finite(record: dict) -> dict:
  return {RENAMED_FIELDS.get(name, name):
          _NON_FINITE.get(value, value) if isinstance(value, str) else value
          for name, value in record.items()}


def read_records(path: str | os.PathLike) -> list[dict]:
  """The JSON records of a `.jsonl` file (e.g. `metrics.jsonl`), one per line.

  Blank lines are skipped. Non-finite numbers written by `record_line` (the
  strings "NaN", "Infinity", "-Infinity" as values of a record's fields) and
  bare NaN of older files are read as floats; renamed fields (`RENAMED_FIELDS`)
  are read with their names of today. A last line that is not a JSON
  object is torn (its writer was stopped while writing it, or is still writing
  it): it is left out, with a warning. Any other line that is not a JSON object
  is an error.

  Args:
    path: the file to read.

  Returns:
    The records, in the file's order.

  Raises:
    ValueError: a line before the last is not a JSON object (file and line named).
  """
  path = os.fspath(path)
  with open(path) as f:
    lines = [(number, line) for number, line in enumerate(f, 1) if line.strip()]
  records = []
  for index, (number, line) in enumerate(lines):
    try:
      # Records of older versions hold bare NaN, which json.loads also reads.
      record = json.loads(line)
      if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
      record = _read_non_finite(record)
    except ValueError as error:
      if index == len(lines) - 1:
        logging.warning("Dropped the torn last line of %s (a run stopped while "
                        "writing it).", path)
        break
      raise ValueError(f"{path}, line {number}, is not a JSON record ({error}); "
                       "remove that line.") from error
    records.append(record)
  return records
