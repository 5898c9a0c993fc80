"""One way to read YAML: the C (libyaml) loader when PyYAML was built with it, else the pure-Python
one. Both are the safe loader (plain data only); the C one parses the flows, vocabularies and rule
packs about ten times faster, which is most of what start-up spends."""

from __future__ import annotations

from typing import IO, Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


def load_yaml(source: str | bytes | IO[str] | IO[bytes]) -> Any:
    """Parse one YAML document as plain data (raises yaml.YAMLError on bad YAML)."""
    return yaml.load(source, Loader=SafeLoader)
