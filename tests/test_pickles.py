"""The restricted unpickler: plain data in, any code refused in one line."""

import os
import pickle

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax.data import music
from rtrbm_jax.data import pickles


class _WritesAMarker:
  """Unpickled by the plain unpickler, this runs `os.system("touch MARKER")`."""

  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return os.system, (f"touch {self.marker}",)


def _dump(directory, obj, protocol, name="x.pickle"):
  path = os.path.join(directory, name)
  with open(path, "wb") as f:
    pickle.dump(obj, f, protocol=protocol)
  return path


class PlainDataTest(parameterized.TestCase):

  @parameterized.parameters(0, 2, 4, 5)
  def test_plain_data_round_trips(self, protocol):
    data = {"train": [[(60, 64), ()], [(21.0,)]], "valid": [], "test": [[(108,)]],
            "name": "JSB", "flag": True, "none": None}
    path = _dump(self.create_tempdir().full_path, data, protocol)
    self.assertEqual(pickles.load_plain_data(path), data)

  @parameterized.parameters(0, 2, 4, 5)
  def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(self, protocol):
    directory = self.create_tempdir().full_path
    marker = os.path.join(directory, "MARKER")
    path = _dump(directory, {"train": [_WritesAMarker(marker)], "valid": [],
                             "test": []}, protocol)
    with self.assertRaisesRegex(
        ValueError, f"{path} is refused: the pickle asks for "
        f"{os.system.__module__}.system") as raised:
      pickles.load_plain_data(path)
    self.assertNotIn("\n", str(raised.exception))
    self.assertFalse(os.path.exists(marker))
    # And the piano-roll loader, which reads pickles through it.
    with self.assertRaisesRegex(ValueError, "is refused"):
      music.load_piano_rolls(path)
    self.assertFalse(os.path.exists(marker))

  @parameterized.parameters(0, 2, 4, 5)
  def test_numeric_numpy_scalars_and_arrays_round_trip(self, protocol):
    data = {"notes": [(np.int64(60), np.float64(64.0), np.uint8(67))],
            "roll": np.eye(3, dtype=np.uint8), "mean": np.linspace(0, 1, 4),
            "flags": np.array([True, False])}
    path = _dump(self.create_tempdir().full_path, data, protocol)
    loaded = pickles.load_plain_data(path)
    self.assertEqual(loaded["notes"], data["notes"])
    for name in ("roll", "mean", "flags"):
      np.testing.assert_array_equal(loaded[name], data[name])
      self.assertEqual(loaded[name].dtype, data[name].dtype)

  @parameterized.named_parameters(
      ("object_array", {"train": np.array([1, "x"], dtype=object)},
       r"numpy.dtype\('O8'\)"),
      ("string_array", {"train": np.array(["ab"])}, r"numpy.dtype\('U2'\)"),
      # Protocol 4 writes sets with opcodes of their own (data, accepted).
      ("set_at_protocol_2", {"train": {60, 64}}, "__builtin__.set", (2,)),
      ("class", {"train": parameterized.TestCase}, "absl.testing"),
      ("numpy_function", {"train": np.load}, "numpy"),
  )
  def test_anything_but_plain_data_is_refused(self, data, asked_for,
                                              protocols=(2, 5)):
    for protocol in protocols:
      path = _dump(self.create_tempdir().full_path, data, protocol)
      with self.assertRaisesRegex(ValueError, f"is refused: the pickle asks for "
                                  f"{asked_for}"):
        pickles.load_plain_data(path)

  def test_a_persistent_reference_is_refused(self):
    # PERSID "x", STOP: what a pickler with persistent_id writes.
    path = os.path.join(self.create_tempdir().full_path, "x.pickle")
    with open(path, "wb") as f:
      f.write(b"Px\n.")
    with self.assertRaisesRegex(ValueError, "persistent reference 'x'"):
      pickles.load_plain_data(path)

  @parameterized.named_parameters(
      ("empty", b""), ("truncated", pickle.dumps({"train": [1, 2, 3]})[:-3]),
      ("garbage", b"\x80\x04garbage"), ("text", b"hello world\n"))
  def test_a_file_that_is_not_a_pickle_is_one_line_naming_it(self, content):
    path = os.path.join(self.create_tempdir().full_path, "x.pickle")
    with open(path, "wb") as f:
      f.write(content)
    with self.assertRaisesRegex(ValueError, "https://example.org/x.pickle is not a "
                                "readable pickle") as raised:
      pickles.load_plain_data(path, name="https://example.org/x.pickle")
    self.assertNotIn("\n", str(raised.exception))

  def test_a_missing_file_is_one_line(self):
    with self.assertRaisesRegex(ValueError, "cannot be read"):
      pickles.load_plain_data(os.path.join(self.create_tempdir().full_path, "no"))


if __name__ == "__main__":
  absltest.main()
