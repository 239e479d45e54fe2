"""Path patterns with parameters, for ``organization_sync_options``.

Clerk matches organization patterns with path-to-regexp 6 ``match`` on the raw
URL path (no decoding) and reads the ``:id`` / ``:slug`` parameters. The
compilation is the route matcher's; this module only names the groups.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ._errors import ConfigurationError
from ._routes import _lex, _Param, _path_to_js_regex, _PathParser, _to_code_units

__all__ = ["match_params", "validate_patterns"]


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    try:
        names = tuple(
            str(part.name)
            for part in _PathParser(_lex(_to_code_units(pattern))).parse()
            if isinstance(part, _Param)
        )
        # path-to-regexp's output for ``:param`` patterns is also valid Python
        # regex syntax; the capturing groups are the parameters, in order.
        regex = re.compile(_path_to_js_regex(_to_code_units(pattern)), re.IGNORECASE)
    except Exception as exc:
        raise ConfigurationError(f"Invalid organization sync pattern {pattern!r}: {exc}") from None
    return regex, names


def match_params(patterns: Sequence[str], path: str) -> dict[str, str] | None:
    """Match ``path`` against the first matching pattern and return its parameters.

    Args:
        patterns: path-to-regexp strings such as ``"/orgs/:slug"``.
        path: The raw (percent-encoded) request path.

    Returns:
        Parameter values by name (unmatched optional parameters omitted), or None.

    Raises:
        ConfigurationError: A pattern is invalid.
    """
    for pattern in patterns:
        regex, names = _compile(pattern)
        found = regex.match(_to_code_units(path))
        if found is None:
            continue
        return {
            name: value
            for name, value in zip(names, found.groups(), strict=False)
            if value is not None
        }
    return None


def validate_patterns(patterns: Sequence[str]) -> None:
    """Compile each pattern once, so a bad one fails at start-up.

    Raises:
        ConfigurationError: A pattern is invalid.
    """
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ConfigurationError(
                f"Organization sync patterns must be strings, got {pattern!r}."
            )
        _compile(pattern)
