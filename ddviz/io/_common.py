"""Helpers every reader shares.

The size limit, opening files (compressed or not), header lines, value blocks and Fortran number
formats.

Text readers open files in binary mode (any byte is accepted, so garbage is reported as a bad
token, never as a decode error) and count lines, so every message names ``file:line``.

Compression is recognised by magic bytes (gzip ``1f 8b``, bzip2 ``BZh``, xz ``fd 37 7a 58 5a 00``),
whatever the file is called, and read as a stream whose decompressed size is capped
(:data:`BYTES_PER_POINT` per allowed grid point, tightened to the points a header declares), so a
decompression bomb is refused after a bounded amount of work instead of being expanded.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError, FileFormatError, TooLargeError

ENV_MAX_POINTS = "DDVIZ_MAX_POINTS"
DEFAULT_MAX_POINTS = 200_000_000
MAX_LINE = 4096  # bytes: a header line longer than this is garbage
_BLOCK = 1 << 22  # bytes of value lines parsed at once
BYTES_PER_POINT = 64  # decompressed bytes allowed per grid point (a value takes ~12-20)
HEADER_BYTES = 1 << 24  # decompressed bytes allowed beyond the values (headers, trailing data)

# Magic bytes of the compressions read transparently, and the file-name suffixes they use.
COMPRESSIONS = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}

# Fortran output: a D exponent (8.61202D-09) or a three-digit exponent without a letter
# (0.56606-111, written by Fortran's Ew.d edit descriptor below 1e-99 or above 1e99).
_D_EXPONENT = bytes.maketrans(b"Dd", b"EE")
_BARE_EXPONENT = re.compile(rb"(?<![\w.+-])([+-]?(?:\d+\.\d*|\.\d+))([+-]\d{3})(?![\w.+-])")


def max_points_limit(max_points: int | None = None) -> int:
    """The grid-size limit: ``max_points``, else env ``DDVIZ_MAX_POINTS``, else 2e8 points.

    A bad value of the variable raises ConfigError naming it (see :mod:`ddviz.settings`).
    """
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


def parse_float(token: bytes | str) -> float:
    """A number as Python or Fortran writes it: ``1.5e-3``, ``1.5D-03``, ``0.15-111``.

    Raises ValueError when ``token`` is none of these (the caller names file and line).
    """
    if isinstance(token, str):
        token = token.encode("latin-1")
    try:
        return float(token)
    except ValueError:
        pass
    fixed = fortran_numbers(token.strip())
    if fixed == token.strip():
        raise ValueError(f"not a number: {token!r}")
    return float(fixed)


def fortran_numbers(text: bytes) -> bytes:
    """``text`` with Fortran number forms rewritten for ``float``.

    D exponents become E, and a three-digit exponent written without a letter gets its E
    (``0.56606-111`` -> ``0.56606E-111``).

    Tokens that are not numbers stay as they are (so they are still reported as bad tokens).
    """
    if b"D" in text or b"d" in text:
        text = text.translate(_D_EXPONENT)
    if b"-" in text or b"+" in text:
        text = _BARE_EXPONENT.sub(rb"\1E\2", text)
    return text


def existing_file(path) -> Path:
    """``path`` as a Path; DdvizError naming it when it is missing or not a regular file."""
    path = Path(path)
    if not path.exists():
        raise DdvizError("no such file", path=path)
    if not path.is_file():
        raise DdvizError("not a regular file", path=path)
    return path


def compression_of(path) -> str | None:
    """``"gzip"``, ``"bzip2"`` or ``"xz"`` from the file's first bytes, else None."""
    path = existing_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as exc:
        raise DdvizError(f"cannot open: {exc.strerror or exc}", path=path) from None
    for name, magic in COMPRESSIONS.items():
        if head.startswith(magic):
            return name
    return None


def strip_compression_suffix(name: str) -> str:
    """``water.cube.gz`` -> ``water.cube``; other names unchanged."""
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def open_binary(path, max_bytes: int | None = None):
    """Open ``path`` for reading (binary), decompressing gzip/bzip2/xz (found by magic bytes).

    A compressed file is a stream capped at ``max_bytes`` decompressed bytes (default: the grid
    limit times :data:`BYTES_PER_POINT`); reading past the cap raises TooLargeError. OS failures
    become DdvizError naming the file.
    """
    path = existing_file(path)
    kind = compression_of(path)
    try:
        if kind is None:
            return open(path, "rb")
        raw = _OPENERS[kind](path, "rb")
    except OSError as exc:
        raise DdvizError(f"cannot open: {exc.strerror or exc}", path=path) from None
    limit = max_points_limit() * BYTES_PER_POINT + HEADER_BYTES if max_bytes is None else max_bytes
    return Decompressed(raw, kind, limit, path)


class Decompressed:
    """A read-only decompressing stream that refuses to yield more than ``limit`` bytes.

    Decoder failures (corrupt or truncated compressed data) become FileFormatError naming the file.
    """

    def __init__(self, raw, kind: str, limit: int, path):
        self.raw, self.kind, self.limit, self.path = raw, kind, int(limit), path
        self.consumed = 0

    def _take(self, data: bytes) -> bytes:
        self.consumed += len(data)
        if self.consumed > self.limit:
            raise TooLargeError(f"{self.kind} data decompresses to more than {self.limit:.4g} bytes "
                                "(the limit for the grid it declares; a decompression bomb?)",
                                path=self.path)
        return data

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise FileFormatError(f"corrupt {self.kind} data: {exc}", path=self.path) from None

    def tighten(self, extra: int) -> None:
        """Allow at most ``extra`` more bytes from here on."""
        self.limit = min(self.limit, self.consumed + int(extra))

    def remaining(self) -> int:
        return max(self.limit - self.consumed, 0)

    def read(self, n: int = -1) -> bytes:
        n = self.remaining() + 1 if n is None or n < 0 else min(n, self.remaining() + 1)
        return self._take(self._call(self.raw.read, n))

    def readline(self, size: int = -1) -> bytes:
        size = self.remaining() + 1 if size is None or size < 0 else size
        return self._take(self._call(self.raw.readline, size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        """Whole lines totalling about ``hint`` bytes (a long line is read in pieces and joined)."""
        lines, total = [], 0
        while total < max(hint, 1):
            line = self.readline(1 << 20)
            while line and not line.endswith(b"\n"):
                more = self.readline(1 << 20)
                if not more:
                    break
                line += more
            if not line:
                break
            lines.append(line)
            total += len(line)
        return lines

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def plain_copy(path, max_bytes: int):
    """A path to read with a library that needs a real file.

    ``path`` itself, or for a compressed file a temporary decompressed copy (at most ``max_bytes``;
    TooLargeError beyond), removed after.
    """
    if compression_of(path) is None:
        yield Path(path)
        return
    fd, tmp = tempfile.mkstemp(prefix=".ddviz-", suffix=Path(strip_compression_suffix(
        Path(path).name)).suffix)
    try:
        with os.fdopen(fd, "wb") as out, open_binary(path, max_bytes) as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def show(token: bytes | str, width: int = 40) -> str:
    """A token or line as it can be printed in one error line."""
    if isinstance(token, bytes):
        token = token.decode("latin-1")
    token = token.strip()
    return repr(token if len(token) <= width else token[:width] + "...")


class LineReader:
    """Header lines of a binary file with their 1-based numbers, for messages ``file:line``.

    ``f`` is a plain binary file or a :class:`Decompressed` stream (its size is then unknown and
    :meth:`remaining` is the bytes its cap still allows).
    """

    def __init__(self, f, path):
        self.f = f
        self.path = path
        self.line = 0
        self.compressed = isinstance(f, Decompressed)
        self.size = None if self.compressed else os.fstat(f.fileno()).st_size
        self._back: list[bytes] = []  # lines read ahead and put back

    def remaining(self) -> int:
        """Bytes left after the current position (for a compressed stream: what its cap allows)."""
        ahead = sum(len(x) for x in self._back)
        if self.compressed:
            return self.f.remaining() + ahead
        return self.size - self.f.tell() + ahead

    def _readline(self, size: int) -> bytes:
        return self._back.pop(0) if self._back else self.f.readline(size)

    def next(self, expected: str) -> bytes:
        """The next line; FileFormatError naming ``expected`` at the end of the file."""
        raw = self._readline(MAX_LINE + 1)
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
        allowed when ``at_least`` (comments after the numbers), else an error. Floats may be
        written as Fortran writes them (:func:`parse_float`).
        """
        raw = self.next(expected) if line is None else line
        tokens = raw.split()
        if len(tokens) < count or (not at_least and len(tokens) > count):
            raise self.error(f"expected {expected}, got {show(raw)}")
        out = []
        for i, tok in enumerate(tokens[:count]):
            try:
                value = int(tok) if i < ints else parse_float(tok)
            except ValueError:
                kind = "an integer" if i < ints else "a number"
                raise self.error(f"expected {expected}; {show(tok)} is not {kind}") from None
            if i >= ints and not np.isfinite(value):
                raise self.error(f"expected {expected}; {show(tok)} is not finite")
            out.append(value)
        return out

    def require_bytes_for(self, n: int, what: str) -> None:
        """FileFormatError (truncated) when the rest of the file cannot hold ``n`` numbers.

        Each number takes at least one character plus a separator, so ``2n - 1`` bytes. A
        compressed stream's size is not known in advance: its cap is tightened to what ``n``
        numbers may take instead, and truncation is found while reading.
        """
        if self.compressed:
            self.f.tighten(n * BYTES_PER_POINT + HEADER_BYTES)
            return
        if n > 0 and self.remaining() < 2 * n - 1:
            raise FileFormatError(f"truncated: {n} {what} declared but only {self.remaining()} "
                                  f"bytes follow (at least {2 * n - 1} needed)",
                                  path=self.path, line=self.line)

    def _block(self) -> list[bytes]:
        if self._back:
            lines, self._back = self._back, []
            return lines
        return self.f.readlines(_BLOCK)

    def values(self, n: int, what: str = "grid values") -> np.ndarray:
        """Read exactly ``n`` finite float64 values from the following lines (any layout).

        Reading stops at the end of the line holding the n-th value; a line with more values than
        needed, a non-numeric token, NaN/Inf or an early end of file is a FileFormatError.
        Fortran forms (``1.0D-05``, ``0.5-111``) are read as the numbers they are.
        """
        self.require_bytes_for(n, what)
        # a compressed stream of unknown length grows its array as values arrive
        out = np.empty(n if not self.compressed else min(n, 1 << 20), dtype=np.float64)
        filled = 0
        while filled < n:
            lines = self._block()
            if not lines:
                raise self.error(f"truncated: file ends after {filled} of {n} {what}")
            first = self.line + 1
            blob = b" ".join(lines)
            block = _fast_parse(blob)
            if block is not None and filled + block.size <= n:
                out = _room(out, filled + block.size, n)
                out[filled:filled + block.size] = block
                filled += block.size
                self.line += len(lines)
                continue
            out = _room(out, filled + len(blob.split()), n)
            filled = self._slow(lines, first, out, filled, n, what)
        return out[:n] if out.size != n else out

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
                    value = parse_float(tok)
                except ValueError:
                    raise self.error(f"expected a number, got {show(tok)}") from None
                if not np.isfinite(value):
                    raise self.error(f"{what} must be finite, got {show(tok)}")
                out[filled] = value
                filled += 1
            if filled == n:
                self._back = list(lines[offset + 1:])  # the rest of the file is the caller's
                return filled
        return filled

    def only_whitespace_left(self, what: str) -> None:
        """FileFormatError when anything but whitespace follows (e.g. extra values)."""
        chunk = b"".join(self._back) + self.f.read(1 << 16)
        self._back = []
        if chunk.strip():
            line = self.line + 1 + chunk[:len(chunk) - len(chunk.lstrip())].count(b"\n")
            raise FileFormatError(f"unexpected data after the {what}: "
                                  f"{show(chunk.split()[0])}", path=self.path, line=line)


def _fast_parse(blob: bytes) -> np.ndarray | None:
    """All tokens of ``blob`` as finite float64 (Fortran forms too), or None if any is not."""
    try:
        block = np.array(blob.split(), dtype=np.float64)
    except ValueError:
        try:
            block = np.array(fortran_numbers(blob).split(), dtype=np.float64)
        except ValueError:
            return None
    return block if bool(np.all(np.isfinite(block))) else None


def _room(out: np.ndarray, needed: int, n: int) -> np.ndarray:
    """``out`` grown (doubling, at most to ``n``) to hold ``needed`` values."""
    if needed <= out.size:
        return out
    bigger = np.empty(min(n, max(needed, 2 * out.size)), dtype=np.float64)
    bigger[:out.size] = out
    return bigger
