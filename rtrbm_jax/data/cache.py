"""Where generated and downloaded data sets are kept between runs.

One directory holds every cached data set: bouncing-balls trajectories, the Bach
chorales' piano rolls and the downloaded piano-roll pickles. Each cache file's name
carries the parameters and format version it was made with, so a changed request
never reads a stale file.
"""

import os
from pathlib import Path

# Set it to keep caches elsewhere (tests point it at a temporary directory).
CACHE_ENV_VAR = "RTRBM_JAX_CACHE"


def default_cache_dir() -> Path:
  """`$RTRBM_JAX_CACHE` if set and not empty, else `~/.cache/rtrbm_jax`."""
  return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "rtrbm_jax")
