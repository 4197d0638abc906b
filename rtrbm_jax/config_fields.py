"""Config fields by dotted path ("optimizer.learning_rate"): read, write, flatten.

The one place that walks a config's sections by path; `ml_collections.ConfigDict`s
and the plain dicts of a `config.json` alike. Imports nothing of the package.
"""

from typing import Any, Mapping


def _is_section(node) -> bool:
  # ConfigDict is not a Mapping subclass, but has the same items/keys/[] methods.
  return isinstance(node, Mapping) or hasattr(node, "to_dict")


def get_field(config, path: str) -> Any:
  """`config.a.b` for path "a.b"."""
  value = config
  for part in path.split("."):
    value = value[part]
  return value


def set_field(config, path: str, value) -> None:
  """Sets `config.a.b = value` for path "a.b" (its section must exist)."""
  section, _, name = path.rpartition(".")
  (get_field(config, section) if section else config)[name] = value


def missing_prefix(config, path: str) -> str | None:
  """The path's first part that `config` lacks, with the parts before it ("a.b"
  of "a.b.c" if section `a` has no `b` or is not a section), or None if it has
  them all."""
  node, parts = config, path.split(".")
  for depth, part in enumerate(parts):
    if not _is_section(node) or part not in node:
      return ".".join(parts[:depth + 1])
    node = node[part]
  return None


def flatten(config, prefix: str = "") -> dict[str, Any]:
  """{"optimizer.learning_rate": 0.01, ...}: every leaf of the sections, in order."""
  flat = {}
  for name, value in config.items():
    if _is_section(value):
      flat.update(flatten(value, f"{prefix}{name}."))
    else:
      flat[prefix + name] = value
  return flat
