"""Helpers every reader shares: the size limit, opening files, header lines and value blocks.

Text readers open files in binary mode (any byte is accepted, so garbage is reported as a bad
token, never as a decode error) and count lines, so every message names ``file:line``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError, FileFormatError, TooLargeError

ENV_MAX_POINTS = "DDVIZ_MAX_POINTS"
DEFAULT_MAX_POINTS = 200_000_000
MAX_LINE = 4096  # bytes: a header line longer than this is garbage
_BLOCK = 1 << 22  # bytes of value lines parsed at once


def max_points_limit(max_points: int | None = None) -> int:
    """The grid-size limit: ``max_points``, else env ``DDVIZ_MAX_POINTS``, else 2e8 points
    (ConfigError naming the variable for a bad value; see :mod:`ddviz.settings`)."""
    if max_points is not None:
        return int(max_points)
    from ddviz.settings import env

    limit = env().max_points
    return DEFAULT_MAX_POINTS if limit is None else limit


def check_points(shape, max_points: int | None, path, line: int | None = None) -> int:
    """Number of points of ``shape``; TooLargeError above the limit (checked before allocating)."""
    n = 1
    for s in shape:
        n *= int(s)
    limit = max_points_limit(max_points)
    if n > limit:
        raise TooLargeError(f"grid {' x '.join(str(int(s)) for s in shape)} = {n:.4g} points "
                            f"exceeds the limit of {limit:.4g} (--max-points or "
                            f"{ENV_MAX_POINTS})", path=path, line=line)
    return n


def existing_file(path) -> Path:
    """``path`` as a Path; DdvizError naming it when it is missing or not a regular file."""
    path = Path(path)
    if not path.exists():
        raise DdvizError("no such file", path=path)
    if not path.is_file():
        raise DdvizError("not a regular file", path=path)
    return path


def open_binary(path):
    """Open ``path`` for reading (binary); OS failures become DdvizError naming the file."""
    path = existing_file(path)
    try:
        return open(path, "rb")
    except OSError as exc:
        raise DdvizError(f"cannot open: {exc.strerror or exc}", path=path) from None


def show(token: bytes | str, width: int = 40) -> str:
    """A token or line as it can be printed in one error line."""
    if isinstance(token, bytes):
        token = token.decode("latin-1")
    token = token.strip()
    return repr(token if len(token) <= width else token[:width] + "...")


class LineReader:
    """Header lines of a binary file with their 1-based numbers, for messages ``file:line``."""

    def __init__(self, f, path):
        self.f = f
        self.path = path
        self.line = 0
        self.size = os.fstat(f.fileno()).st_size

    def remaining(self) -> int:
        """Bytes left after the current position."""
        return self.size - self.f.tell()

    def next(self, expected: str) -> bytes:
        """The next line; FileFormatError naming ``expected`` at the end of the file."""
        raw = self.f.readline(MAX_LINE + 1)
        if not raw:
            raise self.error(f"file ends here, expected {expected}", self.line + 1)
        self.line += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise self.error(f"line longer than {MAX_LINE} bytes, expected {expected}")
        return raw

    def error(self, message: str, line: int | None = None) -> FileFormatError:
        return FileFormatError(message, path=self.path, line=self.line if line is None else line)

    def numbers(self, count: int, expected: str, *, ints: int = 0, line: bytes | None = None,
                at_least: bool = True) -> list:
        """The first ``count`` numbers of the next line (the first ``ints`` of them integers).

        ``expected`` describes them, e.g. ``"4 numbers (natoms, x0, y0, z0)"``. Extra tokens are
        allowed when ``at_least`` (comments after the numbers), else an error.
        """
        raw = self.next(expected) if line is None else line
        tokens = raw.split()
        if len(tokens) < count or (not at_least and len(tokens) > count):
            raise self.error(f"expected {expected}, got {show(raw)}")
        out = []
        for i, tok in enumerate(tokens[:count]):
            try:
                value = int(tok) if i < ints else float(tok)
            except ValueError:
                kind = "an integer" if i < ints else "a number"
                raise self.error(f"expected {expected}; {show(tok)} is not {kind}") from None
            if i >= ints and not np.isfinite(value):
                raise self.error(f"expected {expected}; {show(tok)} is not finite")
            out.append(value)
        return out

    def require_bytes_for(self, n: int, what: str) -> None:
        """FileFormatError (truncated) when the rest of the file cannot hold ``n`` numbers.

        Each number takes at least one character plus a separator, so ``2n - 1`` bytes.
        """
        if n > 0 and self.remaining() < 2 * n - 1:
            raise FileFormatError(f"truncated: {n} {what} declared but only {self.remaining()} "
                                  f"bytes follow (at least {2 * n - 1} needed)",
                                  path=self.path, line=self.line)

    def values(self, n: int, what: str = "grid values") -> np.ndarray:
        """Read exactly ``n`` finite float64 values from the following lines (any layout).

        Reading stops at the end of the line holding the n-th value; a line with more values than
        needed, a non-numeric token, NaN/Inf or an early end of file is a FileFormatError.
        """
        self.require_bytes_for(n, what)
        out = np.empty(n, dtype=np.float64)
        filled = 0
        while filled < n:
            lines = self.f.readlines(_BLOCK)
            if not lines:
                raise self.error(f"truncated: file ends after {filled} of {n} {what}")
            first = self.line + 1
            try:
                block = np.array(b" ".join(lines).split(), dtype=np.float64)
                fast = filled + block.size <= n and bool(np.all(np.isfinite(block)))
            except ValueError:
                fast = False
            if fast:
                out[filled:filled + block.size] = block
                filled += block.size
                self.line += len(lines)
                continue
            filled = self._slow(lines, first, out, filled, n, what)
        return out

    def _slow(self, lines, first, out, filled, n, what) -> int:
        """Line by line through one block: locate the bad token or the end of the values."""
        for offset, raw in enumerate(lines):
            self.line = first + offset
            tokens = raw.split()
            if filled + len(tokens) > n:
                raise self.error(f"expected {n} {what} in all, this line has "
                                 f"{filled + len(tokens) - n} more")
            for tok in tokens:
                try:
                    value = float(tok)
                except ValueError:
                    raise self.error(f"expected a number, got {show(tok)}") from None
                if not np.isfinite(value):
                    raise self.error(f"{what} must be finite, got {show(tok)}")
                out[filled] = value
                filled += 1
            if filled == n:
                # put back what follows, so the caller sees the rest of the file
                rest = sum(len(x) for x in lines[offset + 1:])
                self.f.seek(-rest, os.SEEK_CUR)
                return filled
        return filled

    def only_whitespace_left(self, what: str) -> None:
        """FileFormatError when anything but whitespace follows (e.g. extra values)."""
        chunk = self.f.read(1 << 16)
        if chunk.strip():
            line = self.line + 1 + chunk[:len(chunk) - len(chunk.lstrip())].count(b"\n")
            raise FileFormatError(f"unexpected data after the {what}: "
                                  f"{show(chunk.split()[0])}", path=self.path, line=line)
