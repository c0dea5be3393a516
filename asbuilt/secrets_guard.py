"""SUITE-03: no secret value in any report, log or evidence file.

Two layers. ``redact()`` scrubs every value the run knows to be secret (the target's resolved
secret references, the AWS secret key of the session) and the signature parts of pre-signed
URLs from evidence and messages before anything is written. ``scan()`` then reads every file
the run wrote and reports any secret that still appears: that is the SUITE-03 verdict, so a
leak through a path nobody thought of (a library's error text in cucumber.json, say) is
caught rather than assumed away.
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
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words; such secrets are refused upstream


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
