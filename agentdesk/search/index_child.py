"""The search index's writer, run as a process of its own (see ``index_process``).

    python -m agentdesk.search.index_child PATH

Reads frames from stdin and answers on stdout; each frame is a 4-byte
big-endian length and a msgpack array:

- ``["apply", [[seq, text], ...], [customer text, ...]]``: index these store
  batches, each as the JSON text the store wrote (no answer); the customers
  are those of the batches' tasks, for the index to take when it does not
  hold them yet;
- ``["sync", token]``: commit and refresh the documents, then answer
  ``["synced", token, last_seq, problem or None]``;
- ``["close", token]``: close the file, answer ``["closed", token, last_seq,
  problem or None]`` and exit.

Applies that arrive back to back are indexed in one ``apply_many``. After a
failed apply the writer indexes nothing more and every answer carries the
problem: the parent then catches the file up from the store itself.
"""

from __future__ import annotations

import os
import queue
import struct
import sys
import threading
import time
from typing import Any, BinaryIO

import msgspec

from agentdesk.domain import Customer
from agentdesk.store.batch_codec import decode_batch, decode_customer

from .index import SearchIndex

_LENGTH = struct.Struct(">I")
# Batches indexed in one call at most.
MAX_GROUP = 1024
# Below this many batches, the writer waits up to GATHER_SECONDS for more
# before indexing: a bigger group coalesces more (a task written to twice is
# indexed once) and costs fewer statements per batch. A search loses nothing
# by it: its sync arrives in order and has everything before it indexed.
MIN_GROUP = 256
GATHER_SECONDS = 0.05


def read_frame(source: BinaryIO) -> bytes | None:
    """One frame's payload, or None at the end of the stream."""
    head = source.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    payload = source.read(size)
    return payload if len(payload) == size else None


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


class _Writer:
    def __init__(self, index: SearchIndex, out: BinaryIO) -> None:
        self.index = index
        self.out = out
        self.problem: str | None = None

    def apply(self, items: list[Any], customers: dict[str, Customer]) -> None:
        if self.problem is not None or not items:
            return
        try:
            batches = [(int(seq), decode_batch(text)) for seq, text in items]
            self.index.apply_many(batches, customers.get)
        except Exception as exc:
            self.problem = f"indexing batch {items[0][0]} failed: {exc!r}"

    def answer(self, kind: str, token: int) -> None:
        if self.problem is None and kind == "synced":
            try:
                self.index.refresh()
            except Exception as exc:
                self.problem = f"refreshing the index failed: {exc!r}"
        message = [kind, token, self.index.last_seq, self.problem]
        self.out.write(frame(msgspec.msgpack.encode(message)))
        self.out.flush()


def serve(path: str, source: BinaryIO, out: BinaryIO) -> None:
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read() -> None:
        while (payload := read_frame(source)) is not None:
            inbox.put(msgspec.msgpack.decode(payload))
        inbox.put(None)

    threading.Thread(target=read, name="index-input", daemon=True).start()
    writer = _Writer(SearchIndex.open(path), out)
    try:
        while True:
            message = inbox.get()
            pending: list[Any] = []
            customers: dict[str, Customer] = {}
            deadline = time.monotonic() + GATHER_SECONDS
            while message is not None and message[0] == "apply":
                pending.extend(message[1])
                for text in message[2]:
                    customer = decode_customer(text)
                    customers[customer.id] = customer
                if len(pending) >= MAX_GROUP:
                    message = ["idle"]  # the rest stays queued, in order
                    break
                try:
                    if len(pending) >= MIN_GROUP:
                        message = inbox.get_nowait()
                    else:
                        message = inbox.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    message = ["idle"]
            writer.apply(pending, customers)
            if message is None:
                return
            if message[0] == "sync":
                writer.answer("synced", message[1])
            elif message[0] == "close":
                writer.index.close()
                writer.answer("closed", message[1])
                return
    finally:
        writer.index.close()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m agentdesk.search.index_child PATH")
    source, out = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the answers' stream.
    sys.stdout = sys.stderr
    serve(sys.argv[1], source, out)
    os._exit(0)


if __name__ == "__main__":
    main()
