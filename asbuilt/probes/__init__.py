"""Probes: read-only collectors of evidence from a live target, each object fetched once per run."""

from __future__ import annotations


class ProbeError(Exception):
    """A probe could not read what it needed (unreachable, unsupported, denied, timed out).

    The controls that needed it end as ``error`` with this one-line message, never as a pass.
    """


class FailureMemo:
    """The calls that failed in this run, by (service, operation, object).

    A silent or refusing endpoint must cost one call's retries per object, not one per scenario
    that asks for it: the next ask for the same call re-raises the same ProbeError (same class,
    same one line) without a new connection. Only ProbeErrors are remembered: answers, and the
    "not found" a caller turns into a fact, are not.
    """

    def __init__(self) -> None:
        import threading

        self._failed: dict[str, ProbeError] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: object) -> str:
        import hashlib
        import json

        def part(value: object) -> str:  # a request body (bytes) by its digest, not its text
            if isinstance(value, (bytes, bytearray)):
                return f"<{len(value)} bytes sha256:{hashlib.sha256(value).hexdigest()}>"
            return repr(value)

        return json.dumps(parts, sort_keys=True, default=part)

    def check(self, key: str) -> None:
        with self._lock:
            exc = self._failed.get(key)
        if exc is not None:
            raise type(exc)(*exc.args)

    def remember(self, key: str, exc: ProbeError) -> None:
        with self._lock:
            self._failed.setdefault(key, exc)

    def call(self, key: str, fn):
        self.check(key)
        try:
            return fn()
        except ProbeError as exc:
            self.remember(key, exc)
            raise

    def __len__(self) -> int:
        return len(self._failed)

    def clear(self) -> None:
        with self._lock:
            self._failed.clear()
