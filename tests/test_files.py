"""Tests of atomic file writes and of reading JSON records back."""

import errno
import os
import subprocess
import sys
from unittest import mock

from absl.testing import absltest
import numpy as np

from rtrbm_jax import files
from rtrbm_jax.models import rtrbm
from rtrbm_jax.training import checkpoints

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AtomicWriteTest(absltest.TestCase):

  def test_atomic_write_replaces_the_file_and_leaves_nothing_else(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, "results.json")
    with open(path, "w") as f:
      f.write("old")
    with files.atomic_write(path) as f:
      f.write("new")
      with open(path) as reader:
        self.assertEqual(reader.read(), "old")
    with open(path) as f:
      self.assertEqual(f.read(), "new")
    self.assertEqual(os.listdir(directory), ["results.json"])

  def test_atomic_write_writes_bytes(self):
    path = os.path.join(self.create_tempdir().full_path, "data.bin")
    with files.atomic_write(path, "wb") as f:
      f.write(b"\x00\x01")
    with open(path, "rb") as f:
      self.assertEqual(f.read(), b"\x00\x01")

  def test_atomic_write_keeps_the_old_file_when_writing_fails(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, "config.json")
    with open(path, "w") as f:
      f.write("old")
    with self.assertRaisesRegex(RuntimeError, "disk full"):
      with files.atomic_write(path) as f:
        f.write("half")
        raise RuntimeError("disk full")
    with open(path) as f:
      self.assertEqual(f.read(), "old")
    self.assertEqual(os.listdir(directory), ["config.json"])

  def test_a_file_size_limit_names_the_file_and_keeps_the_old_one(self):
    # Issue 34: the error said "File too large" without the file. A real limit
    # (RLIMIT_FSIZE), in a child process so that no other file meets it.
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, "eval_test.json")
    with open(path, "w") as f:
      f.write("old")
    script = (
        "import resource, signal, sys\n"
        "from rtrbm_jax import files\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n"
        "  with files.atomic_write(sys.argv[1]) as f:\n"
        "    f.write('x' * 100000)\n"
        "except OSError as error:\n"
        "  print(error.errno, error.filename)\n")
    finished = subprocess.run([sys.executable, "-c", script, path],
                              cwd=_REPO, capture_output=True, text=True,
                              timeout=120)
    self.assertEqual(finished.stdout.split(),
                     [str(errno.EFBIG), path], finished.stderr)
    with open(path) as f:
      self.assertEqual(f.read(), "old")
    self.assertEqual(os.listdir(directory), ["eval_test.json"])

  def test_atomic_write_rejects_other_modes(self):
    path = os.path.join(self.create_tempdir().full_path, "log")
    with self.assertRaisesRegex(ValueError, "mode must be 'w' or 'wb'"):
      with files.atomic_write(path, "a"):
        pass


class SaveParamsTest(absltest.TestCase):

  def test_params_npz_is_written_whole_or_not_at_all(self):
    path = os.path.join(self.create_tempdir().full_path, "params.npz")
    params = rtrbm.Params(*(np.full((2, 2), value, np.float32)
                            for value in range(5)))
    checkpoints.save_params(path, params)
    with open(path, "rb") as f:
      finished = f.read()

    def disk_full(file, **arrays):
      del arrays
      file = open(file, "wb") if isinstance(file, str) else file
      file.write(b"half of an npz")
      raise OSError("No space left on device")

    with mock.patch.object(np, "savez", disk_full):
      with self.assertRaisesRegex(OSError, "No space"):
        checkpoints.save_params(path, params._replace(w_vh=params.w_vh + 1))
    with open(path, "rb") as f:
      self.assertEqual(f.read(), finished)
    self.assertEqual(os.listdir(os.path.dirname(path)), ["params.npz"])
    np.testing.assert_array_equal(np.load(path)["b_init"], params.b_init)


class ReadRecordsTest(absltest.TestCase):

  def write(self, text):
    path = os.path.join(self.create_tempdir().full_path, "metrics.jsonl")
    with open(path, "w") as f:
      f.write(text)
    return path

  def test_read_records_gives_each_line_as_a_dict_skipping_blank_lines(self):
    path = self.write('{"step": 10, "error": 0.5}\n\n  \n{"step": 20}\n')
    self.assertEqual(files.read_records(path),
                     [{"step": 10, "error": 0.5}, {"step": 20}])

  def test_read_records_of_an_empty_file_is_empty(self):
    self.assertEqual(files.read_records(self.write("")), [])

  def test_read_records_drops_a_torn_last_line_with_a_warning(self):
    path = self.write('{"step": 10}\n{"step": 20, "phase": "tr')
    with self.assertLogs(level="WARNING") as logs:
      self.assertEqual(files.read_records(path), [{"step": 10}])
    self.assertIn("Dropped the torn last line", logs.output[0])

  def test_read_records_names_the_file_and_line_of_a_damaged_record(self):
    path = self.write('{"step": 10}\n\ngarbage\n{"step": 30}\n')
    with self.assertRaisesRegex(ValueError, "metrics.jsonl, line 3, is not a JSON "
                                "record"):
      files.read_records(path)
    path = self.write('{"step": 10}\n[1, 2]\n{"step": 30}\n')
    with self.assertRaisesRegex(ValueError, "line 2, is not a JSON record .a JSON "
                                "list, not an object"):
      files.read_records(path)


if __name__ == "__main__":
  absltest.main()
