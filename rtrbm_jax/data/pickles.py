"""Reads pickles of plain data only: a downloaded pickle must not run code.

A pickle is a program for a small stack machine: its GLOBAL / STACK_GLOBAL opcodes
import any name (`os.system`, `builtins.eval`) and REDUCE / BUILD / NEWOBJ call
it. `load_plain_data` refuses every such lookup, so what it returns can only be
built from the opcodes of plain containers and scalars: lists, tuples, dicts,
ints, floats, strings (booleans and None come with them; protocols 3 and 4 also
have opcodes of their own for bytes and sets, which are data too). That is all
the RNN-RBM paper's piano-roll pickles need (a dict of lists of lists of tuples of
MIDI note numbers). numpy scalars and arrays, and any class or function, are
refused with one line naming the file and what it asked for.
"""

import io
import os
import pickle


class RefusedPickleError(ValueError):
  """The pickle asks for something other than plain data."""


class _PlainDataUnpickler(pickle.Unpickler):
  """An unpickler whose every lookup of a name fails (so nothing can be called)."""

  def __init__(self, file, path: str):
    # latin1 reads Python 2 pickles (the published files are such) as str.
    super().__init__(file, encoding="latin1")
    self._path = path

  def find_class(self, module, name):
    raise RefusedPickleError(
        f"{self._path} is refused: the pickle asks for {module}.{name}, and only "
        "plain data (lists, tuples, dicts, ints, floats, strings) are read from a "
        "pickle, since anything else can run code.")

  def persistent_load(self, persistent_id):
    raise RefusedPickleError(
        f"{self._path} is refused: the pickle holds a persistent reference "
        f"{persistent_id!r}; only plain data (lists, tuples, dicts, ints, floats, "
        "strings) are read from a pickle.")


def load_plain_data(path: str | os.PathLike, name: str | None = None):
  """The plain data pickled in `path`, without running any of the file's code.

  Args:
    path: the pickle file.
    name: how errors name the file (default: `path`), e.g. the URL it came from.

  Returns:
    The unpickled object: nested lists, tuples, dicts, ints, floats, strings.

  Raises:
    ValueError: one line naming the file, if it is missing, is not a pickle, is
      truncated, or asks for any class or function.
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
