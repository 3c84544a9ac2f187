"""Record the server's outgoing connections in a test, and let none leave the machine."""

from __future__ import annotations

import socket


def record(monkeypatch) -> list[tuple[str, int]]:
    """Record every socket connection attempt as (address, port); refuse, without trying, any but
    127.0.0.1, so that a test that goes wrong still reaches nothing outside."""
    attempts: list[tuple[str, int]] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(tuple(address[:2]))
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(111, "the test lets no connection leave the machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts
