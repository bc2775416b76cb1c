"""``application`` exists but is not callable."""

application = 42
