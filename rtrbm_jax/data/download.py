"""Downloads the RNN-RBM paper's four piano-roll pickles, checked by SHA-256.

Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) published JSB Chorales,
Nottingham, MuseData and Piano-midi.de as pickles of MIDI note numbers, the field's
benchmark for polyphonic music (format: `music.load_piano_rolls`). They live at
the authors' page, `BASE_URL` (http://www-etud.iro.umontreal.ca/~boulanni/icml2012).

A pickle is code when loaded, so a file is only kept if its SHA-256 digest matches
the expected one: `--sha256` if given, else the digest recorded beside the file by
its first download (`<file>.sha256`, trust on first use; compare it with a
colleague's copy), else `PUBLISHED_SHA256` where a digest is listed. A mismatch
deletes the download and raises. The file must also parse as a piano-roll pickle.
"""

import hashlib
from pathlib import Path
from typing import Optional
import urllib.parse
import urllib.request

from absl import logging

from rtrbm_jax import files
from rtrbm_jax.data import cache
from rtrbm_jax.data import music

BASE_URL = "http://www-etud.iro.umontreal.ca/~boulanni/"
# Data set name (as in configs/polyphonic.py) -> file name at BASE_URL.
PIANO_ROLL_FILES = {
    "jsb_chorales": "JSB Chorales.pickle",
    "nottingham": "Nottingham.pickle",
    "musedata": "MuseData.pickle",
    "piano_midi": "Piano-midi.de.pickle",
}
# SHA-256 digests of the published files, where verified. None: not listed yet (this
# project's machines have no internet); the first download's digest is then
# recorded beside the file and checked from then on.
PUBLISHED_SHA256 = {name: None for name in PIANO_ROLL_FILES}
_CHUNK_BYTES = 1 << 20


def _check_name(data_set: str) -> str:
  if data_set not in PIANO_ROLL_FILES:
    raise ValueError(f"data_set={data_set!r} is not accepted: one of "
                     f"{tuple(PIANO_ROLL_FILES)}.")
  return PIANO_ROLL_FILES[data_set]


def url(data_set: str) -> str:
  """The canonical URL of a data set's pickle."""
  return BASE_URL + urllib.parse.quote(_check_name(data_set))


def local_path(data_set: str, cache_dir: Optional[str] = None) -> Path:
  """Where `download` puts a data set's pickle: `$RTRBM_JAX_CACHE/<file name>`."""
  directory = Path(cache_dir) if cache_dir else cache.default_cache_dir()
  return directory / _check_name(data_set)


def sha256_of(path) -> str:
  """The SHA-256 digest of a file, in hex; read in chunks, so any size fits."""
  digest = hashlib.sha256()
  with open(path, "rb") as file:
    while chunk := file.read(_CHUNK_BYTES):
      digest.update(chunk)
  return digest.hexdigest()


def _expected_sha256(data_set: str, path: Path, sha256: Optional[str]):
  """(digest, where it comes from) that a download must match, or (None, None)."""
  if sha256:
    return sha256.lower(), "--sha256"
  recorded = path.with_name(path.name + ".sha256")
  if recorded.exists():
    return recorded.read_text().split()[0], str(recorded)
  if PUBLISHED_SHA256[data_set]:
    return PUBLISHED_SHA256[data_set], "the published digest"
  return None, None


def download(data_set: str, cache_dir: Optional[str] = None,
             source_url: Optional[str] = None, sha256: Optional[str] = None) -> Path:
  """Downloads a piano-roll pickle (unless a verified copy is there); returns its path.

  Args:
    data_set: one of `PIANO_ROLL_FILES`.
    cache_dir: destination directory (default `$RTRBM_JAX_CACHE` or
      `~/.cache/rtrbm_jax`).
    source_url: where to fetch it from (default: `url(data_set)`; any URL urllib
      opens, e.g. a mirror or `file:///path/JSB%20Chorales.pickle`).
    sha256: the expected SHA-256 digest (hex); see the module docstring for the
      default.

  Raises:
    ValueError: an unknown data set, a digest mismatch (the download is deleted) or
      a file that is not a piano-roll pickle.
  """
  path = local_path(data_set, cache_dir)
  expected, source = _expected_sha256(data_set, path, sha256)
  if path.exists() and expected and sha256_of(path) == expected:
    logging.info("%s is already there and matches %s.", path, source)
    return path
  path.parent.mkdir(parents=True, exist_ok=True)
  source_url = source_url or url(data_set)
  logging.info("Downloading %s to %s", source_url, path)
  # Checked under its temporary name, and renamed onto `path` only if it passes.
  with files.atomic_write(path, "wb") as file:
    with urllib.request.urlopen(source_url, timeout=60) as response:
      while chunk := response.read(_CHUNK_BYTES):
        file.write(chunk)
    file.flush()
    digest = sha256_of(file.name)
    if expected and digest != expected:
      raise ValueError(
          f"the download of {data_set!r} from {source_url} has SHA-256 {digest}, not "
          f"{expected} ({source}); it was deleted. Check the URL, or pass the right "
          "--sha256.")
    # Parses it (and rejects a file of the wrong format) before it is kept.
    music.load_piano_rolls(file.name)
  if not expected:
    with files.atomic_write(path.with_name(path.name + ".sha256")) as record:
      record.write(f"{digest}  {path.name}\n")
    logging.warning("No SHA-256 digest was known for %r; recorded %s beside it, and "
                    "later downloads must match it.", data_set, digest)
  logging.info("%s: %.1f MB, SHA-256 %s", path, path.stat().st_size / 1e6, digest)
  return path
