"""Platform state in PostgreSQL, read-only: the evidence of INST-02, INST-03, INST-04 and BNDL-03.

``snapshot(conn)`` reads every row of the four platform tables in one read-only, repeatable-read
transaction (a consistent picture, and a probe that cannot write): identity, name, the stored
SHA-256, a SHA-256 of the stored content computed by the server (so "byte-for-byte unchanged"
is checked without pulling the content), version, timestamps, and ``xmin`` (the transaction
that wrote the row version: it changes on any UPDATE, even one that rewrites identical values).

``diff(before, after)`` lists what changed between two snapshots, one line per difference.
"""

from __future__ import annotations

from typing import Any

TABLES = ("adapter_configurations", "pipeline_definitions", "plugin_records", "artifacts")
FIELDS = ("id", "name", "sha256", "content_sha256", "version", "created_at", "updated_at", "xmin")


def _query(table: str, content_is_bytes: bool):
    from psycopg import sql

    digest = "content" if content_is_bytes else "convert_to(content::text, 'UTF8')"
    return sql.SQL(
        "SELECT id::text, name, sha256::text, encode(sha256(" + digest + "), 'hex'), version, "
        "created_at, updated_at, xmin::text FROM {} ORDER BY name"
    ).format(sql.Identifier(table))


def _bytea_tables(conn, tables: tuple[str, ...]) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'content' AND data_type = 'bytea' "
        "AND table_name = ANY(%s)", (list(tables),)).fetchall()
    return {r[0] for r in rows}


def snapshot(conn, tables: tuple[str, ...] = TABLES) -> dict[str, list[dict[str, Any]]]:
    """{table: [row, ...]} with rows sorted by name; each row has FIELDS (timestamps as ISO 8601
    strings, so a snapshot is plain JSON evidence). Read-only; raises psycopg errors as they are
    (a missing table is the caller's finding)."""
    from psycopg.pq import TransactionStatus

    def read() -> dict[str, list[dict[str, Any]]]:
        bytea = _bytea_tables(conn, tables)
        out: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            rows = conn.execute(_query(table, table in bytea)).fetchall()
            out[table] = [
                {"id": r[0], "name": r[1], "sha256": (r[2] or "").strip(), "content_sha256": r[3], "version": r[4],
                 "created_at": r[5].isoformat(), "updated_at": r[6].isoformat(), "xmin": r[7]}
                for r in rows
            ]
        return out

    if conn.info.transaction_status == TransactionStatus.IDLE:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return read()
    return read()  # inside the caller's transaction: read as it stands


def diff(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    """Every difference between two snapshots, one line each: ``table/name: ...``."""
    lines: list[str] = []
    for table in sorted(set(before) | set(after)):
        b = {r["name"]: r for r in before.get(table, [])}
        a = {r["name"]: r for r in after.get(table, [])}
        for name in sorted(set(b) - set(a)):
            lines.append(f"{table}/{name}: removed")
        for name in sorted(set(a) - set(b)):
            lines.append(f"{table}/{name}: added (id {a[name]['id']}, version {a[name]['version']})")
        for name in sorted(set(a) & set(b)):
            changes = [f"{k} {b[name].get(k)} -> {a[name].get(k)}" for k in FIELDS if b[name].get(k) != a[name].get(k)]
            if changes:
                lines.append(f"{table}/{name}: " + ", ".join(changes))
    return lines


def changed_fields(before: dict, after: dict, table: str, name: str) -> set[str]:
    """The fields of one row that differ between two snapshots (``{"added"}`` / ``{"removed"}``)."""
    b = {r["name"]: r for r in before.get(table, [])}.get(name)
    a = {r["name"]: r for r in after.get(table, [])}.get(name)
    if b is None and a is None:
        return set()
    if b is None:
        return {"added"}
    if a is None:
        return {"removed"}
    return {k for k in FIELDS if b.get(k) != a.get(k)}
