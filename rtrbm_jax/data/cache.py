"""Where generated and downloaded data sets are kept between runs.

One directory holds every cached data set: bouncing-balls trajectories, the Bach
chorales' piano rolls and the downloaded piano-roll pickles. Each cache file's name
carries the parameters and format version it was made with, so a changed request
never reads a stale file. Its files are written by `atomic_write`, which also
removes what writers killed mid-write left there.
"""

import contextlib
import fcntl
import os
from pathlib import Path

from rtrbm_jax import files

# Set it to keep caches elsewhere (tests point it at a temporary directory).
CACHE_ENV_VAR = "RTRBM_JAX_CACHE"


def default_cache_dir() -> Path:
  """`$RTRBM_JAX_CACHE` if set and not empty, else `~/.cache/rtrbm_jax`."""
  return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "rtrbm_jax")

@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w"):
  """`files.atomic_write` of a file in a cache directory (made if missing), shared
  by concurrent runs.

  The temporaries (`*.<id>.tmp`) that writers killed mid-write left beside the
  cache's files are removed first when no other writer is at work: every writer
  holds a shared `flock` on the directory while it writes, the one that removes
  them an exclusive one (a kill -9 releases it, as a workdir's lock; on the
  directory itself, so that the cache holds no lock file).
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  descriptor = os.open(directory, os.O_RDONLY)
  try:
    try:
      fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
      files.remove_stale_temporaries(directory)
    except BlockingIOError:
      pass  # another writer is at work: its temporary is not stale
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    with files.atomic_write(path, mode) as file:
      yield file
  finally:
    os.close(descriptor)
