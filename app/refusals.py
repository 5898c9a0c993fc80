"""A service's "no", with a code: API clients read its English text, the console its own words.

Services raise `Refusal(code, english, **values)` where a person acting on the console can hit
the refusal; it is a ValueError, so every caller that handles a service's ValueError still does.
"""

from __future__ import annotations


class Refusal(ValueError):
    def __init__(self, code: str, message: str, **values: str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values
