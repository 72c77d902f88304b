"""The journal: every committed batch, one JSON line each, appended and synced.

A record is ``{"seq":N,"crc":C,"batch":{...}}`` on one line, where ``C`` is
the CRC-32 of the batch text exactly as written. The journal is split into
segments ``journal-NNNNNN.jsonl``; a checkpoint starts a new segment and
deletes the older ones.

Only the end of the journal can be damaged by a crash (records are appended
and synced before they are acknowledged), so a bad record at the very end is
a write that was never acknowledged: it is dropped and cut off. A bad record
followed by good ones is damage of another kind and is refused unless the
caller asks to salvage what comes before it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .durable import fsync_dir
from .errors import StoreError

# Queued appends written at once, even before a sync, beyond this many bytes.
_MAX_UNWRITTEN = 4 << 20
SEGMENT_PATTERN = re.compile(r"^journal-(\d{6})\.jsonl$")
_RECORD = re.compile(rb'^\{"seq":(\d+),"crc":(\d+),"batch":(.*)\}$', re.DOTALL)


class JournalCorrupt(StoreError):
    """The journal is damaged before its end."""


class JournalFile(Protocol):
    """The few file operations the journal needs; a seam for tests."""

    def write(self, data: bytes) -> None: ...
    def sync(self) -> None: ...
    def size(self) -> int: ...
    def truncate(self, size: int) -> None: ...
    def close(self) -> None: ...


class OsJournalFile:
    """A journal segment opened for appending, written with os calls."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


Opener = Callable[[Path], JournalFile]


def encode_record(seq: int, body: bytes) -> bytes:
    return b'{"seq":%d,"crc":%d,"batch":%s}\n' % (seq, zlib.crc32(body), body)


@dataclass(slots=True)
class Record:
    seq: int
    body: bytes


@dataclass(slots=True)
class _Scan:
    records: list[tuple[Path, int, Record]]  # segment, end offset, record
    bad: tuple[Path, int, str] | None  # segment, offset, reason of the first bad line


def segment_name(number: int) -> str:
    return f"journal-{number:06d}.jsonl"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for entry in directory.iterdir():
        match = SEGMENT_PATTERN.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found)


def _parse(line: bytes) -> Record | str:
    if not line.endswith(b"\n"):
        return "incomplete last line"
    match = _RECORD.match(line[:-1])
    if match is None:
        return "not a journal record"
    body = match.group(3)
    if zlib.crc32(body) != int(match.group(2)):
        return "checksum mismatch"
    return Record(int(match.group(1)), body)


def _last_line(path: Path) -> bytes:
    """The last line of a file (read from its end, without reading the rest)."""
    with open(path, "rb") as source:
        size = source.seek(0, os.SEEK_END)
        chunk = 1 << 16
        while True:
            start = max(0, size - chunk)
            source.seek(start)
            tail = source.read(size - start)
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0 or start == 0:
                return tail[cut + 1 :]
            chunk *= 4


def _scan(segments: list[tuple[int, Path]], skip_through: int = 0) -> _Scan:
    records: list[tuple[Path, int, Record]] = []
    bad: tuple[Path, int, str] | None = None
    for position, (_, path) in enumerate(segments):
        if bad is None and position < len(segments) - 1 and path.stat().st_size:
            last = _parse(_last_line(path))
            if isinstance(last, Record) and last.seq <= skip_through:
                continue  # a segment the checkpoint already holds entirely
        offset = 0
        with open(path, "rb") as source:
            for line in source:
                parsed = _parse(line)
                end = offset + len(line)
                if isinstance(parsed, str):
                    if bad is None:
                        bad = (path, offset, parsed)
                elif bad is None:
                    records.append((path, end, parsed))
                else:
                    raise JournalCorrupt(
                        f"the journal is damaged in {path.name} before its end "
                        f"({bad[2]} in {bad[0].name} at byte {bad[1]}); open it with "
                        "salvage to keep the changes before the damage and drop the rest"
                    )
                offset = end
    return _Scan(records, bad)


class Journal:
    """The journal segments of one store directory; appends go to the newest."""

    def __init__(self, directory: Path, opener: Opener = OsJournalFile) -> None:
        self.directory = directory
        self._opener = opener
        self._file: JournalFile | None = None
        self.segment = 0
        self.bytes_written = 0
        self.records_written = 0
        self.warnings: list[str] = []
        # Set when a failed write could not be undone: appending more would
        # put good records after a damaged one.
        self.broken = False
        # Appends so far, and how many of them are known durable: an append
        # without sync leaves the second behind the first.
        self._appended = 0
        self._durable = 0
        # Held while the file is written or synced (by ``sync_detached`` outside
        # the writer role): writes keep their order, and a segment is not
        # closed under a sync in progress.
        self._sync_lock = threading.Lock()
        # Appends without sync wait here, in order, until the next sync writes
        # them (see ``append``); the lock guards the list and ``_appended``.
        self._unwritten: list[bytes] = []
        self._unwritten_bytes = 0
        self._buffer_lock = threading.Lock()

    def recover(self, *, skip_through: int = 0, salvage: bool = False) -> Iterator[Record]:
        """Read every good record, cut off a damaged end, and open for appending.

        Returns the records in order; segments whose records are all at or
        below ``skip_through`` (held by the checkpoint) may be left unread.
        """
        segments = list_segments(self.directory)
        salvaged = False
        try:
            scan = _scan(segments, skip_through)
        except JournalCorrupt:
            if not salvage:
                raise
            scan = _scan_salvaging(segments)
            salvaged = True
        if scan.bad is not None:
            path, offset, reason = scan.bad
            where = f"{reason} in {path.name} at byte {offset}"
            self.warnings.append(
                f"salvaged the journal: kept the changes before the damage ({where}) and "
                "dropped the rest"
                if salvaged
                else f"dropped the damaged end of the journal ({where}); it held a change "
                "that was never acknowledged"
            )
            self._cut(segments, path, offset)
            segments = list_segments(self.directory)
        self.segment = segments[-1][0] if segments else 1
        self._file = self._open_segment(self.segment)
        self.bytes_written = self._file.size() if self._file else 0
        return iter([record for _, _, record in scan.records])

    def _cut(self, segments: list[tuple[int, Path]], path: Path, offset: int) -> None:
        after = False
        for _, segment in segments:
            if after:
                segment.unlink()
            elif segment == path:
                with open(segment, "r+b") as damaged:
                    damaged.truncate(offset)
                    damaged.flush()
                    os.fsync(damaged.fileno())
                after = True

    def _open_segment(self, number: int) -> JournalFile:
        path = self.directory / segment_name(number)
        created = not path.exists()
        opened = self._opener(path)
        if created:
            # The records synced into a new file are only safe once its name is.
            try:
                fsync_dir(self.directory)
            except OSError:
                opened.close()
                raise
        return opened

    def append(self, records: list[bytes], *, sync: bool = True) -> None:
        """Append ``records``; with ``sync``, write and sync them (and any
        appended before) before returning, and on failure nothing of them stays.

        Without ``sync`` they are only queued, in order: the next sync writes
        them to the file and syncs it, outside the caller's thread when that is
        ``sync_detached``. A write is then never on the committing thread's
        path, where a disk busy with a sync can hold it for milliseconds. What
        is queued is not acknowledged, so a crash loses nothing promised.
        """
        assert self._file is not None
        data = b"".join(records)
        if not sync:
            with self._buffer_lock:
                self._unwritten.append(data)
                self._unwritten_bytes += len(data)
                self._appended += 1
                pending = self._unwritten_bytes
            self.bytes_written += len(data)
            self.records_written += len(records)
            if pending >= _MAX_UNWRITTEN:
                with self._sync_lock:
                    self._write_unwritten()
            return
        with self._sync_lock:
            self._write_unwritten()
            before = self.bytes_written  # the segment's size, kept without asking the disk
            try:
                self._file.write(data)
                self._file.sync()
            except OSError as exc:
                self._undo(before)
                if exc.errno == errno.ENOSPC:
                    raise StoreError(
                        "the disk is full: this change was NOT saved; free some space and try again"
                    ) from exc
                raise StoreError(
                    f"could not write the journal, this change was NOT saved: {exc}"
                ) from exc
            with self._buffer_lock:
                self._appended += 1
                self._durable = self._appended
        self.bytes_written += len(data)
        self.records_written += len(records)

    def _write_unwritten(self) -> int:
        """(Holding ``_sync_lock``) write the queued appends; return how many
        appends the file then holds. A failure breaks the journal: those
        appends are applied in memory already."""
        with self._buffer_lock:
            chunks, self._unwritten, self._unwritten_bytes = self._unwritten, [], 0
            upto = self._appended
        if chunks and self._file is not None:
            try:
                self._file.write(b"".join(chunks))
            except OSError as exc:
                self.broken = True
                raise StoreError(
                    f"could not write the journal: {exc}; changes not yet acknowledged "
                    "are lost; reopen the store"
                ) from exc
        return upto

    def sync(self) -> None:
        """Sync what ``append(..., sync=False)`` queued."""
        detached = self.detach_sync()
        if detached is not None:
            self.sync_detached(*detached)

    def detach_sync(self) -> tuple[JournalFile, int] | None:
        """(As the writer) what ``sync_detached`` needs to make the appends so far
        durable, or None when they are. Appends may go on meanwhile."""
        if self._durable >= self._appended or self._file is None:
            return None
        return self._file, self._appended

    def sync_detached(self, file: JournalFile, upto: int) -> None:
        """Make the first ``upto`` appends durable by writing what is queued and
        syncing ``file`` (both from ``detach_sync``), without the writer role.

        Syncs run one at a time; one that finds its appends made durable by
        another meanwhile returns at once. A file no longer appended to was
        closed by a checkpoint, which holds its records.
        """
        with self._sync_lock:
            if self._durable >= upto:
                return
            covered = upto
            if file is self._file:
                # The sync covers every append queued before it starts, not only
                # the caller's: the callers queued behind it then return at once.
                covered = max(upto, self._write_unwritten())
                try:
                    file.sync()
                except OSError as exc:
                    self.broken = True
                    raise StoreError(
                        f"could not sync the journal: {exc}; reopen the store"
                    ) from exc
            self._durable = max(self._durable, covered)

    def flush(self) -> None:
        """Write what is queued (not synced): for readers of the files."""
        with self._sync_lock:
            self._write_unwritten()

    def _undo(self, size: int) -> None:
        assert self._file is not None
        try:
            self._file.truncate(size)
        except OSError as exc:
            self.broken = True
            raise StoreError(
                f"could not write the journal and could not undo the partial write ({exc}); "
                "close agentdesk and open the store again"
            ) from exc

    def start_segment(self) -> list[Path]:
        """Switch appends to a new segment; return the older segments (to delete).

        If the new segment cannot be created, appends go on in the current one.
        """
        old = [path for number, path in list_segments(self.directory) if number <= self.segment]
        previous = self._file
        opened = self._open_segment(self.segment + 1)
        with self._sync_lock:
            # What is queued belongs to the segment it was appended to.
            self._write_unwritten()
            self._file = opened
            self.segment += 1
            if previous is not None:
                previous.close()
        self.bytes_written = 0
        self.records_written = 0
        return old

    def read_after(self, seq: int) -> Iterator[Record]:
        """Records with a sequence number above ``seq``, from the files on disk.

        Raises FileNotFoundError if a checkpoint deletes a segment meanwhile.
        """
        self.flush()
        for _, path in list_segments(self.directory):
            with open(path, "rb") as source:
                for line in source:
                    parsed = _parse(line)
                    if isinstance(parsed, str):
                        return
                    if parsed.seq > seq:
                        yield parsed

    def close(self) -> None:
        with self._sync_lock:
            if self._file is not None:
                with contextlib.suppress(StoreError):
                    self._write_unwritten()  # a close without sync syncs nothing
                self._file.close()
                self._file = None


def _scan_salvaging(segments: list[tuple[int, Path]]) -> _Scan:
    """Keep the good records before the first damage; treat the rest as the end."""
    records: list[tuple[Path, int, Record]] = []
    for _, path in segments:
        offset = 0
        with open(path, "rb") as source:
            for line in source:
                parsed = _parse(line)
                if isinstance(parsed, str):
                    return _Scan(records, (path, offset, parsed))
                offset += len(line)
                records.append((path, offset, parsed))
    return _Scan(records, None)
