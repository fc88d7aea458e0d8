"""Opening files from untrusted places: regular files only, sizes known before anything is read.

A FIFO, socket or device given as a model or sequence file would block a reader forever (or stream
without end): :func:`open_regular` refuses every non-regular file without blocking (it is opened with
``O_NONBLOCK`` and checked with ``fstat`` before a byte is read). :func:`inside` refuses a folder
member that resolves (through a symbolic link) outside its folder. The caps here are the largest
inputs the readers accept; each is far beyond what a FLAME file holds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from ..errors import FileFormatError, ModelFileError

#: Largest JSON document read (sequences, camera files, model metadata): 64 MiB.
MAX_JSON_BYTES = 64 << 20
#: Largest OBJ read (FLAME's head_template.obj is about 1 MB).
MAX_TEXT_BYTES = 64 << 20
#: Largest file read whole (a pickle, an ``.npy``): 4 GiB; what is allocated is what the file holds.
MAX_MEMBER_BYTES = 4 << 30
#: Largest decompressed ``.npz`` member read: 1 GiB (a full FLAME model's largest array is about 48 MB in
#: float64); a compressed member's size comes from the zip directory and is checked before reading.
MAX_ZIP_MEMBER_BYTES = 1 << 30
#: Most values an array rebuilt from a file may have when it is not backed by as many bytes of the
#: file (dense sparse matrices, conversions): 2**26 (a full FLAME model has about 6.3 million).
MAX_DERIVED_VALUES = 1 << 26

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_regular(path: str | Path, error: type[FileFormatError] = ModelFileError) -> int:
    """The size of the regular file at ``path`` (symbolic links followed); anything else raises ``error``."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(path, "not a regular file", expected="a regular file", found=_kind(info.st_mode))
    return info.st_size


def open_regular(path: str | Path, error: type[FileFormatError] = ModelFileError) -> IO[bytes]:
    """``path`` opened for binary reading, refusing non-regular files without blocking on them."""
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY)
    except OSError as exc:
        raise error(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(path, "not a regular file", expected="a regular file", found=_kind(info.st_mode))
        if _NONBLOCK and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, limit: int, what: str, error: type[FileFormatError] = ModelFileError) -> bytes:
    """All bytes of the regular file ``path``, refused when larger than ``limit``."""
    with open_regular(path, error) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise error(path, f"too large for {what}", expected=f"at most {limit} bytes", found=f"{size} bytes")
        try:
            data = fh.read(size + 1)  # the real size: never a buffer of ``limit`` bytes
        except OSError as exc:
            raise error(path, f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(path, f"too large for {what}", expected=f"at most {limit} bytes")
    return data


def inside(folder: Path, member: Path, error: type[FileFormatError] = ModelFileError) -> Path:
    """``member`` if it (after symbolic links) lies inside ``folder``; else ``error``."""
    try:
        real = member.resolve(strict=True)
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise error(member, f"cannot resolve the path ({exc})") from None
    if real != root and root not in real.parents:
        raise error(member, "a link that leads outside the folder", expected=f"a file inside {folder}",
                    found=str(real))
    return member
