"""Tests of atomic file writes."""

import os

from absl.testing import absltest

from rtrbm_jax import files


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

  def test_atomic_write_rejects_other_modes(self):
    path = os.path.join(self.create_tempdir().full_path, "log")
    with self.assertRaisesRegex(ValueError, "mode must be 'w' or 'wb'"):
      with files.atomic_write(path, "a"):
        pass


if __name__ == "__main__":
  absltest.main()
