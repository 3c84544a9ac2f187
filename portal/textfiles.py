"""Text out of a data file's bytes: UTF-8 (with or without a byte-order mark), or GB18030 when the
file's start is not UTF-8 (files saved by Chinese office software). Read as a stream, never whole."""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

SNIFF_BYTES = 64 * 1024  # how much of the start decides the encoding


def decoded(stream: BinaryIO, *, sniff: int = SNIFF_BYTES) -> io.TextIOWrapper:
    """Return `stream` as text, for the csv module (newline=""); undecodable bytes become U+FFFD and NUL
    bytes are dropped (PostgreSQL's text holds none, so a cell with one would fail a whole load there;
    neither UTF-8 nor GB18030 uses the byte inside another character)."""
    head = stream.read(sniff)
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(head) < sniff)
    except UnicodeDecodeError:
        encoding = "gb18030"
    joined = io.BufferedReader(_Prefixed(head, stream))
    return io.TextIOWrapper(joined, encoding=encoding, errors="replace", newline="")


class _Prefixed(io.RawIOBase):
    """A stream that yields `head` and then the rest of `stream`, without NUL bytes."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head, self.stream = head.replace(b"\0", b""), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        while data := self.stream.read(len(buffer)):
            data = data.replace(b"\0", b"")
            if data:  # a read of nothing but NULs is not the end of the stream
                buffer[: len(data)] = data
                return len(data)
        return 0
