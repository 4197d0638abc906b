"""The piano-roll download: local files and file:// URLs stand in for the authors'
server (CI has no internet); a bad source, digest or file is one line, and nothing
unverified or unparsable is kept."""

import os
import pickle
import subprocess
import sys

from absl.testing import absltest
import numpy as np

from rtrbm_jax.data import download
from rtrbm_jax.data import music
from tests import test_pickles

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fixture(directory, name="JSB Chorales.pickle", extra_note=None):
  """A tiny pickle in the published format, under the published file name."""
  pieces = {split: [[(60, 64, 67), (), (62,)], [(21,), (108,)]]
            for split in music.SPLITS}
  if extra_note:
    pieces["test"].append([(extra_note,)])
  path = os.path.join(directory, name)
  with open(path, "wb") as f:
    pickle.dump(pieces, f, protocol=2)
  return path


def _cli(cache, *flags_):
  return subprocess.run(
      [sys.executable, "-m", "experiments.download", *flags_], cwd=_REPO,
      capture_output=True, text=True, env=dict(os.environ, RTRBM_JAX_CACHE=cache),
      timeout=120)


def _assert_one_line_error(test, finished, expected):
  """The CLI failed with exactly one line naming `expected`, and no traceback."""
  test.assertEqual(finished.returncode, 1, finished.stderr[-2000:])
  test.assertNotIn("Traceback", finished.stderr)
  errors = [line for line in finished.stderr.splitlines()
            if line.startswith("error: ")]
  test.assertLen(errors, 1, finished.stderr[-2000:])
  test.assertIn(expected, errors[0])
  test.assertNotIn(".tmp", errors[0])


class DownloadTest(absltest.TestCase):

  def test_canonical_urls_are_the_authors_page_over_https_with_quoted_names(self):
    self.assertEqual(download.url("jsb_chorales"),
                     "https://www-etud.iro.umontreal.ca/~boulanni/"
                     "JSB%20Chorales.pickle")
    self.assertEqual(download.url("piano_midi"),
                     "https://www-etud.iro.umontreal.ca/~boulanni/"
                     "Piano-midi.de.pickle")
    with self.assertRaisesRegex(ValueError, "data_set='jsb' is not accepted"):
      download.url("jsb")

  def test_download_through_file_url_checks_the_digest_and_parses(self):
    source = _fixture(self.create_tempdir().full_path)
    cache = self.create_tempdir().full_path
    digest = download.sha256_of(source)
    path = download.download("jsb_chorales", cache, "file://" + source, digest)
    self.assertEqual(str(path), os.path.join(cache, "JSB Chorales.pickle"))
    rolls = music.load_piano_rolls(path)
    np.testing.assert_array_equal(np.flatnonzero(rolls["train"][0][0]),
                                  [60 - 21, 64 - 21, 67 - 21])

  def test_a_checksum_mismatch_is_rejected_and_nothing_is_kept(self):
    source = _fixture(self.create_tempdir().full_path)
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, "has SHA-256 .* not 0000"):
      download.download("jsb_chorales", cache, "file://" + source, "0" * 64)
    self.assertEmpty(os.listdir(cache))

  def test_first_download_records_its_digest_and_later_ones_must_match(self):
    source_directory = self.create_tempdir().full_path
    source = _fixture(source_directory)
    cache = self.create_tempdir().full_path
    path = download.download("jsb_chorales", cache, "file://" + source)
    recorded = path.with_name(path.name + ".sha256").read_text().split()[0]
    self.assertEqual(recorded, download.sha256_of(source))
    # The server's file changes: the recorded digest rejects it, the old copy stays.
    with open(source, "ab") as f:
      f.write(b"tampered")
    os.remove(path)
    with self.assertRaisesRegex(ValueError, "SHA-256"):
      download.download("jsb_chorales", cache, "file://" + source)
    self.assertFalse(path.exists())

  def test_a_file_that_is_not_a_piano_roll_pickle_is_rejected(self):
    source = os.path.join(self.create_tempdir().full_path, "x.pickle")
    with open(source, "wb") as f:
      pickle.dump([1, 2, 3], f)
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, "expected a dict"):
      download.download("nottingham", cache, "file://" + source)
    self.assertEmpty(os.listdir(cache))

  def test_a_pickle_that_runs_code_is_refused_runs_nothing_and_is_not_kept(self):
    directory = self.create_tempdir().full_path
    marker = os.path.join(directory, "MARKER")
    source = os.path.join(directory, "MuseData.pickle")
    with open(source, "wb") as f:
      pickle.dump({"train": [test_pickles._WritesAMarker(marker)], "valid": [],
                   "test": []}, f, protocol=2)
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, f"^{source} is refused: the pickle "
                                "asks for") as raised:
      download.download("musedata", cache, source)
    self.assertNotIn("\n", str(raised.exception))
    self.assertFalse(os.path.exists(marker))
    self.assertEmpty(os.listdir(cache))

  def test_plain_http_needs_a_known_digest_and_the_digest_must_be_hex(self):
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, "is not accepted without a known "
                                "digest: over http"):
      download.download("jsb_chorales", cache, "http://example.org/x.pickle")
    with self.assertRaisesRegex(ValueError, "--sha256='abc' is not accepted: 64 "
                                "hexadecimal digits"):
      download.download("jsb_chorales", cache, sha256="abc")
    self.assertEmpty(os.listdir(cache))


class DownloadCommandTest(absltest.TestCase):
  """The cases a user meets at the command line, through experiments.download."""

  def test_a_plain_path_is_copied_where_the_config_looks(self):
    source = _fixture(self.create_tempdir().full_path, "Nottingham.pickle")
    cache = self.create_tempdir().full_path
    finished = _cli(cache, "--data_set=nottingham", f"--url={source}")
    self.assertEqual(finished.returncode, 0, finished.stderr)
    from configs import polyphonic  # pylint: disable=g-import-not-at-top
    with absltest.mock.patch.dict(os.environ, {"RTRBM_JAX_CACHE": cache}), \
        absltest.mock.patch.object(polyphonic, "_REPOSITORY_ROOT", cache):
      path = polyphonic.get_config("nottingham,rtrbm").data.path
    self.assertEqual(download.sha256_of(path), download.sha256_of(source))
    self.assertTrue(os.path.exists(path + ".sha256"))

  def test_a_source_that_cannot_be_fetched_is_one_line_naming_it(self):
    cache = self.create_tempdir().full_path
    # A refused connection on this machine: no network is needed to fail.
    url = "http://127.0.0.1:9/JSB%20Chorales.pickle"
    _assert_one_line_error(self, _cli(cache, "--data_set=jsb_chorales",
                                      f"--url={url}", "--sha256=" + "0" * 64),
                           f"fetching {url} failed (")
    self.assertEmpty(os.listdir(cache))

  def test_a_malformed_file_is_one_line_naming_its_url(self):
    source = os.path.join(self.create_tempdir().full_path, "x.pickle")
    with open(source, "wb") as f:
      f.write(b"\x80\x02garbage")
    cache = self.create_tempdir().full_path
    _assert_one_line_error(self, _cli(cache, "--data_set=musedata",
                                      f"--url=file://{source}"),
                           f"file://{source} is not a readable pickle")
    self.assertEmpty(os.listdir(cache))

  def test_a_changed_url_for_a_cached_file_is_fetched_and_checked(self):
    cache = self.create_tempdir().full_path
    first = _fixture(self.create_tempdir().full_path)
    path = download.download("jsb_chorales", cache, first)
    before = download.sha256_of(path)
    other = _fixture(self.create_tempdir().full_path, extra_note=70)
    # Not ignored: fetched, and refused since it differs from the recorded digest.
    _assert_one_line_error(self, _cli(cache, "--data_set=jsb_chorales",
                                      f"--url={other}"),
                           f"{other} has SHA-256 ")
    self.assertEqual(download.sha256_of(path), before)

  def test_an_empty_recorded_digest_is_one_line(self):
    cache = self.create_tempdir().full_path
    source = _fixture(self.create_tempdir().full_path)
    path = download.download("jsb_chorales", cache, source)
    with open(str(path) + ".sha256", "w"):
      pass
    _assert_one_line_error(self, _cli(cache, "--data_set=jsb_chorales"),
                           f"{path}.sha256 holds 'nothing', not a SHA-256 digest")


if __name__ == "__main__":
  absltest.main()
