"""Bundles in the bundle bucket: read the release's bundle, and the ``@mutating`` round trip.

Reads go through the target's AWS probe (so they are counted and bounded): ``GetObject`` of the
object a bundle URL names, ``ListObjectVersions`` of one key. The round trip (BNDL-02, and the
fresh bundle of BNDL-03 / INST-03) writes only under ``asbuilt-selftest/<run id>/`` and deletes
every version it wrote (``delete_prefix``), whatever the outcome.

Bundle URLs are understood in the three forms S3 uses: virtual-hosted
(``https://<bucket>.s3[.<region>].amazonaws.com/<key>``), path-style
(``https://s3[.<region>].amazonaws.com/<bucket>/<key>``) and path-style on a custom endpoint
(the sandbox's ``https://127.0.0.1:<port>/<bucket>/<key>``); a query string (a pre-signature)
is ignored.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from asbuilt.probes import ProbeError

SELFTEST_PREFIX = "asbuilt-selftest/"
ITEM_PREFIX = "asbuilt-selftest-"
_VHOST = re.compile(r"^(?P<bucket>.+)\.s3([.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com(\.cn)?$")
_PATH_HOST = re.compile(r"^s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_bundle_url(url: str) -> tuple[str, str] | None:
    """(bucket, key) named by a bundle URL, or None when it names no S3 object."""
    parts = urlsplit(str(url))
    host = (parts.hostname or "").lower()
    path = unquote(parts.path or "")
    m = _VHOST.match(host)
    if m and not _PATH_HOST.match(host):
        key = path.lstrip("/")
        return (m.group("bucket"), key) if key else None
    segs = path.lstrip("/").split("/", 1)
    if len(segs) == 2 and segs[0] and segs[1]:
        return segs[0], segs[1]
    return None


def _read_bounded(fh, max_bytes: int, what: str) -> bytes:
    buf = io.BytesIO()
    while chunk := fh.read(1 << 16):
        buf.write(chunk)
        if buf.tell() > max_bytes:
            raise ProbeError(f"{what}: more than {max_bytes} bytes (the BNDL-01 bound)")
    return buf.getvalue()


def _checked_opener(url: str, allowed_networks: list[str] | None, cafile: str | None = None):
    """An opener for one URL: TLS verified (against ``cafile`` when given, else the system's CAs),
    no proxy, the URL and every redirect checked first."""
    from asbuilt.netguard import NetGuard, safe_url

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"not an http(s) URL: {safe_url(url)}")
    if "@" in parts.netloc:
        raise ProbeError(f"refusing to GET {safe_url(url)}: the URL carries credentials (user:password@)")
    guard = NetGuard(allowed_networks)
    guard.check_url(url, "GET from")

    class Redirects(urllib.request.HTTPRedirectHandler):
        """Each redirect is checked like the first URL, before it is followed."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if "@" in (urlsplit(newurl).netloc or ""):
                raise ProbeError(f"refusing the redirect of {safe_url(url)} to a URL with credentials")
            guard.check_url(newurl, "follow a redirect to")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), Redirects(),
                                       urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))


def http_get(url: str, max_bytes: int, timeout: float, allowed_networks: list[str] | None = None,
             cafile: str | None = None) -> bytes:
    """GET a (pre-signed) URL with TLS verification, no proxy, a byte bound and a time bound."""
    from asbuilt.probes.installer_logs import redact

    opener = _checked_opener(url, allowed_networks, cafile)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "asbuilt"}), timeout=timeout) as resp:
            return _read_bounded(resp, max_bytes, redact(url))
    except urllib.error.HTTPError as exc:
        raise ProbeError(f"GET {redact(url)}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProbeError(f"GET {redact(url)}: {' '.join(str(reason).split())[:160]}") from None


# --------------------------------------------------------------------------- pre-signed URL refusals

_ERROR_CODE = re.compile(rb"<Code>([A-Za-z]+)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]{0,200})</Message>")


def http_answer(url: str, timeout: float, allowed_networks: list[str] | None = None,
                cafile: str | None = None) -> dict:
    """Who answers a GET of ``url`` and how, reading at most the first byte of an object
    (``Range: bytes=0-0``) and 4 KB of an error. Only the error's Code and Message are kept: an S3
    SignatureDoesNotMatch body also echoes the string to sign and the signature provided.
    -> {"status": int | None, "code", "message", "server", "answered_by", "problem"}"""
    try:  # a URL the network guard refuses is asked nothing: said, never an exception of the control
        opener = _checked_opener(url, allowed_networks, cafile)
    except (ProbeError, OSError, ssl.SSLError) as exc:
        return {"status": None, "code": None, "message": None, "server": None, "answered_by": None,
                "problem": " ".join(str(exc).split())[:160]}
    req = urllib.request.Request(url, headers={"User-Agent": "asbuilt", "Range": "bytes=0-0"})
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(1)
            status, headers, body = resp.status, resp.headers, b""
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers, exc.read(4096) if exc.fp else b""
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"status": None, "code": None, "message": None, "server": None, "answered_by": None,
                "problem": " ".join(str(reason).split())[:160]}
    code = _ERROR_CODE.search(body or b"")
    message = _ERROR_MESSAGE.search(body or b"")
    server = (headers.get("Server") or "").strip() or None
    if str(headers.get("x-localstack", "")).lower() == "true":
        answered_by = "LocalStack"
    elif server == "AmazonS3":
        answered_by = "AWS S3"
    else:
        answered_by = f"the endpoint's server ({server})" if server else "an endpoint that gives no Server header"
    return {"status": status, "code": code.group(1).decode() if code else None,
            "message": message.group(1).decode(errors="replace").strip() if message else None,
            "server": server, "answered_by": answered_by, "problem": None}


_SIGNATURE_PARAM = re.compile(r"([?&](?:X-Amz-Signature|Signature)=)([0-9A-Za-z])", re.IGNORECASE)


def tamper_signature(url: str) -> str:
    """The same pre-signed URL with the first character of its signature changed (SigV4
    ``X-Amz-Signature`` or SigV2 ``Signature``): what a forged or edited URL looks like."""
    if not _SIGNATURE_PARAM.search(url):
        raise ProbeError("not a pre-signed URL: no X-Amz-Signature or Signature parameter")
    return _SIGNATURE_PARAM.sub(lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1"), url, count=1)


def signed_until(url: str) -> float | None:
    """When a SigV4 pre-signed URL expires (X-Amz-Date + X-Amz-Expires, epoch seconds), or None."""
    from datetime import datetime, timezone
    from urllib.parse import parse_qs

    q = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        signed = datetime.strptime(q["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return signed.timestamp() + int(q["x-amz-expires"])
    except (KeyError, ValueError):
        return None


def refusals(url: str, timeout: float, allowed_networks: list[str] | None, expired_url: str | None = None,
             expires_at: float | None = None, custom_endpoint: bool = False, cafile: str | None = None) -> dict:
    """Whether whatever serves a pre-signed URL verifies it: the URL with a tampered signature, and
    (when given) a URL of the same object signed to expire at ``expires_at``, asked once that has
    passed. ``custom_endpoint``: the target's S3 is an emulator or another non-AWS endpoint, where an
    accepted forged URL says nothing about AWS (moto verifies neither; LocalStack only with
    S3_SKIP_SIGNATURE_VALIDATION=0).
    -> {"tampered_signature": http_answer, "expired": http_answer | None, "custom_endpoint": bool}"""
    import time

    try:
        tampered = http_answer(tamper_signature(url), timeout, allowed_networks, cafile)
    except ProbeError as exc:  # pre-signed by X-Amz-Credential/Expires alone: no signature to tamper with
        tampered = {"status": None, "code": None, "message": None, "server": None, "answered_by": None,
                    "problem": str(exc)}
    out = {"tampered_signature": tampered, "expired": None, "custom_endpoint": bool(custom_endpoint)}
    if expired_url is not None:
        wait = (expires_at or time.time()) + 1.5 - time.time()  # S3 compares whole seconds
        if wait > 0:
            time.sleep(min(wait, 10.0))
        out["expired"] = http_answer(expired_url, timeout, allowed_networks, cafile)
    return out


class BundleStore:
    def __init__(self, aws, bucket: str, max_bytes: int = 512 * 1024 * 1024):
        self.aws = aws
        self.bucket = bucket
        self.max_bytes = max_bytes

    @property
    def s3(self):
        return self.aws.client("s3")

    def get(self, key: str, version_id: str | None = None) -> bytes:
        kw = {"Bucket": self.bucket, "Key": key}
        if version_id:
            kw["VersionId"] = version_id
        body = self.aws.call("s3", "get_object", **kw)["Body"]
        try:
            return _read_bounded(body, self.max_bytes, f"s3://{self.bucket}/{key}")
        finally:
            body.close()

    def put(self, key: str, data: bytes) -> str | None:
        if not key.startswith(SELFTEST_PREFIX):
            raise ProbeError(f"refusing to write s3://{self.bucket}/{key}: outside {SELFTEST_PREFIX}")
        res = self.aws.call("s3", "put_object", Bucket=self.bucket, Key=key, Body=data,
                            ContentType="application/zip")
        return res.get("VersionId")

    def versioning(self) -> str | None:
        return self.aws.call("s3", "get_bucket_versioning", Bucket=self.bucket).get("Status")

    def versions(self, key: str) -> list[dict]:
        res = self.aws.call("s3", "list_object_versions", Bucket=self.bucket, Prefix=key)
        return [{"version_id": v.get("VersionId"), "latest": v.get("IsLatest"), "size": v.get("Size")}
                for v in res.get("Versions", []) if v.get("Key") == key]

    def presign(self, key: str, expires: int) -> str:
        """A SigV4 pre-signed GET (X-Amz-Expires), whatever the client's default signer is."""
        from botocore.config import Config

        if getattr(self, "_signer", None) is None:
            section = self.aws.section
            endpoint = section.service_endpoints.get("s3") or section.endpoint_url
            self._signer = self.aws.session.client("s3", endpoint_url=endpoint,
                                                   config=self.aws.config.merge(Config(signature_version="s3v4")))
        return self._signer.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=int(expires))

    def delete_prefix(self, prefix: str) -> list[str]:
        """Delete every version and delete marker under a selftest prefix; returns what was deleted."""
        if not prefix.startswith(SELFTEST_PREFIX):
            raise ProbeError(f"refusing to delete under {prefix!r}: outside {SELFTEST_PREFIX}")
        res = self.aws.call("s3", "list_object_versions", Bucket=self.bucket, Prefix=prefix)
        gone = []
        entries = [(v["Key"], v.get("VersionId")) for v in res.get("Versions", []) + res.get("DeleteMarkers", [])]
        for key, vid in entries:
            kw = {"Bucket": self.bucket, "Key": key}
            if vid and vid != "null":
                kw["VersionId"] = vid
            self.aws.call("s3", "delete_object", **kw)
            gone.append(f"{key}@{vid}")
        if not entries:  # an unversioned bucket lists nothing for some endpoints: delete by key
            for obj in self.aws.call("s3", "list_objects_v2", Bucket=self.bucket, Prefix=prefix).get("Contents", []):
                self.aws.call("s3", "delete_object", Bucket=self.bucket, Key=obj["Key"])
                gone.append(obj["Key"])
        return gone


def fetch_release_bundle(url: str, aws, allowed_networks: list[str], max_bytes: int, timeout: float) -> dict:
    """The bytes of a release's bundle: S3 GetObject of the object the URL names, else the URL itself.
    -> {"data", "via", "object"}"""
    from asbuilt.probes.installer_logs import redact

    obj = parse_bundle_url(url)
    problems = []
    if obj is not None and aws is not None:
        try:
            data = BundleStore(aws, obj[0], max_bytes).get(obj[1])
            return {"data": data, "via": "s3:GetObject", "object": f"s3://{obj[0]}/{obj[1]}"}
        except ProbeError as exc:
            problems.append(str(exc))
    try:
        cafile = getattr(getattr(aws, "section", None), "ca_bundle", None)
        data = http_get(url, max_bytes, timeout, allowed_networks, str(cafile) if cafile else None)
        return {"data": data, "via": "https GET of the URL", "object": redact(url)}
    except ProbeError as exc:
        problems.append(str(exc))
    raise ProbeError(f"cannot read the bundle {redact(url)}: " + "; ".join(problems))


# --------------------------------------------------------------------------- selftest bundles


def tiny_jar(title: str) -> bytes:
    buf = io.BytesIO()
    info = zipfile.ZipInfo("META-INF/MANIFEST.MF", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, f"Manifest-Version: 1.0\r\nCreated-By: asbuilt\r\nImplementation-Title: {title}\r\n\r\n")
    return buf.getvalue()


def build_zip(files: dict[str, bytes]) -> tuple[bytes, list[dict]]:
    """A bundle from {"manifests/x.json": bytes, ...} with asbuilt.bundle.build; (zip bytes, entries)."""
    from asbuilt import bundle

    with tempfile.TemporaryDirectory(prefix="asbuilt-selftest-") as tmp:
        src = Path(tmp) / "src"
        for name, data in files.items():
            path = src / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for folder in ("manifests", "plugins", "artifacts"):
            (src / folder).mkdir(parents=True, exist_ok=True)
        out = Path(tmp) / "bundle.zip"
        result = bundle.build(src, out)
        return out.read_bytes(), [e.as_dict() for e in result.entries if e.kind != "directory"]


def unique_bundle(run_id: str | None = None) -> tuple[bytes, list[dict], str]:
    """A bundle whose every item is new (names under asbuilt-selftest-): one manifest, plugin, artifact."""
    run_id = run_id or secrets.token_hex(6)
    nonce = secrets.token_hex(16)
    manifest = {"name": f"{ITEM_PREFIX}bndl-{run_id}", "type": "asbuilt-selftest", "version": "1.0.0",
                "config": {"nonce": nonce, "purpose": "asbuilt BNDL-02/BNDL-03 round trip; safe to delete"}}
    files = {
        f"manifests/{ITEM_PREFIX}bndl-{run_id}.json": json.dumps(manifest, indent=2).encode(),
        f"plugins/{ITEM_PREFIX}{run_id}.jar": tiny_jar(f"{ITEM_PREFIX}{run_id} {nonce}"),
        f"artifacts/{ITEM_PREFIX}{run_id}.txt": f"asbuilt selftest artifact {nonce}\n".encode(),
    }
    data, entries = build_zip(files)
    return data, entries, run_id


def bundle_files(data: bytes) -> dict[str, bytes]:
    """The files of a bundle (verified and extracted with asbuilt.bundle)."""
    from asbuilt import bundle

    with tempfile.TemporaryDirectory(prefix="asbuilt-bundle-") as tmp:
        zpath = Path(tmp) / "in.zip"
        zpath.write_bytes(data)
        try:
            entries = bundle.extract(zpath, Path(tmp) / "x")
        except bundle.BundleError as exc:
            raise ProbeError(f"the bundle is not valid: {exc}") from None
        out = {e.name: (Path(tmp) / "x" / e.name).read_bytes() for e in entries if e.kind != "directory"}
        shutil.rmtree(Path(tmp) / "x", ignore_errors=True)
    return out


def bundle_entries(data: bytes) -> list[dict]:
    from asbuilt import bundle

    with tempfile.TemporaryDirectory(prefix="asbuilt-bundle-") as tmp:
        zpath = Path(tmp) / "in.zip"
        zpath.write_bytes(data)
        try:
            return [e.as_dict() for e in bundle.inspect(zpath) if e.kind != "directory"]
        except bundle.BundleError as exc:
            raise ProbeError(f"the bundle is not valid: {exc}") from None
