"""The reference installer: the platform's two-pass installer, as the sandbox runs it.

It implements the contract of the seed's chapter 4 ("The Two-Pass Installer Applies It"):

1. Pass 1 (Essentials) applies the base distribution: a fixed set of adapter configurations and
   pipeline definitions that ship with it.
2. Pass 2 (Custom Bundle) downloads each ``customBundleUrls`` entry, verifies it (BNDL-01, with
   ``asbuilt.bundle``), extracts it to a temporary directory and applies manifests
   (adapter configurations, or pipeline definitions by the manifest's ``type``), plugins
   (plugin records: name, size, SHA-256) and artifacts (their bytes) on top of the base.

Idempotent: an unchanged item (same name, same SHA-256) is not written at all, a changed one is
updated in place (same id, version + 1, updated_at now), a new one is inserted. State lives in
PostgreSQL (``asbuilt_sandbox/platform_schema.sql``).

It prints the seed's log lines, and nothing else, on stdout -- and, given a log group, ships
them to CloudWatch Logs (``put_log_events``)::

    Pass 1: Applying Conncentric Essentials...
    Pass 1: Complete.
    Pass 2: Downloading Custom Bundle from <url without its query string>...
    Pass 2: Applying Custom Bundle...
    Pass 2: Complete.
    Installer finished successfully.

The URL is printed without query string, fragment or user info: a pre-signed URL's signature
is a secret (SUITE-03). On failure it prints ``Pass N: Failed: <reason>`` (or ``Installer
failed: <reason>``), no success line, and exits 1.

Network safety: bundle URLs, redirects, the database host and the AWS endpoint must be
loopback, ``localhost`` or the sandbox's networks (198.18.0.0/15: the sandbox's 198.18.0.0/16 and
the /30s of LocalStack's namespaces in 198.19.0.0/16) unless ``--allow-any-host``.

Faulty modes, for the mutation tests of INST-01..03 and BNDL-03:
  ``not-idempotent``   every run bumps version and updated_at of every item it applies;
  ``skip-pass-2``      pass 2 never runs, yet "Installer finished successfully." is printed;
  ``ignore-modified``  pass 2 inserts new manifests but leaves modified ones as they were.

Run: ``python -m asbuilt_sandbox.installer --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import http
import ipaddress
import json
import os
import socket
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from asbuilt import bundle

FAULTS = ("not-idempotent", "skip-pass-2", "ignore-modified")
TABLES = ("adapter_configurations", "pipeline_definitions", "plugin_records", "artifacts")
MANIFEST_TABLES = ("adapter_configurations", "pipeline_definitions")
SANDBOX_NET = ipaddress.ip_network("198.18.0.0/15")  # the sandbox's namespaces, LocalStack's included
DEFAULT_TIMEOUT = 120.0
USER_AGENT = "asbuilt-reference-installer"

LINE_PASS1_START = "Pass 1: Applying Conncentric Essentials..."
LINE_PASS1_DONE = "Pass 1: Complete."
LINE_PASS2_DOWNLOAD = "Pass 2: Downloading Custom Bundle from {url}..."
LINE_PASS2_APPLY = "Pass 2: Applying Custom Bundle..."
LINE_PASS2_DONE = "Pass 2: Complete."
LINE_FINISHED = "Installer finished successfully."


class InstallerError(Exception):
    """A step failed; the message is one line and holds no secret."""


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class Item:
    table: str
    name: str
    content: Any   # a dict (jsonb tables) or bytes (artifacts)
    sha256: str


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _json_item(table: str, doc: dict) -> Item:
    return Item(table, doc["name"], doc, hashlib.sha256(_canonical(doc)).hexdigest())


ESSENTIALS_VERSION = "1.0.0"


def essentials() -> list[Item]:
    """The base distribution applied by pass 1 (fixed: the same items, the same bytes, each run)."""
    adapters = [
        {"name": "essentials-kafka-bridge", "type": "kafka-bridge", "version": ESSENTIALS_VERSION,
         "config": {"bootstrapServersEnv": "KAFKA_BOOTSTRAP_SERVERS", "inputTopic": "conncentric.inbound",
                    "outputTopic": "conncentric.outbound"}},
        {"name": "essentials-rest-gateway", "type": "rest-gateway", "version": ESSENTIALS_VERSION,
         "config": {"port": 8080, "basePath": "/api"}},
        {"name": "essentials-audit-log", "type": "kafka-sink", "version": ESSENTIALS_VERSION,
         "config": {"topic": "conncentric.audit", "format": "json"}},
    ]
    pipelines = [
        {"name": "essentials-default-pipeline", "type": "pipeline", "version": ESSENTIALS_VERSION,
         "steps": ["essentials-rest-gateway", "essentials-kafka-bridge"]},
        {"name": "essentials-dead-letter", "type": "pipeline", "version": ESSENTIALS_VERSION,
         "steps": ["essentials-kafka-bridge"], "onError": "conncentric.dead-letter"},
    ]
    return ([_json_item("adapter_configurations", d) for d in adapters]
            + [_json_item("pipeline_definitions", d) for d in pipelines])


def bundle_items(root: Path, entries: list[bundle.Entry]) -> list[Item]:
    """What pass 2 applies from an extracted bundle (entries as returned by bundle.extract)."""
    items = []
    for e in entries:
        if e.kind == "directory":
            continue
        data = (root / e.name).read_bytes()
        if hashlib.sha256(data).hexdigest() != e.sha256:
            raise InstallerError(f"{e.name}: changed on disk after extraction")
        if e.kind == "manifest":
            content: Any = json.loads(data.decode("utf-8-sig"))
        elif e.kind == "plugin":
            content = {"file": e.name, "size": e.size, "sha256": e.sha256, "jarManifest": bool(e.jar_manifest)}
        else:
            content = data
        items.append(Item(e.table, e.item_name, content, e.sha256))
    return items


# --------------------------------------------------------------------------- database


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def upsert(conn, items: list[Item], fault: str | None = None, manifests_ignore_modified: bool = False) -> Counts:
    """Apply items idempotently inside the caller's transaction.

    Unchanged (same sha256): no statement touches the row. Changed: UPDATE in place (the
    table's trigger sets updated_at), version + 1. New: INSERT. ``fault="not-idempotent"``
    updates every existing item; ``manifests_ignore_modified`` leaves changed manifests alone."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    counts = Counts()
    for item in items:
        if item.table not in TABLES:
            raise InstallerError(f"unknown table {item.table!r}")
        table = sql.Identifier(item.table)
        content = item.content if item.table == "artifacts" else Jsonb(item.content)
        row = conn.execute(sql.SQL("SELECT sha256 FROM {} WHERE name = %s").format(table), (item.name,)).fetchone()
        if row is None:
            conn.execute(sql.SQL("INSERT INTO {} (name, content, sha256) VALUES (%s, %s, %s)").format(table),
                         (item.name, content, item.sha256))
            counts.created += 1
            continue
        changed = row[0] != item.sha256
        if fault == "not-idempotent":
            changed = True
        if changed and manifests_ignore_modified and item.table in MANIFEST_TABLES:
            changed = False
        if not changed:
            counts.unchanged += 1
            continue
        conn.execute(sql.SQL("UPDATE {} SET content = %s, sha256 = %s, version = version + 1, updated_at = now() "
                             "WHERE name = %s").format(table), (content, item.sha256, item.name))
        counts.updated += 1
    return counts


# --------------------------------------------------------------------------- network safety, URLs


def host_allowed(host: str | None) -> bool:
    """Loopback, localhost or the sandbox's networks (198.18.0.0/15)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip in SANDBOX_NET


def redact_url(url: str) -> str:
    """The URL without query string, fragment and user info (a pre-signed URL's signature, a
    password): what may appear in a log."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_url(url: str, allow_any_host: bool = False) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise InstallerError(f"not a valid URL: {redact_url(url)}") from None
    if parts.scheme not in ("http", "https"):
        raise InstallerError(f"unsupported URL scheme {parts.scheme!r} in {redact_url(url)} (http or https only)")
    if not host:
        raise InstallerError(f"no host in URL {redact_url(url)}")
    if not allow_any_host and not host_allowed(host):
        raise InstallerError(f"refusing to connect to {host}: not loopback or the sandbox network "
                             "(pass --allow-any-host to lift this)")


def _scrub(text: str, url: str) -> str:
    """Remove a URL's secret parts from a message."""
    parts = urllib.parse.urlsplit(url)
    for secret in (url, parts.query, parts.fragment, parts.password or ""):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return " ".join(text.split())


class _CheckedRedirect(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_any_host: bool):
        self.allow_any_host = allow_any_host

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl, self.allow_any_host)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, dest: Path, *, max_bytes: int, timeout: float = DEFAULT_TIMEOUT,
             allow_any_host: bool = False, cafile: str | None = None) -> str:
    """Stream ``url`` to ``dest`` (at most max_bytes, within timeout); returns the SHA-256."""
    check_url(url, allow_any_host)
    ctx = ssl.create_default_context(cafile=cafile)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _CheckedRedirect(allow_any_host),
                                         urllib.request.HTTPSHandler(context=ctx))
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    deadline = time.monotonic() + timeout
    digest = hashlib.sha256()
    total = 0
    try:
        with opener.open(request, timeout=min(timeout, 30.0)) as resp, open(dest, "wb") as out:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise InstallerError(f"download refused: {length} bytes, more than the bound of {max_bytes}")
            while chunk := resp.read(64 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise InstallerError(f"download stopped: more than the bound of {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise InstallerError(f"download timed out after {timeout:.0f}s")
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        try:
            phrase = http.HTTPStatus(exc.code).phrase
        except ValueError:
            phrase = str(exc.reason)
        raise InstallerError(_scrub(f"download failed: HTTP {exc.code} {phrase}", url)) from None
    except urllib.error.URLError as exc:
        raise InstallerError(_scrub(f"download failed: {exc.reason}", url)) from None
    except (socket.timeout, TimeoutError):
        raise InstallerError(f"download failed: no answer within {min(timeout, 30.0):.0f}s") from None
    except (OSError, ValueError) as exc:
        raise InstallerError(_scrub(f"download failed: {exc}", url)) from None
    return digest.hexdigest()


# --------------------------------------------------------------------------- logging


class CloudWatchSink:
    """Ships each line to a CloudWatch Logs stream (created if missing; the group must exist)."""

    def __init__(self, group: str, stream: str, endpoint: str | None, region: str | None,
                 warn: Callable[[str], None]):
        import boto3
        from botocore.config import Config

        self.group, self.stream, self.warn = group, stream, warn
        self.last_ts = 0
        self.broken = False
        self.client = boto3.client("logs", endpoint_url=endpoint, region_name=region,
                                   config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3}))
        try:
            self.client.create_log_stream(logGroupName=group, logStreamName=stream)
        except self.client.exceptions.ResourceAlreadyExistsException:
            pass
        except Exception as exc:  # botocore errors of every kind: logging must not stop the install
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if not self.broken:
            self.warn(f"installer: warning: cannot ship logs to CloudWatch Logs group {self.group!r}: "
                      f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        self.broken = True

    def put(self, line: str) -> None:
        if self.broken:
            return
        ts = max(int(time.time() * 1000), self.last_ts + 1)
        self.last_ts = ts
        try:
            self.client.put_log_events(logGroupName=self.group, logStreamName=self.stream,
                                       logEvents=[{"timestamp": ts, "message": line}])
        except Exception as exc:  # noqa: BLE001 -- see above
            self._fail(exc)


class Log:
    """The installer's log: stdout (what ``kubectl logs`` shows) and optionally CloudWatch Logs."""

    def __init__(self, out=None, sink: CloudWatchSink | None = None):
        self.out = out or sys.stdout
        self.sink = sink
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        print(line, file=self.out, flush=True)
        if self.sink:
            self.sink.put(line)


# --------------------------------------------------------------------------- the run


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _serialise(conn) -> None:
    """Two installers at once (two Job pods) apply one after the other, not interleaved."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('conncentric-installer'))")


def run(connect: Callable[[], Any], bundle_urls: list[str], log: Log, *, fault: str | None = None,
        allow_any_host: bool = False, limits: bundle.Limits | None = None, timeout: float = DEFAULT_TIMEOUT,
        cafile: str | None = None, detail: Callable[[str], None] | None = None) -> int:
    """The two passes. ``connect()`` returns a psycopg connection. Returns the exit code."""
    import psycopg

    if fault is not None and fault not in FAULTS:
        raise InstallerError(f"unknown fault {fault!r} (one of {', '.join(FAULTS)})")
    limits = limits or bundle.Limits()
    detail = detail or (lambda _msg: None)
    for url in bundle_urls:
        check_url(url, allow_any_host)
    try:
        conn = connect()
    except psycopg.Error as exc:
        log(f"Installer failed: cannot connect to PostgreSQL: {_one_line(exc)}")
        return 1
    with conn:
        conn.autocommit = True
        try:  # every statement bounded: nothing hangs on a lock
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{int(timeout * 1000)}",))
        except psycopg.Error as exc:
            log(f"Installer failed: {_one_line(exc)}")
            return 1
        log(LINE_PASS1_START)
        try:
            with conn.transaction():
                _serialise(conn)
                counts = upsert(conn, essentials(), fault)
        except (psycopg.Error, InstallerError) as exc:
            log(f"Pass 1: Failed: {_one_line(exc)}")
            return 1
        detail(f"installer: pass 1: {counts}")
        log(LINE_PASS1_DONE)

        if fault != "skip-pass-2":
            if not bundle_urls:
                log("Pass 2: Skipped: no custom bundle URLs configured.")
            for url in bundle_urls:
                log(LINE_PASS2_DOWNLOAD.format(url=redact_url(url)))
                with tempfile.TemporaryDirectory(prefix="asbuilt-installer-") as tmp:
                    zip_path = Path(tmp) / "bundle.zip"
                    try:
                        sha = download(url, zip_path, max_bytes=limits.max_zip_bytes, timeout=timeout,
                                       allow_any_host=allow_any_host, cafile=cafile)
                    except InstallerError as exc:
                        log(f"Pass 2: Failed: {_one_line(exc)}")
                        return 1
                    detail(f"installer: pass 2: downloaded {zip_path.stat().st_size} bytes, sha256 {sha}")
                    log(LINE_PASS2_APPLY)
                    try:
                        root = Path(tmp) / "bundle"
                        entries = bundle.extract(zip_path, root, limits)
                        items = bundle_items(root, entries)
                        with conn.transaction():
                            _serialise(conn)
                            counts = upsert(conn, items, fault, manifests_ignore_modified=fault == "ignore-modified")
                    except bundle.BundleError as exc:
                        log(f"Pass 2: Failed: {_one_line(exc)}")
                        return 1
                    except (psycopg.Error, InstallerError, OSError, ValueError) as exc:
                        log(f"Pass 2: Failed: {_one_line(exc)}")
                        return 1
                    detail(f"installer: pass 2: {counts}")
            if bundle_urls:
                log(LINE_PASS2_DONE)
        log(LINE_FINISHED)
    return 0


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"installer: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m asbuilt_sandbox.installer",
                description="The reference two-pass installer (asbuilt sandbox).")
    db = p.add_argument_group("database (a DSN file, or the separate options)")
    db.add_argument("--dsn-file", type=Path, help="file holding a libpq connection string or URI (may hold the password)")
    db.add_argument("--pg-host")
    db.add_argument("--pg-port", type=int, default=5432)
    db.add_argument("--pg-db", default="conncentric")
    db.add_argument("--pg-user", default="conncentric")
    db.add_argument("--pg-password-file", type=Path)
    db.add_argument("--pg-sslrootcert", type=Path)
    db.add_argument("--pg-sslmode", choices=["disable", "prefer", "require", "verify-ca", "verify-full"],
                    help="default: verify-full with --pg-sslrootcert, else prefer")
    p.add_argument("--bundle-url", action="append", default=[], dest="bundle_urls", metavar="URL",
                   help="a customBundleUrls entry (repeatable)")
    p.add_argument("--bundle-cafile", help="CA bundle for https bundle URLs")
    p.add_argument("--log-group", help="also ship the log lines to this CloudWatch Logs group")
    p.add_argument("--log-stream", default="installer")
    p.add_argument("--aws-endpoint", help="AWS endpoint URL (the sandbox's moto server)")
    p.add_argument("--aws-region", default=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1")
    p.add_argument("--fault", choices=FAULTS, help="a deliberately faulty mode, for mutation tests")
    p.add_argument("--allow-any-host", action="store_true",
                   help="allow hosts outside loopback and the sandbox networks (198.18.0.0/15)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="bound of each download, seconds")
    p.add_argument("--profile", default="conncentric-aws", help="profile whose BNDL-01 thresholds bound a bundle")
    p.add_argument("--verbose", action="store_true", help="counts per pass on stderr")
    return p


def _read_secret(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InstallerError(f"cannot read the {what} {path}: {exc.strerror}") from None


def conninfo_from_args(args: argparse.Namespace) -> dict:
    import psycopg.conninfo

    if args.dsn_file and args.pg_host:
        raise InstallerError("give --dsn-file or --pg-host, not both")
    if args.dsn_file:
        try:
            params = psycopg.conninfo.conninfo_to_dict(_read_secret(args.dsn_file, "DSN file"))
        except psycopg.ProgrammingError:
            raise InstallerError(f"{args.dsn_file}: not a valid connection string") from None
    elif args.pg_host:
        params = {"host": args.pg_host, "port": args.pg_port, "dbname": args.pg_db, "user": args.pg_user}
        if args.pg_password_file:
            params["password"] = _read_secret(args.pg_password_file, "password file")
        if args.pg_sslrootcert:
            if not args.pg_sslrootcert.is_file():
                raise InstallerError(f"{args.pg_sslrootcert}: no such CA file")
            params["sslrootcert"] = str(args.pg_sslrootcert)
        params["sslmode"] = args.pg_sslmode or ("verify-full" if args.pg_sslrootcert else "prefer")
    else:
        raise InstallerError("no database: give --dsn-file or --pg-host")
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", USER_AGENT)
    return params


def _check_db_hosts(params: dict, allow_any_host: bool) -> None:
    if allow_any_host:
        return
    hosts = [h for h in str(params.get("hostaddr") or params.get("host") or "").split(",") if h]
    for h in hosts:
        if not h.startswith("/") and not host_allowed(h):
            raise InstallerError(f"refusing to connect to database host {h}: not loopback or the sandbox network "
                                 "(pass --allow-any-host to lift this)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        params = conninfo_from_args(args)
        _check_db_hosts(params, args.allow_any_host)
        for url in args.bundle_urls:
            check_url(url, args.allow_any_host)
        if args.aws_endpoint:
            check_url(args.aws_endpoint, args.allow_any_host)
        limits = bundle.Limits.from_profile(args.profile)
    except InstallerError as exc:
        print(f"installer: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a profile that does not load, etc.
        print(f"installer: error: {_one_line(exc)}", file=sys.stderr)
        return 2

    def warn(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    sink = None
    if args.log_group:
        sink = CloudWatchSink(args.log_group, args.log_stream, args.aws_endpoint, args.aws_region, warn)
    log = Log(sys.stdout, sink)

    def connect():
        import psycopg

        return psycopg.connect(**params)

    try:
        return run(connect, args.bundle_urls, log, fault=args.fault, allow_any_host=args.allow_any_host,
                   limits=limits, timeout=args.timeout, cafile=args.bundle_cafile,
                   detail=warn if args.verbose else None)
    except InstallerError as exc:
        log(f"Installer failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("Installer failed: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
