"""The live PostgreSQL server reader (CDK-DB-01/02): connect as the deployment connects and fill
``asbuilt.model.postgres.DatabaseServer``.

The connection settings are the deployment's own (host, port, database, user as the Console's
Deployment states them); the password is a reference from the target file, never read from the
cluster. Every address is checked against ``allowed_networks`` before the first packet.

What it proves:

* ``version`` / ``engine``: ``SHOW server_version`` and ``version()`` over a TLS session
  (``verify-full`` with the CA the target names, else ``require``).
* ``session_ssl``: ``pg_stat_ssl.ssl`` for that very session (the server's view, not the client's).
* ``non_tls_refused``: a second attempt with ``sslmode=disable`` and **no password** (so nothing
  secret crosses an unencrypted link, whatever authentication method the server would ask for).
  The server answering "no pg_hba.conf entry ... no encryption" is a refusal (True); the server
  going on to authentication ("password authentication failed", "no password supplied") or letting
  the session in means it accepts non-TLS connections for that user (False); anything else
  (a timeout, a network error) leaves it Unknown.
* ``streaming_replicas``: the rows of ``pg_stat_replication`` (visible to any role; their details
  are not needed). ``backup_evidence`` and the RDS fields come from the caller (the target names
  the evidence or the RDS instance; see ``from_rds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asbuilt.model.facts import Unknown
from asbuilt.model.postgres import DatabaseServer
from asbuilt.probes import ProbeError
from asbuilt.probes.platform_db import checked_hosts


@dataclass
class ConnectionSettings:
    host: str | Unknown
    port: int | Unknown
    dbname: str | Unknown
    user: str | Unknown
    password: Any = None              # a SecretRef (``.resolve()``), never a literal from the cluster
    sslrootcert: Path | None = None
    settings_from: str = ""           # "Deployment conduktor/conduktor-console env CDK_DATABASE_URL"
    connect_timeout: int = 10


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:240]


def _params(s: ConnectionSettings, allowed_networks: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"host": s.host, "port": int(s.port), "dbname": s.dbname, "user": s.user,
                              "connect_timeout": s.connect_timeout, "application_name": "asbuilt"}
    params.update(checked_hosts(str(s.host), int(s.port), allowed_networks))
    return params


def _refusal_kind(message: str) -> bool | None:
    text = message.lower()
    if "no pg_hba.conf entry" in text and ("no encryption" in text or "ssl off" in text):
        return True
    if "pg_hba.conf rejects connection" in text and ("no encryption" in text or "ssl off" in text):
        return True
    if any(m in text for m in ("password authentication failed", "no password supplied",
                               "fe_sendauth", "authentication failed for user", "password is required")):
        return False
    return None


def read_server(settings: ConnectionSettings, allowed_networks: list[str] | None = None,
                backup_evidence: str | Unknown | None = None) -> DatabaseServer:
    """Connect with ``settings`` and read what CDK-DB-01/02 judge. Never raises for the server's
    answers: what could not be read is Unknown with the reason."""
    import psycopg

    allowed = list(allowed_networks or [])
    missing = [n for n in ("host", "port", "dbname", "user") if isinstance(getattr(settings, n), Unknown)
               or getattr(settings, n) in (None, "")]
    resource = f"postgresql://{settings.host}:{settings.port}/{settings.dbname} as {settings.user}"
    server = DatabaseServer(resource=resource, engine=Unknown("not read"), version=Unknown("not read"),
                            session_ssl=Unknown("not read"), non_tls_refused=Unknown("not read"),
                            streaming_replicas=Unknown("not read"), backup_evidence=backup_evidence,
                            where=resource, settings_from=settings.settings_from)
    if missing:
        why = Unknown(f"the deployment does not state the database {', '.join(missing)}", where=settings.settings_from)
        server.engine = server.version = server.session_ssl = server.non_tls_refused = why
        server.streaming_replicas = why
        return server
    try:
        base = _params(settings, allowed)
    except ProbeError as exc:
        why = Unknown(str(exc), where=resource)
        server.engine = server.version = server.session_ssl = server.non_tls_refused = why
        server.streaming_replicas = why
        return server

    # 1. the TLS session, as the Console would hold it
    tls = dict(base, sslmode="verify-full" if settings.sslrootcert else "require")
    if settings.sslrootcert:
        tls["sslrootcert"] = str(settings.sslrootcert)
    if settings.password is not None:
        tls["password"] = settings.password.resolve()
    try:
        with psycopg.connect(options="-c statement_timeout=10000 -c default_transaction_read_only=on", **tls) as conn:
            conn.autocommit = True
            version = conn.execute("SHOW server_version").fetchone()[0]
            banner = conn.execute("SELECT version()").fetchone()[0]
            row = conn.execute("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
            replicas = conn.execute("SELECT count(*) FROM pg_stat_replication").fetchone()[0]
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        server.version = str(version).split()[0]
        server.engine = "postgres" if str(banner).startswith("PostgreSQL") else Unknown(
            f"version() does not name PostgreSQL: {str(banner)[:60]}", where=resource)
        server.session_ssl = bool(row[0]) if row else Unknown("pg_stat_ssl has no row for this session", where=resource)
        server.streaming_replicas = int(replicas)
        server.context.update(tls_version=row[1] if row else None, cipher=row[2] if row else None,
                              in_recovery=bool(in_recovery), sslmode=tls["sslmode"])
    except psycopg.Error as exc:
        why = Unknown(f"postgres: cannot connect with TLS: {_one_line(exc)}", where=resource)
        server.engine = server.version = server.session_ssl = why
        server.streaming_replicas = why

    # 2. the same user without TLS and without a password: does the server refuse it outright?
    plain = dict(base, sslmode="disable", passfile="/nonexistent/asbuilt-no-passfile")
    try:
        conn = psycopg.connect(**plain)
    except psycopg.Error as exc:
        message = _one_line(exc)
        kind = _refusal_kind(message)
        server.non_tls_evidence = message
        server.non_tls_refused = kind if kind is not None else Unknown(
            f"the non-TLS attempt ended without the server's verdict: {message}", where=resource)
    else:
        conn.close()
        server.non_tls_refused = False
        server.non_tls_evidence = "a connection without TLS (and without a password) was accepted"
    return server


def from_rds(server: DatabaseServer, instance: dict | None, reason: str = "") -> DatabaseServer:
    """Fill the RDS fields from DescribeDBInstances' instance (or Unknown with ``reason``)."""
    if instance is None:
        why = Unknown(reason or "the RDS instance could not be read")
        server.multi_az = why
        server.backup_retention_days = why
        return server
    server.rds_instance = instance.get("DBInstanceArn") or instance.get("DBInstanceIdentifier")
    multi = instance.get("MultiAZ")
    server.multi_az = bool(multi) if multi is not None else Unknown("DescribeDBInstances gives no MultiAZ",
                                                                    where=str(server.rds_instance))
    days = instance.get("BackupRetentionPeriod")
    server.backup_retention_days = int(days) if days is not None else Unknown(
        "DescribeDBInstances gives no BackupRetentionPeriod", where=str(server.rds_instance))
    return server


# --------------------------------------------------------------- the Console's own settings

CONSOLE_IMAGE = "conduktor/conduktor-console"
DB_KEYS = ("CDK_DATABASE_URL", "CDK_DATABASE_HOSTS_0_HOST", "CDK_DATABASE_HOSTS_0_PORT", "CDK_DATABASE_HOST",
           "CDK_DATABASE_PORT", "CDK_DATABASE_NAME", "CDK_DATABASE_USERNAME")


def _repository(image: str) -> str:
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: len(ref) - len(last)] + last.split(":", 1)[0]
    return ref


def is_console_image(image: str) -> bool:
    """``conduktor/conduktor-console`` with or without a registry prefix (not the Cortex image)."""
    repo = _repository(image or "")
    return repo == CONSOLE_IMAGE or repo.endswith("/" + CONSOLE_IMAGE)


def _parse_url(url: str) -> dict[str, Any]:
    """``[jdbc:]postgresql://[user[:password]@]host[:port]/db[?...]`` -> host, port, dbname, user
    (a password in the URL is dropped here, never kept)."""
    from urllib.parse import parse_qs, urlsplit

    text = url[5:] if url.startswith("jdbc:") else url
    parts = urlsplit(text)
    if parts.scheme not in ("postgresql", "postgres"):
        return {}
    out: dict[str, Any] = {"host": parts.hostname, "port": parts.port or 5432,
                           "dbname": (parts.path or "/").lstrip("/") or None}
    if parts.username:
        out["user"] = parts.username
    query = parse_qs(parts.query)
    if query.get("user"):
        out["user"] = query["user"][0]
    if query.get("sslmode"):
        out["sslmode"] = query["sslmode"][0]
    out["password_in_url"] = parts.password is not None or bool(query.get("password"))
    return out


def console_database_settings(kube, namespace: str) -> tuple[dict[str, Any], list[str]]:
    """What the Console's Deployment tells its container about its database: {host, port, dbname,
    user, sslmode?} (values or Unknown) and where each came from. Reads the Deployment, the
    ConfigMaps it references and, from the Secrets it references, only the database keys other
    than the password (``DB_KEYS``); the password is never read from the cluster."""
    from kubernetes.client.exceptions import ApiException

    deployments = [d for d in kube.deployments(namespace)
                   if any(is_console_image(c.get("image", "")) for c in
                          ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", []))]
    if not deployments:
        raise ProbeError(f"no Deployment in namespace {namespace} runs the {CONSOLE_IMAGE} image")
    dep = deployments[0]
    name = dep["metadata"]["name"]
    container = next(c for c in dep["spec"]["template"]["spec"]["containers"] if is_console_image(c.get("image", "")))
    configmaps = {c["metadata"]["name"]: c.get("data") or {} for c in kube.configmaps(namespace)}
    secrets_read: dict[str, dict] = {}

    def secret_keys(secret: str) -> dict:
        if secret not in secrets_read:
            try:
                body = kube._call("get", f"secret {namespace}/{secret}", kube.core.read_namespaced_secret,
                                  secret, namespace)
            except ApiException:
                body = {}
            data = body.get("data") or {}
            import base64

            secrets_read[secret] = {k: base64.b64decode(v).decode(errors="replace")
                                    for k, v in data.items() if k in DB_KEYS}
            secrets_read[secret]["__keys__"] = sorted(data)
        return secrets_read[secret]

    found: dict[str, tuple[str, str]] = {}   # key -> (value, where)
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if src.get("configMapRef"):
            cm = src["configMapRef"].get("name")
            for k, v in configmaps.get(cm, {}).items():
                if prefix + k in DB_KEYS:
                    found[prefix + k] = (str(v), f"ConfigMap {namespace}/{cm} key {k}")
        elif src.get("secretRef"):
            sec = src["secretRef"].get("name")
            for k, v in secret_keys(sec).items():
                if prefix + k in DB_KEYS:
                    found[prefix + k] = (v, f"Secret {namespace}/{sec} key {k}")
    for e in container.get("env") or []:
        key = e.get("name")
        if key not in DB_KEYS:
            continue
        if "value" in e:
            found[key] = (str(e["value"]), f"Deployment {namespace}/{name} env {key}")
        elif (e.get("valueFrom") or {}).get("secretKeyRef"):
            ref = e["valueFrom"]["secretKeyRef"]
            value = secret_keys(ref["name"]).get(ref["key"]) if ref.get("key") in DB_KEYS else None
            if value is not None:
                found[key] = (value, f"Secret {namespace}/{ref['name']} key {ref['key']}")
        elif (e.get("valueFrom") or {}).get("configMapKeyRef"):
            ref = e["valueFrom"]["configMapKeyRef"]
            value = configmaps.get(ref["name"], {}).get(ref["key"])
            if value is not None:
                found[key] = (str(value), f"ConfigMap {namespace}/{ref['name']} key {ref['key']}")

    settings: dict[str, Any] = {}
    where: list[str] = []
    if "CDK_DATABASE_URL" in found:
        value, w = found["CDK_DATABASE_URL"]
        parsed = _parse_url(value)
        if parsed:
            where.append(f"CDK_DATABASE_URL from {w}")
            settings.update({k: v for k, v in parsed.items() if v is not None})
    for key, field_ in (("CDK_DATABASE_HOSTS_0_HOST", "host"), ("CDK_DATABASE_HOST", "host"),
                        ("CDK_DATABASE_HOSTS_0_PORT", "port"), ("CDK_DATABASE_PORT", "port"),
                        ("CDK_DATABASE_NAME", "dbname"), ("CDK_DATABASE_USERNAME", "user")):
        if key in found and field_ not in settings:
            value, w = found[key]
            settings[field_] = int(value) if field_ == "port" and value.isdigit() else value
            where.append(f"{key} from {w}")
    resource = f"Deployment {namespace}/{name}"
    for field_ in ("host", "port", "dbname", "user"):
        if field_ not in settings:
            settings[field_] = Unknown(f"the Console's Deployment does not state the database {field_}",
                                       where=resource, expression=", ".join(DB_KEYS))
    settings["deployment"] = resource
    return settings, where
