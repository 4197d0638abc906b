"""Reads pickles of plain data only: a downloaded pickle must not run code.

A pickle is a program for a small stack machine: its GLOBAL / STACK_GLOBAL opcodes
import any name (`os.system`, `builtins.eval`) and REDUCE / BUILD / NEWOBJ call
it. `load_plain_data` refuses every such lookup except the few that numeric data
need, and hands out for those its own functions, which build nothing but numbers:

* plain containers and scalars need no lookup at all: lists, tuples, dicts,
  ints, floats, strings (booleans and None come with them; protocols 3 and 4
  also have opcodes of their own for bytes and sets, which are data too);
* numpy scalars and arrays of booleans, integers or floats: `numpy.dtype`,
  `numpy.core.multiarray.scalar` (or `numpy._core...`), `..._reconstruct`,
  `numpy.ndarray` and `numpy.core.numeric._frombuffer` (protocol 5), each
  checked for a numeric dtype (an object dtype, which would hold arbitrary
  objects, is refused);
* `_codecs.encode(text, "latin1")`, which Python 3 writes for the raw bytes of a
  numpy value at protocol 2.

The RNN-RBM paper's piano-roll pickles are Python 2 pickles of a dict of lists of
lists of tuples of MIDI note numbers, which a third-party inventory reports to
reference numpy scalars (not verified here: the files cannot be downloaded on
this project's machines). Anything else asks for a name that is refused, with
one line naming the file and the name.
"""

import io
import os
import pickle

import numpy as np

# The dtype kinds read: booleans, signed and unsigned integers, floats.
_NUMERIC_KINDS = "biuf"
_MULTIARRAY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_MODULES = ("numpy.core.numeric", "numpy._core.numeric")
_PLAIN_DATA = "plain data (lists, tuples, dicts, ints, floats, strings, numeric " \
              "numpy values)"


class RefusedPickleError(ValueError):
  """The pickle asks for something other than plain data."""


class _NdarrayToken:
  """What the pickle gets for `numpy.ndarray`: usable only by `_reconstruct`."""


class _PlainDataUnpickler(pickle.Unpickler):
  """An unpickler that looks up no name but numeric numpy's, through its own
  functions (so nothing the file names can be called)."""

  def __init__(self, file, path: str):
    # latin1 reads Python 2 pickles (the published files are such) as str.
    super().__init__(file, encoding="latin1")
    self._path = path

  def _refuse(self, what: str):
    return RefusedPickleError(
        f"{self._path} is refused: the pickle asks for {what}, and only "
        f"{_PLAIN_DATA} are read from a pickle, since anything else can run code.")

  def find_class(self, module, name):
    if (module, name) == ("numpy", "dtype"):
      return self._numeric_dtype
    if (module, name) == ("numpy", "ndarray"):
      return _NdarrayToken
    if module in _MULTIARRAY_MODULES and name == "scalar":
      return self._numeric_scalar
    if module in _MULTIARRAY_MODULES and name == "_reconstruct":
      return self._empty_array
    if module in _NUMERIC_MODULES and name == "_frombuffer":
      return self._array_from_bytes
    if (module, name) == ("_codecs", "encode"):
      return self._latin1_bytes
    raise self._refuse(f"{module}.{name}")

  def persistent_load(self, persistent_id):
    raise self._refuse(f"a persistent reference {persistent_id!r}")

  def _numeric_dtype(self, spec, align=False, copy=False):
    dtype = np.dtype(spec, align=bool(align), copy=bool(copy)) if isinstance(
        spec, str) else None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS:
      raise self._refuse(f"numpy.dtype({spec!r})")
    return dtype

  def _numeric_scalar(self, dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
      raise self._refuse(f"a numpy scalar of {dtype!r}")
    data = data.encode("latin1") if isinstance(data, str) else data
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
      raise self._refuse(f"a numpy scalar of {dtype} from {data!r}")
    return np.frombuffer(data, dtype)[0]

  def _empty_array(self, subtype, shape, dtype_code):
    # numpy's own _reconstruct makes an empty array that BUILD then fills
    # (ndarray.__setstate__, whose dtype can only come from _numeric_dtype).
    if subtype is not _NdarrayToken:
      raise self._refuse(f"an array of {subtype!r}")
    return np.ndarray(shape, np.uint8)

  def _array_from_bytes(self, data, dtype, shape, order):
    # What protocol 5 writes for an array: its bytes, dtype, shape and order.
    if (not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS
        or not isinstance(data, (bytes, bytearray)) or order not in ("C", "F")):
      raise self._refuse(f"an array of {dtype!r}")
    return np.frombuffer(data, dtype).reshape(shape, order=order).copy()

  def _latin1_bytes(self, text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
      raise self._refuse(f"_codecs.encode({text!r}, {encoding!r})")
    return text.encode("latin1")


def load_plain_data(path: str | os.PathLike, name: str | None = None):
  """The plain data pickled in `path`, without running any of the file's code.

  Args:
    path: the pickle file.
    name: how errors name the file (default: `path`), e.g. the URL it came from.

  Returns:
    The unpickled object: nested lists, tuples, dicts, ints, floats, strings and
    numeric numpy scalars or arrays.

  Raises:
    ValueError: one line naming the file, if it is missing, is not a pickle, is
      truncated, or asks for any other class or function.
  """
  name = str(path) if name is None else name
  try:
    with open(path, "rb") as file:
      data = file.read()
  except OSError as error:
    raise ValueError(f"{name} cannot be read ({error.strerror or error}).") from None
  # The EXT1/2/4 opcodes name objects by code through copyreg's extension
  # registry, which is empty unless the program itself registers codes.
  try:
    return _PlainDataUnpickler(io.BytesIO(data), name).load()
  except RefusedPickleError:
    raise
  except (ValueError, EOFError, pickle.UnpicklingError, TypeError, AttributeError,
          KeyError, IndexError, MemoryError, RecursionError, UnicodeDecodeError,
          OverflowError) as error:
    # What unpickling an empty, truncated or foreign file raises.
    raise _not_a_pickle(name, error) from None


def _not_a_pickle(name: str, error: Exception) -> ValueError:
  detail = str(error).splitlines()[0] if str(error) else ""
  return ValueError(f"{name} is not a readable pickle ({type(error).__name__}: "
                    f"{detail}).")
