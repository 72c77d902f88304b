"""One process at a time: an exclusive ``flock`` on the store's ``LOCK`` file.

The lock goes away with the process, however it ends, so a crash never
leaves a store locked. The file holds the pid of the holder, to name it when
another process is refused, and the sequence number of the last change the
holder acknowledged: the next holder compares it with what the database file
holds, which tells a write-ahead log deleted by hand (acknowledged changes
lost) from one SQLite removed after folding it into the file.
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

    def __init__(self, fd: int, path: Path, acknowledged: int) -> None:
        self._fd: int | None = fd
        self.path = path
        #: The last sequence number the previous holder acknowledged (0 if none).
        self.acknowledged = acknowledged
        self._recorded = acknowledged

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
        acknowledged = _read_seq(fd)
        lock = cls(fd, path, acknowledged)
        lock.record(acknowledged)
        return lock

    def record(self, seq: int) -> None:
        """Note that changes up to ``seq`` are acknowledged (not synced: this
        guards against a log deleted by hand, which the page cache survives)."""
        if self._fd is not None:
            self._recorded = seq
            line = f"{os.getpid()} {seq}\n".encode().ljust(40)
            os.pwrite(self._fd, line, 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):  # the lock goes away with the descriptor anyway
            os.pwrite(fd, f"- {self._recorded}\n".encode().ljust(40), 0)
        os.close(fd)


def _fields(fd: int) -> list[str]:
    try:
        return os.pread(fd, 64, 0).decode("ascii", "replace").split()
    except OSError:
        return []


def _read_pid(fd: int) -> int | None:
    fields = _fields(fd)
    return int(fields[0]) if fields and fields[0].isdigit() else None


def _read_seq(fd: int) -> int:
    fields = _fields(fd)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
