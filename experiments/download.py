"""Downloads the published data sets: the RNN-RBM paper's piano-roll pickles (JSB
Chorales, Nottingham, ...) and the RTRBM paper's motion capture (MOCAP.mat).

  python -m experiments.download --data_set=jsb_chorales   # or --data_set=all
  python -m experiments.download --data_set=mocap
  python -m experiments.download --data_set=jsb_chorales --url=PATH_OR_URL

Puts them in $RTRBM_JAX_CACHE (default ~/.cache/rtrbm_jax), where
configs/polyphonic.py looks when the .mat files are not beside the repository,
after checking their SHA-256 digests and parsing them (pickles with the
restricted unpickler; see `rtrbm_jax.data.download`).
"""

from absl import app
from absl import flags

from experiments import common
from rtrbm_jax.data import download

_DATA_SET = flags.DEFINE_enum(
    "data_set", "all", ("all",) + tuple(download.FILES),
    "Which data set's file to download (all: every one).")
_CACHE_DIR = flags.DEFINE_string(
    "cache_dir", None, "Destination (default $RTRBM_JAX_CACHE or ~/.cache/rtrbm_jax).")
_URL = flags.DEFINE_string(
    "url", None, "Fetch from here instead of the canonical URL, even if a copy is "
    "cached (one data set only): an https or file URL, or a path; http and ftp "
    "only with a known digest.")
_SHA256 = flags.DEFINE_string(
    "sha256", None, "Expected SHA-256 digest (one data set only).")


def main(argv):
  common.start(argv)
  names = (tuple(download.FILES) if _DATA_SET.value == "all"
           else (_DATA_SET.value,))
  if len(names) > 1 and (_URL.value or _SHA256.value):
    raise app.UsageError("--url and --sha256 need a single --data_set.")
  for name in names:
    path = common.run_or_exit(download.download, name, _CACHE_DIR.value, _URL.value,
                              _SHA256.value)
    print(f"{name}: {path}")


if __name__ == "__main__":
  app.run(main)
