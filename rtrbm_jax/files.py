"""Writing files so that a crash never leaves half of one."""

import contextlib
import os
import uuid


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
  finally:
    if os.path.exists(temporary):
      os.unlink(temporary)
