"""The error a parser raises for one bad record (the runner decides: skip or abort)."""

from __future__ import annotations


class BadRecord(Exception):
    """A record that cannot be parsed; ``position`` is a line number or item locator."""

    def __init__(self, position: str, reason: str) -> None:
        super().__init__(f"{position}: {reason}")
        self.position = position
        self.reason = reason
