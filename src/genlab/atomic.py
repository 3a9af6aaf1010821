"""Atomic file writes: a temporary file beside the target, flushed to disk, then renamed."""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left on the device, disk quota exceeded


class NoSpaceError(OSError):
    """A write that found the device (or the quota) full; the previous file is unchanged."""

    def __str__(self) -> str:
        return str(self.strerror)


def atomic_write(path: Path | str, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, then rename.

    A reader, or a run killed at any moment, sees the old file or the new one, never half.
    A full device raises ``NoSpaceError`` naming the file, the old one left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's files are private; results are not
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        full = device_full(e)
        if full is not None and not isinstance(e, NoSpaceError):
            before = "is unchanged" if path.exists() else "was not created"
            raise NoSpaceError(
                full.errno,
                f"no space left on the device to write {path} "
                f"({full.strerror}); {path.name} {before}: free some space, "
                "then run again to continue from what was saved",
            ) from e
        raise


def device_full(error: BaseException | None) -> OSError | None:
    """The full-device ``OSError`` behind ``error``, if any: ``torch.save`` reports a failed
    write as a ``RuntimeError`` whose context is the ``OSError``."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FULL:
            return error
        error = error.__cause__ or error.__context__
    return None


def write_json(path: Path | str, obj: Any) -> None:
    """``obj`` as indented JSON in ``path``, written atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())
