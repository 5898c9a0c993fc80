"""The flow engine: YAML call flows loaded, linted and walked one webhook at a time."""
