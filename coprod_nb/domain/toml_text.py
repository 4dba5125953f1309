"""Writing TOML strings: the standard library reads TOML (``tomllib``) but cannot write it.

Decision logs and course files are written with these, and read back with ``tomllib``;
hostile text round-trips (tested in ``tests/test_domain_decisions.py``).
"""

from __future__ import annotations

from coprod_nb.errors import InvalidInput

__all__ = ["toml_basic", "toml_string"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _escape_char(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    code = ord(c)
    if code < 0x20 or code == 0x7F:  # TOML allows no raw control characters but tab
        return f"\\u{code:04X}"
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate has no UTF-8 form, so no TOML form
        raise InvalidInput(f"text contains an invalid character (U+{code:04X})")
    return c


def toml_basic(text: str) -> str:
    """A one-line TOML basic string (the escapes are JSON's, which TOML shares)."""
    return '"' + "".join(_escape_char(c) for c in text) + '"'


def toml_string(text: str) -> str:
    """A basic string, or a multi-line basic string when the text has line breaks.

    In the multi-line form newlines stay raw and everything else is escaped as in a
    basic string, except quotes: a quote stays raw only when the next character is
    neither a quote nor the end of the text, so no run of three quotes (the closing
    delimiter) can form. The newline after the opening delimiter is dropped by TOML.
    """
    if "\n" not in text:
        return toml_basic(text)
    chars = []
    for i, c in enumerate(text):
        if c == "\n":
            chars.append(c)
        elif c == '"':
            raw = i + 1 < len(text) and text[i + 1] != '"'
            chars.append(c if raw else '\\"')
        else:
            chars.append(_escape_char(c))
    return '"""\n' + "".join(chars) + '"""'
