"""JSON from files ddviz does not trust: nesting depth and size checked before ``json.loads``.

Python's JSON decoder recurses once per nested array or object, so a header holding
``[[[[...]]]]`` a few thousand levels deep raises :class:`RecursionError` (or exhausts the C
stack) instead of a clean error. :func:`loads` counts the nesting first (string literals ignored,
innermost bracket pairs removed pass by pass at C speed) and refuses anything deeper than
:data:`MAX_DEPTH` or longer than ``max_bytes``.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 64  # nesting levels; ddviz's own metadata uses at most 4
MAX_BYTES = 100 * 2**20  # characters of JSON text (safetensors' own header limit)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


class JSONError(ValueError):
    """JSON text that is invalid, too deep or too long (the caller names the file and field)."""


def nesting_depth(text: str | bytes, stop: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``text`` (string literals ignored).

    Parameters
    ----------
    text : str or bytes
        JSON text (UTF-8 when bytes).
    stop : int, optional
        Stop counting beyond this depth (the result is then ``stop + 1``).

    Returns
    -------
    int
        0 for a scalar, 1 for ``[1, 2]``, 2 for ``{"a": [1]}``, ...; each opening bracket that
        is never closed adds one level (at most ``stop + 1`` is returned).

    Notes
    -----
    Each pass removes the innermost bracket pairs (a C-speed ``bytes.replace``), so the work is
    the text length times the depth, and never more than ``stop + 1`` passes.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if b"[" not in data and b"{" not in data:
        return 0
    brackets = _STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS)
    limit = (1 << 30) if stop is None else stop
    depth = 0
    while b"(" in brackets:
        if depth > limit:
            return limit + 1
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):  # unclosed openers left: each may nest one more
            return min(depth + brackets.count(b"("), limit + 1)
        brackets, depth = shorter, depth + 1
    return depth


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES):
    """``json.loads(text)`` for untrusted text: depth and length bounded.

    Parameters
    ----------
    text : str or bytes
        The JSON document.
    max_depth : int
        Deepest nesting of arrays/objects allowed.
    max_bytes : int
        Longest text allowed (characters or bytes).

    Returns
    -------
    object
        The decoded value.

    Raises
    ------
    JSONError
        Invalid JSON, text longer than ``max_bytes``, nesting deeper than ``max_depth``, or
        bytes that are not UTF-8.
    """
    if len(text) > max_bytes:
        raise JSONError(f"JSON text of {len(text)} bytes is longer than the {max_bytes} allowed")
    depth = nesting_depth(text, stop=max_depth)
    if depth > max_depth:
        raise JSONError(f"JSON nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # not reached after the depth check; kept as a second wall
        raise JSONError(f"JSON nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONError(f"invalid JSON ({exc})") from None
