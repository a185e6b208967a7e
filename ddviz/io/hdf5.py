"""Checks on an HDF5 (netCDF4) file before any library reads its data.

HDF5 can make a file read data that is not in it, or far more data than it holds:

* *external storage* (a dataset whose bytes live in another file, ``dset.external``), *virtual
  datasets* (``dset.is_virtual``: data mapped from other files) and *external or soft links*
  (``h5py.ExternalLink``, ``h5py.SoftLink``) reach files outside the data folders;
* *sparse storage*: a chunked dataset with chunks never written, or a contiguous one never
  allocated, declares any size and reads as its fill value, so a 2 kB file can declare 600^3
  points; a deflate-compressed chunk holds at most ~1032 times its size;
* a *corrupt chunk index* points chunks outside the file (or loops).

:func:`check_hdf5` walks every link and dataset of the file with h5py and refuses all of these
(ddviz writes none of them) before xarray opens the file: a dataset's declared points must stay
within the grid limit, and its declared bytes must be backed by the bytes it stores (times the
largest ratio its filters can reach), each chunk lying inside the file.
"""

from __future__ import annotations

import math
import os

import h5py
import numpy as np

from ddviz.errors import FileFormatError, TooLargeError, UnsupportedError
from ddviz.io._common import ENV_MAX_POINTS

MAX_OBJECTS = 10_000  # groups and datasets in one file
MAX_CHUNKS = 1 << 20  # chunks of one dataset
SMALL_BYTES = 1 << 16  # datasets declaring at most this many bytes need no storage check
# the largest decompressed/stored ratio of each filter ddviz accepts (deflate tops out at ~1032)
FILTER_RATIO = {h5py.h5z.FILTER_DEFLATE: 1100.0, h5py.h5z.FILTER_SHUFFLE: 1.0,
                h5py.h5z.FILTER_FLETCHER32: 1.0}
_FILTER_NAMES = {h5py.h5z.FILTER_SZIP: "szip", h5py.h5z.FILTER_NBIT: "nbit",
                 h5py.h5z.FILTER_SCALEOFFSET: "scale-offset", 32000: "lzf"}


def check_hdf5(path, max_points: int) -> None:
    """Refuse an HDF5 file that reaches outside itself or declares more than it stores.

    Parameters
    ----------
    path : path-like
        An HDF5 / netCDF4 file (not compressed: a plain copy if it was).
    max_points : int
        The grid-size limit: no dataset may declare more elements.

    Raises
    ------
    FileFormatError
        External storage, a virtual dataset, an external or soft link, sparse storage, a chunk
        outside the file, declared sizes its stored bytes cannot hold, too many objects, or an
        HDF5 error while looking.
    UnsupportedError
        A filter ddviz does not read (only deflate, shuffle and Fletcher-32 are accepted).
    TooLargeError
        A dataset declaring more than ``max_points`` elements.
    """
    size = os.path.getsize(path)
    try:
        with h5py.File(path, "r") as f:
            for name, dset in _datasets(f, path):
                _check_dataset(dset, name, path, size, max_points)
    except (FileFormatError, UnsupportedError, TooLargeError):
        raise
    except Exception as exc:  # noqa: BLE001 -- HDF5 raises OSError, KeyError, RuntimeError...
        raise FileFormatError(f"unreadable HDF5 file: {type(exc).__name__}: {exc}",
                              path=path) from None


def _datasets(f: h5py.File, path):
    """(name, dataset) of every dataset, walking hard links only; refuses other link kinds."""
    stack, seen, count = [("", f)], set(), 0
    while stack:
        prefix, group = stack.pop()
        for key in group:
            name = f"{prefix}/{key}"
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise FileFormatError(f"external link to {link.filename!r}:{link.path!r} (ddviz "
                                      "reads no data from other files)", path=path, field=name)
            if not isinstance(link, h5py.HardLink):
                kind = "soft link" if isinstance(link, h5py.SoftLink) else "link of unknown kind"
                raise FileFormatError(f"{kind} (ddviz files hold plain groups and variables)",
                                      path=path, field=name)
            count += 1
            if count > MAX_OBJECTS:
                raise FileFormatError(f"more than {MAX_OBJECTS} objects", path=path)
            obj = group[key]
            if isinstance(obj, h5py.Group):
                if obj.id not in seen:  # a hard link back up the tree would loop
                    seen.add(obj.id)
                    stack.append((name, obj))
            elif isinstance(obj, h5py.Dataset):
                yield name, obj


def _check_dataset(dset: h5py.Dataset, name: str, path, file_size: int, max_points: int) -> None:
    if dset.is_virtual:
        raise FileFormatError("virtual dataset (data mapped from other files)", path=path,
                              field=name)
    if dset.external:
        files = ", ".join(repr(os.fsdecode(e[0])) for e in dset.external[:3])
        raise FileFormatError(f"external storage in {files} (ddviz reads no data from other "
                              "files)", path=path, field=name)
    if dset.dtype.kind not in "biuf":
        raise FileFormatError(f"expected a numeric variable, got HDF5 type {dset.dtype}",
                              path=path, field=name)
    points = math.prod(dset.shape) if dset.shape else 1
    if points > max_points:
        raise TooLargeError(f"declares {' x '.join(map(str, dset.shape))} = {points:.4g} values, "
                            f"above the limit of {max_points:.4g} (--max-points or "
                            f"{ENV_MAX_POINTS})", path=path, field=name)
    plist = dset.id.get_create_plist()
    ratio = 1.0
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in FILTER_RATIO:
            raise UnsupportedError(f"HDF5 filter {_FILTER_NAMES.get(code, code)} is not supported "
                                   "(ddviz reads deflate, shuffle and Fletcher-32)", path=path,
                                   field=name)
        ratio *= FILTER_RATIO[code]
    declared = points * dset.dtype.itemsize
    if declared <= SMALL_BYTES:
        return
    if dset.chunks is None:
        offset = dset.id.get_offset()
        if offset is None or plist.get_layout() != h5py.h5d.CONTIGUOUS:
            if plist.get_layout() == h5py.h5d.COMPACT:
                return  # held in the object header itself (at most 64 KiB)
            raise FileFormatError(f"declares {declared} bytes but stores none (sparse storage)",
                                  path=path, field=name)
        if offset + declared > file_size:
            raise FileFormatError(f"its {declared} bytes at offset {offset} run past the end of "
                                  f"the file ({file_size} bytes)", path=path, field=name)
        return
    _check_chunks(dset, name, path, file_size, declared, ratio)


def _check_chunks(dset, name, path, file_size: int, declared: int, ratio: float) -> None:
    total = math.prod(-(-n // c) for n, c in zip(dset.shape, dset.chunks))
    if total > MAX_CHUNKS:
        raise FileFormatError(f"{total} chunks of {dset.chunks} (at most {MAX_CHUNKS})",
                              path=path, field=name)
    stored = dset.id.get_num_chunks()
    if stored != total:
        raise FileFormatError(f"{stored} of its {total} chunks stored (sparse storage: the rest "
                              "would read as fill values)", path=path, field=name)
    chunks = []
    dset.id.chunk_iter(lambda info: chunks.append((info.byte_offset, info.size)))
    if len(chunks) != total:
        raise FileFormatError(f"its chunk index lists {len(chunks)} chunks, expected {total}",
                              path=path, field=name)
    spans = np.array(chunks, dtype=np.float64).reshape(-1, 2)
    if np.any(spans[:, 1] <= 0) or np.any(spans[:, 0] + spans[:, 1] > file_size):
        raise FileFormatError(f"a chunk lies outside the file ({file_size} bytes): corrupt chunk "
                              "index", path=path, field=name)
    if declared > spans[:, 1].sum() * ratio:
        raise FileFormatError(f"declares {declared} bytes but stores {int(spans[:, 1].sum())}: "
                              f"more than its filters can expand to (x{ratio:g})", path=path,
                              field=name)
