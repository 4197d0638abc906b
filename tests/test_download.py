"""The piano-roll download: file:// fixtures stand in for the authors' server
(CI has no internet), a checksum mismatch is rejected and nothing is kept."""

import os
import pickle
import subprocess
import sys

from absl.testing import absltest
import numpy as np

from rtrbm_jax.data import download
from rtrbm_jax.data import music

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fixture(directory, name="JSB Chorales.pickle"):
  """A tiny pickle in the published format, under the published file name."""
  pieces = {split: [[(60, 64, 67), (), (62,)], [(21,), (108,)]]
            for split in music.SPLITS}
  path = os.path.join(directory, name)
  with open(path, "wb") as f:
    pickle.dump(pieces, f, protocol=2)
  return path


class DownloadTest(absltest.TestCase):

  def test_canonical_urls_are_the_authors_page_with_quoted_names(self):
    self.assertEqual(download.url("jsb_chorales"),
                     "http://www-etud.iro.umontreal.ca/~boulanni/JSB%20Chorales.pickle")
    self.assertEqual(download.url("piano_midi"),
                     "http://www-etud.iro.umontreal.ca/~boulanni/Piano-midi.de.pickle")
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

  def test_the_command_downloads_where_the_config_looks(self):
    source = _fixture(self.create_tempdir().full_path, "Nottingham.pickle")
    cache = self.create_tempdir().full_path
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.download", "--data_set=nottingham",
         f"--url=file://{source}"], cwd=_REPO, capture_output=True, text=True,
        env=dict(os.environ, RTRBM_JAX_CACHE=cache), timeout=120)
    self.assertEqual(finished.returncode, 0, finished.stderr)
    from configs import polyphonic  # pylint: disable=g-import-not-at-top
    with absltest.mock.patch.dict(os.environ, {"RTRBM_JAX_CACHE": cache}), \
        absltest.mock.patch.object(polyphonic, "_REPOSITORY_ROOT", cache):
      self.assertTrue(os.path.exists(
          polyphonic.get_config("nottingham,rtrbm").data.path))


if __name__ == "__main__":
  absltest.main()
