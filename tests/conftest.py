"""pytest runs absltest cases without absl's main; mark flags parsed for them.

A test decorated with `helpers.slow` gets pytest's `slow` mark here, so the
default run (`-m "not slow"`, setup.cfg) leaves it out and `-m slow` runs it.
"""

from absl import flags
import pytest

flags.FLAGS.mark_as_parsed()


@pytest.hookimpl(tryfirst=True)  # Before the mark plugin deselects by `-m`.
def pytest_collection_modifyitems(items):
  for item in items:
    if getattr(getattr(item, "obj", None), "slow", False):
      item.add_marker(pytest.mark.slow)
