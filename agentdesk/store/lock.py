"""One process at a time: an exclusive ``flock`` on the store's ``LOCK`` file.

The lock goes away with the process, however it ends, so a crash never
leaves a store locked. The file holds the pid of the holder, to name it when
another process is refused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from .errors import StoreLocked, StoreReadOnly

LOCK_NAME = "LOCK"


class StoreLock:
    """The held lock of one store directory; ``release`` is idempotent."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, directory: Path) -> StoreLock:
        path = directory / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise StoreReadOnly(
                    f"cannot write to the store at {directory} ({exc.strerror}); agentdesk needs "
                    "write access to its store directory: fix its permissions or choose "
                    "another data directory"
                ) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise StoreLocked(
                f"the store at {directory} is already open in {who}; close that agentdesk "
                "first, or connect to it as a hub instead of opening the store twice"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):  # the lock goes away with the descriptor anyway
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
