"""Operating-system errors said the way a user reads them: the cause first, then what."""

from __future__ import annotations

import errno
import os

# errno -> the cause, in words
_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EEXIST: "it already exists as a file",
    errno.EIO: "input/output error (a failing disk or a lost network share?)",
    errno.ENAMETOOLONG: "the name is too long",
}


def cause(exc: OSError) -> str:
    """``"the disk is full"``: what went wrong, in words (no errno numbers, no path)."""
    return _CAUSES.get(exc.errno or -1) or exc.strerror or str(exc) or type(exc).__name__


def describe(exc: OSError) -> str:
    """``"the disk is full: /path"`` for an :class:`OSError`."""
    if exc.filename is None:
        return cause(exc)
    return f"{cause(exc)}: {os.fsdecode(exc.filename)}"
