"""Fuzzing the loaders a user feeds (target, profile, waivers, results) and `bundle verify` with
hypothesis, through the CLI entry point (asbuilt.cli.main, in process: what `asbuilt` runs).

For every generated input: no traceback and no internal error, a bounded time per example
(hypothesis ``deadline``), exit 2 for bad input (1 for an invalid bundle; 0 when the input
happens to be valid), and the secret-shaped values planted in the input never appear in what
asbuilt prints.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asbuilt.cli import main

SETTINGS = settings(max_examples=150, deadline=timedelta(seconds=5), derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Secret-shaped values: AWS-like secret keys / passwords (with characters no identifier has).
SECRET = st.builds(lambda a, b: f"{a}+{b}/=", st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
                                                        min_size=12, max_size=20),
                   st.text("0123456789abcdef", min_size=6, max_size=10))

SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                   st.text(max_size=30), st.sampled_from(["~/x", "/dev/zero", "127.0.0.1/8", "notacidr", "PASS",
                                                          "must", "live", "HA-01", "2027-01-31", "{env: X}"]))
KEYS = st.sampled_from(["name", "aws", "region", "endpoint_url", "credentials", "secret_access_key", "file", "env",
                        "timeouts", "max_attempts", "static", "terraform", "allowed_networks", "kubernetes",
                        "kubeconfig", "postgres", "password", "host", "waivers", "control", "reason", "approver",
                        "expires", "resources", "extends", "thresholds", "HA-03", "run", "controls", "status",
                        "source", "severity", "message", "evidence", "id", "profile", "started", "finished",
                        "suite_version", "target"])


def _tree(secret: str):
    leaf = st.one_of(SCALAR, st.just(secret))
    return st.recursive(leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(KEYS, kids, max_size=5)), max_leaves=25)


def _call(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


def _check(code: int, text: str, secret: str, allowed: tuple[int, ...] = (2,)) -> None:
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert code in allowed, (code, text[-2000:])
    assert secret not in text, text[-2000:]


def _document(data, raw: bytes | None, as_json: bool) -> bytes:
    if raw is not None:
        return raw
    if as_json:
        return json.dumps(data).encode()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_fuzz_target_loader(work, data):
    secret = data.draw(SECRET)
    body = data.draw(st.dictionaries(KEYS, _tree(secret), max_size=6))
    body.setdefault("name", "fuzz")
    # Always a literal secret in a secret field: the target is refused before any probe exists, so
    # no generated target can ever connect anywhere.
    aws = body["aws"] if isinstance(body.get("aws"), dict) else {"region": "us-east-1"}
    aws["endpoint_url"] = "http://127.0.0.1:1"
    aws["credentials"] = {"secret_access_key": secret}
    body["aws"] = aws
    raw = data.draw(st.one_of(st.none(), st.binary(max_size=200)))
    path = work / "target.yaml"
    path.write_bytes(_document(body, raw, False))
    code, text = _call("run", "--target", str(path), "--live-only", "--report-dir", str(work / "r-target"),
                       "--timeout", "1")
    _check(code, text, secret, (2,))


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_fuzz_profile_loader(work, data):
    secret = data.draw(SECRET)
    body = data.draw(st.dictionaries(KEYS, _tree(secret), max_size=6))
    body.setdefault("name", "p")
    body.setdefault("extends", data.draw(st.sampled_from(["conncentric-aws", "nope", 3])))
    body.setdefault("thresholds", data.draw(st.dictionaries(st.sampled_from(["HA-03", "XX-99", "VER-01"]),
                                                            st.dictionaries(st.sampled_from(["min_azs", "x"]),
                                                                            st.one_of(SCALAR, st.just(secret)),
                                                                            max_size=2), max_size=2)))
    raw = data.draw(st.one_of(st.none(), st.none(), st.binary(max_size=200)))
    path = work / "profile.yaml"
    path.write_bytes(_document(body, raw, False))
    code, text = _call("controls", "--profile", str(path), "--format", "json")
    # a valid profile lists the controls (0); it never prints a planted value either way
    _check(code, text if code else "", secret, (0, 2))


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_fuzz_waiver_loader(work, data):
    secret = data.draw(SECRET)
    waiver = data.draw(st.dictionaries(KEYS, _tree(secret), max_size=6))
    waiver.setdefault("approver", secret)  # approver / reason are shown in reports, never in errors
    body = {"waivers": data.draw(st.lists(st.just(waiver) | _tree(secret), min_size=0, max_size=3))}
    raw = data.draw(st.one_of(st.none(), st.none(), st.binary(max_size=200)))
    path = work / "waivers.yaml"
    path.write_bytes(_document(body, raw, False))
    target = work / "t.yaml"
    target.write_text("name: t\nstatic:\n  terraform: [does-not-exist]\n")
    code, text = _call("run", "--target", str(target), "--waivers", str(path), "--static-only",
                       "--report-dir", str(work / "r-waivers"))
    # a valid waiver file gets as far as the missing static path (still exit 2, one line)
    _check(code, text, secret, (2,))


def _results_doc(data, secret):
    from tests.test_report_html import doc_of

    doc = doc_of()
    choice = data.draw(st.integers(0, 4))
    if choice == 0:
        doc = data.draw(_tree(secret))
    elif choice == 1:
        c = doc["controls"][data.draw(st.integers(0, len(doc["controls"]) - 1))]
        c[data.draw(KEYS)] = data.draw(_tree(secret))
        c["status"] = data.draw(st.one_of(st.sampled_from(["PASS", "totally-made-up", "", None, 1]), st.text(max_size=8)))
    elif choice == 2:
        doc["run"] = data.draw(st.dictionaries(KEYS, _tree(secret), max_size=4))
    elif choice == 3:
        doc["controls"] = data.draw(st.lists(st.dictionaries(KEYS, _tree(secret), max_size=6), min_size=1, max_size=3))
    else:
        c = doc["controls"][0]
        c["source"] = data.draw(st.sampled_from(["LIVE", "sandbox", "", secret]))
    return doc


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_fuzz_results_loader(work, data):
    secret = data.draw(SECRET)
    doc = _results_doc(data, secret)
    raw = data.draw(st.one_of(st.none(), st.none(), st.none(), st.binary(max_size=200)))
    path = work / "results.json"
    path.write_bytes(_document(doc, raw, True))
    html = work / "report.html"
    code, text = _call("report", str(path), "--html", str(html))
    if code == 0:  # the generated document fits the contract after all: nothing to refuse
        return
    _check(code, text, secret, (2,))
    code, text = _call("drift", "--baseline", str(path), "--current", str(path))
    _check(code, text, secret, (2,))


def _good_bundle(work: Path) -> bytes:
    from tests.test_bundle import reference_source
    from asbuilt import bundle

    out = work / "good.zip"
    if not out.exists():
        bundle.build(reference_source(work / "bundle-src"), out)
    return out.read_bytes()


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_fuzz_bundle_verify(work, data):
    secret = data.draw(SECRET)
    buf = io.BytesIO(_good_bundle(work))
    with zipfile.ZipFile(buf, "a") as zf:  # the secret as the content of an entry, never its name
        zf.writestr(zipfile.ZipInfo("artifacts/credentials.txt"), secret.encode())
    blob = bytearray(buf.getvalue())
    for _ in range(data.draw(st.integers(0, 6))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        if data.draw(st.booleans()):
            blob[pos] = data.draw(st.integers(0, 255))
        else:
            del blob[pos:pos + data.draw(st.integers(1, 64))]
    check_secret = True
    path = work / "fuzz.zip"
    path.write_bytes(bytes(blob))
    code, text = _call("bundle", "verify", str(path))
    _check(code, text, secret if check_secret else "\x00never\x00", (0, 1))
