"""Downloads the published data sets, checked by SHA-256.

* The RNN-RBM paper's four piano-roll pickles: Boulanger-Lewandowski, Bengio &
  Vincent (ICML 2012) published JSB Chorales, Nottingham, MuseData and
  Piano-midi.de as pickles of MIDI note numbers, the field's benchmark for
  polyphonic music (format: `music.load_piano_rolls`). They live at the authors'
  page, `BASE_URL`, fetched over https.
* The RTRBM paper's motion capture, `MOCAP.mat` (format: `mocap.load_mocap`),
  from the paper's code repository at `MOCAP_URL`, with a published digest.

A file is kept only if its SHA-256 digest matches the expected one: `--sha256` if
given, else the digest recorded beside the file by its first download
(`<file>.sha256`, trust on first use; compare it with a colleague's copy), else
`PUBLISHED_SHA256` where a digest is listed. A mismatch deletes the download and
raises; an older copy stays. The file must also parse: a piano-roll pickle read
by the restricted unpickler (`pickles.load_plain_data`), so that nothing in a
download can run code, verified or not; `MOCAP.mat` by `mocap.load_mocap`.

The source may be an https or file URL, or a plain path (a copy on disk). Plain
http and ftp are accepted only when a digest is known, since anyone on the way
could change the file. A cached file that matches its digest is not fetched
again, unless a source is given explicitly: then it is fetched and must match.
Every error is one line naming the URL or path, not the temporary file.

Why not pooch: it would bring `requests` and `platformdirs` for a few lines of
streaming, and it fetches over http, ftp, sftp and DOIs but takes no plain paths
or file URLs, which is how a copy on disk is used (and how the tests run without
a network); the digests, the record beside the file and the restricted parsing
would be ours either way.
"""

import hashlib
import http.client
import os
from pathlib import Path
import re
import shutil
from typing import Optional
import urllib.parse
import urllib.request

from absl import logging

from rtrbm_jax.data import cache
from rtrbm_jax.data import mocap
from rtrbm_jax.data import music

BASE_URL = "https://www-etud.iro.umontreal.ca/~boulanni/"
# Data set name (as in configs/polyphonic.py) -> file name at BASE_URL.
PIANO_ROLL_FILES = {
    "jsb_chorales": "JSB Chorales.pickle",
    "nottingham": "Nottingham.pickle",
    "musedata": "MuseData.pickle",
    "piano_midi": "Piano-midi.de.pickle",
}
# SHA-256 digests of the published files, where verified. None: not listed (this
# project's machines cannot reach the authors' page, and no byte-identical copy
# was found to hash); the first download's digest is then recorded beside the
# file and checked from then on.
PUBLISHED_SHA256 = {name: None for name in PIANO_ROLL_FILES}
# The RTRBM paper's motion capture: the raw file of its code repository.
MOCAP_FILE = "MOCAP.mat"
MOCAP_URL = ("https://raw.githubusercontent.com/chimera0/NIPS-2014/master/rtrbm/"
             "data/MOCAP.mat")
# The digest of the file in that repository (its git blob 4191dce5 at master), as
# listed in the SHA256SUMS of the copy in shared/data/mocap/.
PUBLISHED_SHA256["mocap"] = (
    "f81f70246b8c28fda63a5be5a64b93a22661805e58aa2a8e410f78a7f208497d")
# Every data set this module fetches -> its file name in the cache.
FILES = {**PIANO_ROLL_FILES, "mocap": MOCAP_FILE}
# Sources fetched only with a known digest: anyone on the way could change them.
_INSECURE_SCHEMES = ("http", "ftp")
_URL_SCHEMES = ("https", "file") + _INSECURE_SCHEMES
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_CHUNK_BYTES = 1 << 20
_TIMEOUT_SECONDS = 60


def _check_name(data_set: str) -> str:
  if data_set not in FILES:
    raise ValueError(f"data_set={data_set!r} is not accepted: one of "
                     f"{tuple(FILES)}.")
  return FILES[data_set]


def url(data_set: str) -> str:
  """The canonical URL of a data set's file."""
  file_name = _check_name(data_set)
  if data_set == "mocap":
    return MOCAP_URL
  return BASE_URL + urllib.parse.quote(file_name)


def local_path(data_set: str, cache_dir: Optional[str] = None) -> Path:
  """Where `download` puts a data set's file: `$RTRBM_JAX_CACHE/<file name>`."""
  directory = Path(cache_dir) if cache_dir else cache.default_cache_dir()
  return directory / _check_name(data_set)


def sha256_of(path) -> str:
  """The SHA-256 digest of a file, in hex; read in chunks, so any size fits."""
  digest = hashlib.sha256()
  with open(path, "rb") as file:
    while chunk := file.read(_CHUNK_BYTES):
      digest.update(chunk)
  return digest.hexdigest()


def _record_path(path: Path) -> Path:
  return path.with_name(path.name + ".sha256")


def _expected_sha256(data_set: str, path: Path, sha256: Optional[str]):
  """(digest, where it comes from) that a download must match, or (None, None)."""
  if sha256 is not None:
    if not _SHA256_PATTERN.fullmatch(sha256.lower()):
      raise ValueError(f"--sha256={sha256!r} is not accepted: 64 hexadecimal "
                       "digits (what sha256sum prints).")
    return sha256.lower(), "--sha256"
  recorded = _record_path(path)
  if recorded.exists():
    words = recorded.read_text(encoding="utf-8", errors="replace").split()
    if not words or not _SHA256_PATTERN.fullmatch(words[0].lower()):
      raise ValueError(
          f"{recorded} holds {' '.join(words[:1]) or 'nothing'!r}, not a SHA-256 "
          "digest: restore it from a colleague's copy, pass --sha256=..., or "
          "delete it to record the next download's digest.")
    return words[0].lower(), str(recorded)
  if PUBLISHED_SHA256[data_set]:
    return PUBLISHED_SHA256[data_set], "the published digest"
  return None, None


def _is_url(source: str) -> bool:
  return urllib.parse.urlsplit(source).scheme in _URL_SCHEMES


def _check_source(source: str, expected: Optional[str]) -> None:
  scheme = urllib.parse.urlsplit(source).scheme
  if scheme in _INSECURE_SCHEMES and not expected:
    raise ValueError(
        f"--url={source!r} is not accepted without a known digest: over {scheme} "
        "anyone on the way could change the file. Use https, a file on disk, or "
        "pass --sha256=... .")


def _fetch(source: str, file) -> None:
  """Copies `source` (a URL or a plain path) into the open binary `file`.

  Raises:
    ValueError: one line naming `source`, for any network or file error.
  """
  try:
    if _is_url(source):
      with urllib.request.urlopen(source, timeout=_TIMEOUT_SECONDS) as response:
        shutil.copyfileobj(response, file, _CHUNK_BYTES)
    else:
      with open(source, "rb") as local:
        shutil.copyfileobj(local, file, _CHUNK_BYTES)
  except (OSError, http.client.HTTPException, ValueError) as error:
    # urllib's URLError and HTTPError, timeouts and refused connections are
    # OSErrors; a malformed URL is a ValueError; a cut connection is an
    # http.client error.
    reason = str(getattr(error, "reason", None) or getattr(error, "strerror", None)
                 or error)
    reason = reason.splitlines()[0] if reason else type(error).__name__
    raise ValueError(f"fetching {source} failed ({reason}); check the URL or "
                     "path and the network, or pass --url=PATH of a copy."
                     ) from None


def download(data_set: str, cache_dir: Optional[str] = None,
             source_url: Optional[str] = None, sha256: Optional[str] = None) -> Path:
  """Downloads a data set's file (unless a verified copy is there); returns its path.

  Args:
    data_set: one of `FILES`.
    cache_dir: destination directory (default `$RTRBM_JAX_CACHE` or
      `~/.cache/rtrbm_jax`).
    source_url: where to fetch it from (default: `url(data_set)`): an https or
      file URL, a plain path, or (with a known digest) an http or ftp URL. Given,
      it is fetched even if a verified copy is cached.
    sha256: the expected SHA-256 digest (hex); see the module docstring for the
      default.

  Raises:
    ValueError: one line: an unknown data set, a malformed digest or digest
      record, a source that cannot be fetched, a digest mismatch (the download is
      deleted) or a file that does not parse (not a piano-roll pickle, or for
      "mocap" not a motion-capture .mat file).
  """
  path = local_path(data_set, cache_dir)
  expected, expected_from = _expected_sha256(data_set, path, sha256)
  if source_url is None:
    if path.exists() and expected and sha256_of(path) == expected:
      logging.info("%s is already there and matches %s.", path, expected_from)
      return path
    source_url = url(data_set)
  elif path.exists():
    logging.info("--url was given: fetching %s again in place of %s.", source_url,
                 path)
  _check_source(source_url, expected)
  path.parent.mkdir(parents=True, exist_ok=True)
  logging.info("Fetching %s to %s", source_url, path)
  # Checked under its temporary name, and renamed onto `path` only if it passes.
  with cache.atomic_write(path, "wb") as file:
    _fetch(source_url, file)
    file.flush()
    digest = sha256_of(file.name)
    if expected and digest != expected:
      raise ValueError(
          f"{source_url} has SHA-256 {digest}, not {expected} ({expected_from}); "
          "it was not kept. Check the URL, or pass the right --sha256.")
    # Parses it (and rejects a file of the wrong format) before it is kept.
    if data_set == "mocap":
      mocap.load_mocap(file.name, source=source_url)
    else:
      music.load_piano_rolls(file.name, source=source_url)
  if expected_from != str(_record_path(path)):
    with cache.atomic_write(_record_path(path)) as record:
      record.write(f"{digest}  {path.name}\n")
    if not expected:
      logging.warning("No SHA-256 digest was known for %r; recorded %s beside it, "
                      "and later downloads must match it.", data_set, digest)
  logging.info("%s: %.1f MB, SHA-256 %s", path, os.path.getsize(path) / 1e6, digest)
  return path
