"""SUITE-03: no secret value in any report, log or evidence file.

Two layers. ``redact()`` scrubs every value the run knows to be secret (the target's resolved
secret references, the AWS secret key of the session) and the signature parts of pre-signed
URLs from evidence and messages before anything is written. ``scan()`` then reads every file
the run wrote and reports any secret that still appears: that is the SUITE-03 verdict, so a
leak through a path nobody thought of (a library's error text in cucumber.json, say) is
caught rather than assumed away. ``ConsoleGuard`` does both for what the run prints: stdout and
stderr are redacted as they are written, and each secret met there is a SUITE-03 finding.

The secrets are the values of the target's secret references (resolved once the target is
loaded); a URL field carrying credentials (``user:password@``) is refused when the target is
loaded, so none can enter through one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"

# Query parameters that carry credentials in pre-signed URLs (SigV4 and SigV2).
_SIGNED_PARAMS = re.compile(
    r"(?i)\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId|x-amz-security-token)=[^&\s\"'<>]+"
)
MIN_SECRET_LEN = 6  # shorter values would redact ordinary words; such secrets are refused (SecretRef.resolve)
_MIN_SECRET_LEN = MIN_SECRET_LEN


def known_secrets(target: Any = None, extra: list[str] | None = None) -> list[str]:
    """The secret values of a run: resolved target references (unresolvable ones are skipped)."""
    values: list[str] = []
    if target is not None:
        for ref in target.secret_refs():
            try:
                values.append(ref.resolve())
            except Exception:  # a reference that cannot be read leaks nothing
                continue
    values += [v for v in (extra or []) if v]
    # longest first, so a secret containing another is replaced whole
    return sorted({v for v in values if len(v) >= _MIN_SECRET_LEN}, key=len, reverse=True)


def redact_text(text: str, secrets: list[str]) -> tuple[str, int]:
    count = 0
    for s in secrets:
        if s in text:
            count += text.count(s)
            text = text.replace(s, REDACTED)
    text, n = _SIGNED_PARAMS.subn(lambda m: f"{m.group(1)}={REDACTED}", text)
    return text, count + n


def redact(obj: Any, secrets: list[str]) -> tuple[Any, int]:
    """A copy of obj (JSON-like) with secrets and URL signatures replaced; and how many."""
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    if isinstance(obj, dict):
        total, out = 0, {}
        for k, v in obj.items():
            out[k], n = redact(v, secrets)
            total += n
        return out, total
    if isinstance(obj, (list, tuple)):
        total, items = 0, []
        for v in obj:
            item, n = redact(v, secrets)
            items.append(item)
            total += n
        return items, total
    return obj, 0


def scrub_file(path: Path, secrets: list[str]) -> int:
    """Redact a written report file in place; returns the number of replacements."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return 0
    new, n = redact_text(text, secrets)
    if n:
        path.write_text(new)
    return n


def scan(paths: list[Path], secrets: list[str]) -> list[dict[str, str]]:
    """Every (file, what) where a secret or a URL signature still appears."""
    findings = []
    for path in paths:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        for i, s in enumerate(secrets):
            if s in text:
                findings.append({"resource": str(path), "what": f"secret value #{i + 1} of the target"})
        for m in _SIGNED_PARAMS.finditer(text):
            if REDACTED not in m.group(0):
                findings.append({"resource": str(path), "what": f"pre-signed URL parameter {m.group(1)}"})
    return findings


def redact_verdicts(verdicts: list, secrets: list[str]) -> int:
    """Redact messages and evidence of verdicts in place; returns the number of replacements."""
    total = 0
    for v in verdicts:
        v.message, n = redact_text(v.message, secrets)
        v.evidence, m = redact(v.evidence, secrets)
        total += n + m
    return total


class _RedactingStream:
    """A text stream in front of sys.stdout/sys.stderr: each write is scanned for the run's secrets,
    which are replaced before the text reaches the real stream, and counted (SUITE-03 judges them)."""

    def __init__(self, stream: Any, name: str, secrets: list[str], findings: list[dict[str, str]]):
        self._stream, self._name, self._secrets, self._findings = stream, name, secrets, findings

    def write(self, text: str) -> int:
        if isinstance(text, str) and self._secrets:
            for i, s in enumerate(self._secrets):
                if s in text:
                    self._findings.append({"resource": self._name, "what": f"secret value #{i + 1} of the target"})
            text, _ = redact_text(text, self._secrets)
        return self._stream.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, buffer...
        return getattr(self._stream, name)


class ConsoleGuard:
    """``with ConsoleGuard(secrets) as console:`` -- what the run prints on stdout and stderr (itself,
    and the in-process pytest run) is scanned and redacted; ``console.findings`` lists each secret
    met, by stream. Child processes writing to the file descriptors directly are not seen here:
    asbuilt captures its tools' output (helm, checkov) rather than passing it through."""

    def __init__(self, secrets: list[str]):
        self.secrets = secrets
        self.findings: list[dict[str, str]] = []
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> ConsoleGuard:
        import sys

        global _ACTIVE
        self._saved = (sys.stdout, sys.stderr)
        self.stdout = _RedactingStream(sys.stdout, "stdout", self.secrets, self.findings)
        sys.stdout = self.stdout  # type: ignore[assignment]
        sys.stderr = _RedactingStream(sys.stderr, "stderr", self.secrets, self.findings)  # type: ignore[assignment]
        _ACTIVE = self
        return self

    def __exit__(self, *exc: Any) -> None:
        import sys

        global _ACTIVE
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None
        if _ACTIVE is self:
            _ACTIVE = None


_ACTIVE: ConsoleGuard | None = None


def console_stdout() -> Any:
    """The run's real stdout, through the active ConsoleGuard when there is one: for progress lines
    printed while pytest captures sys.stdout (they would otherwise bypass the scan)."""
    import sys

    if _ACTIVE is not None:
        return _RedactingStream(sys.__stdout__, "stdout", _ACTIVE.secrets, _ACTIVE.findings)
    return sys.__stdout__
