"""pytest runs absltest cases without absl's main; mark flags parsed for them."""

from absl import flags

flags.FLAGS.mark_as_parsed()
