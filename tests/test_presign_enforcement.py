"""Whether what serves a pre-signed URL verifies it (BNDL-02, IAM-06 live): a copy with a tampered
signature and a URL past its expiry must be refused. Refused proves enforcement; accepted is a
finding on AWS, and said but proves nothing on an emulator (moto verifies neither)."""

from __future__ import annotations

import http.server
import threading

import pytest

from asbuilt.probes import ProbeError
from asbuilt.probes import bundle_store as bs
from asbuilt.rules import bundle_roundtrip, iam

URL = ("https://b.s3.amazonaws.com/x.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F"
       "&X-Amz-Date=20261202T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=deadbeef")


def _answer(status: int, by: str = "AWS S3", code: str | None = None) -> dict:
    return {"status": status, "code": code, "message": None, "server": None, "answered_by": by, "problem": None}


REFUSED = {"tampered_signature": _answer(403, code="SignatureDoesNotMatch"),
           "expired": _answer(403, code="AccessDenied"), "custom_endpoint": False}
ACCEPTED_ON_AWS = {"tampered_signature": _answer(200), "expired": _answer(200), "custom_endpoint": False}
ACCEPTED_ON_MOTO = {"tampered_signature": _answer(200, "the endpoint's server (Werkzeug/3.1.9 Python/3.11.7)"),
                    "expired": _answer(200, "the endpoint's server (Werkzeug/3.1.9 Python/3.11.7)"),
                    "custom_endpoint": True}


def test_the_signature_is_tampered_and_nothing_else():
    forged = bs.tamper_signature(URL)
    assert forged != URL and forged.replace("X-Amz-Signature=0eadbeef", "X-Amz-Signature=deadbeef") == URL
    v2 = "https://h/b/k?AWSAccessKeyId=x&Signature=0X8%2BEn60%3D&Expires=1"
    assert "Signature=1X8%2BEn60%3D" in bs.tamper_signature(v2)
    with pytest.raises(ProbeError, match="not a pre-signed URL"):
        bs.tamper_signature("https://b.s3.amazonaws.com/x.zip")


def test_when_a_url_expires_is_read_from_it():
    assert bs.signed_until(URL) == 1796169600 + 3600  # 2026-12-02T00:00:00Z + X-Amz-Expires
    assert bs.signed_until("https://b.s3.amazonaws.com/x.zip?Signature=x&Expires=1") is None


def _iam06(refusals):
    item = {"resource": "helm release conncentric/conncentric revision 3: installer.customBundleUrls[0]",
            **iam.describe_url(URL), "refusals": refusals}
    return iam.presigned_url_expiry([item], 604800)


def test_iam_06_refused_is_evidence_accepted_on_aws_fails_accepted_on_an_emulator_is_said():
    v = _iam06(REFUSED)
    assert v.status == "pass" and "tampered signature is refused (HTTP 403 SignatureDoesNotMatch, AWS S3)" in v.message
    v = _iam06(ACCEPTED_ON_AWS)
    assert v.status == "fail", v.message
    assert "installer.customBundleUrls[0]" in v.message and "expiry is not enforced" in v.message
    assert "serve bundles straight from S3" in v.message  # the fix
    v = _iam06(ACCEPTED_ON_MOTO)
    assert v.status == "pass" and "enforcement is not proven here" in v.message and "Werkzeug" in v.message
    # no answer at all (TLS, a refused connection) is never a refusal
    v = _iam06({"tampered_signature": {**_answer(403), "status": None, "problem": "timed out"}, "expired": None,
                "custom_endpoint": False})
    assert v.status == "pass" and "timed out" in v.message and "not proven" in v.message


def _trip(refusals):
    return {"resource": "s3://b/asbuilt-selftest/x/custom-bundle.zip", "versioning": "Enabled",
            "uploads": [{"version_id": "v1", "sha256": "1" * 64}, {"version_id": "v2", "sha256": "2" * 64}],
            "versions_listed": 2, "previous_download_sha256": "1" * 64, "s3_download_sha256": "2" * 64,
            "presigned": {"expires_seconds": 3600, "signature_version": "v4", "download_sha256": "2" * 64,
                          "refusals": refusals}}


def test_bndl_02_says_who_refused_and_fails_only_a_real_acceptance():
    v = bundle_roundtrip.round_trip(_trip({**REFUSED, "tampered_signature": _answer(403, "LocalStack", "X"),
                                           "expired": _answer(403, "LocalStack", "AccessDenied")}), 604800)
    assert v.status == "pass"
    assert "past its expiry is refused (HTTP 403 AccessDenied, LocalStack)" in v.message
    v = bundle_roundtrip.round_trip(_trip(ACCEPTED_ON_AWS), 604800)
    assert v.status == "fail" and [f.resource for f in v.findings] == ["s3://b/asbuilt-selftest/x/custom-bundle.zip"] * 2
    assert "past its expiry was accepted" in v.message and "serve bundles straight from S3" in v.message
    assert bundle_roundtrip.round_trip(_trip(ACCEPTED_ON_MOTO), 604800).status == "pass"


class _S3Like(http.server.BaseHTTPRequestHandler):
    """A 403 the way S3 writes it: the body echoes the string to sign and the signature provided."""

    server_version, sys_version = "AmazonS3", ""  # the Server header http.server sends

    def do_GET(self):  # noqa: N802 (http.server's name)
        if "X-Amz-Signature=0" in self.path:
            body = (b"<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature "
                    b"we calculated does not match the signature you provided.</Message><StringToSign>AWS4-HMAC"
                    b"</StringToSign><SignatureProvided>0eadbeef</SignatureProvided></Error>")
            self.send_response(403)
        else:
            body = b"z"
            self.send_response(206)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def s3_like():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _S3Like)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_answers_keep_only_status_code_and_message(s3_like):
    url = f"{s3_like}/b/x.zip?X-Amz-Expires=60&X-Amz-Signature=deadbeef"
    got = bs.refusals(url, 5, ["127.0.0.0/8"], expired_url=url, expires_at=0)
    tampered = got["tampered_signature"]
    assert tampered["status"] == 403 and tampered["code"] == "SignatureDoesNotMatch"
    assert tampered["answered_by"] == "AWS S3"
    assert "0eadbeef" not in str(got) and "StringToSign" not in str(got)
    assert got["expired"]["status"] == 206  # this server does not check expiry: a finding on AWS
    assert _iam06({**got, "expired": None}).status == "pass"  # the live IAM-06 step asks the tampered copy only
    assert _iam06(got).status == "fail"
    assert bundle_roundtrip.round_trip(_trip(got), 604800).status == "fail"


def test_the_network_guard_applies_to_the_forged_copy_too():
    """A URL outside allowed_networks is asked nothing, and that is said: it proves nothing either way."""
    got = bs.refusals("http://10.60.0.2/b/x.zip?X-Amz-Signature=ab", 2, ["127.0.0.0/8"])
    assert got["tampered_signature"]["status"] is None and "10.60.0.2" in got["tampered_signature"]["problem"]
    v = _iam06(got)
    assert v.status == "pass" and "enforcement not proven" in v.message, v.message
    unsigned = bs.refusals("http://127.0.0.1:9/b/x.zip?X-Amz-Expires=60", 2, ["127.0.0.0/8"])
    assert "not a pre-signed URL" in unsigned["tampered_signature"]["problem"]
