"""The platform database (RDS PostgreSQL), reached with the target's postgres section.

Read-only by default: the session is ``default_transaction_read_only`` and every statement is
bounded (``statement_timeout``). ``writable=True`` is only for the clean-up of ``@mutating``
scenarios (deleting the ``asbuilt-selftest-*`` items they created), and fails harmlessly when the
target's user may not write (the scenario then reports what it left behind).
"""

from __future__ import annotations

from typing import Any

from asbuilt.probes import ProbeError
from asbuilt.target import PostgresSection, Target

SELFTEST_PREFIX = "asbuilt-selftest-"


def checked_hosts(host: str, port: int, allowed_networks: list[str]) -> dict[str, str]:
    """libpq ``host``/``hostaddr`` for the target's host(s), each checked against allowed_networks.

    ``hostaddr`` is the address the guard checked, so libpq connects there and does not resolve the
    name again (``host`` stays the name, for TLS verification); a socket directory (``/run/...``)
    is not a network address and is left as it is. With no allowed_networks nothing is changed.
    """
    from asbuilt.netguard import NetGuard

    guard = NetGuard(allowed_networks)
    if not guard.active:
        return {}
    hosts = [h.strip() for h in str(host).split(",")]
    addrs = []
    for h in hosts:
        if h.startswith("/") or h.startswith("@"):
            addrs.append("")  # a Unix-domain socket: no network
            continue
        addrs.append(guard.check(h, port, "connect to database host")[0])
    return {"host": ",".join(hosts), "hostaddr": ",".join(addrs)}


def connect(section: PostgresSection, target: Target | None = None, writable: bool = False,
            statement_timeout_ms: int = 30000):
    import psycopg

    params: dict[str, Any] = {"host": section.host, "port": section.port, "dbname": section.dbname,
                              "user": section.user, "sslmode": section.sslmode,
                              "connect_timeout": section.connect_timeout, "application_name": "asbuilt"}
    params.update(checked_hosts(section.host, section.port, target.allowed_networks if target is not None else []))
    if section.password is not None:
        params["password"] = section.password.resolve()
    if section.sslrootcert:
        params["sslrootcert"] = str(section.sslrootcert)
    options = f"-c statement_timeout={int(statement_timeout_ms)}"
    if not writable:
        options += " -c default_transaction_read_only=on"
    try:
        conn = psycopg.connect(options=options, **params)
    except psycopg.Error as exc:
        raise ProbeError(f"postgres: cannot connect to {section.host}:{section.port}/{section.dbname} as "
                         f"{section.user}: {' '.join(str(exc).split())[:200]}") from None
    conn.autocommit = True
    return conn


def snapshot(section: PostgresSection, target: Target | None = None) -> dict:
    """A consistent, read-only snapshot of the platform tables (asbuilt.probes.platform_state)."""
    import psycopg

    from asbuilt.probes.platform_state import snapshot as take

    with connect(section, target) as conn:
        conn.autocommit = False
        try:
            return take(conn)
        except psycopg.Error as exc:
            raise ProbeError(f"postgres: cannot read the platform tables on {section.host}/{section.dbname}: "
                             f"{' '.join(str(exc).split())[:200]}") from None


def delete_selftest_items(section: PostgresSection, target: Target | None, items: list[tuple[str, str]]) -> dict:
    """Remove the ``asbuilt-selftest-*`` items a @mutating scenario created: {"removed": [...], "left": [...],
    "reason": why some were left}. Only names under the dedicated prefix are ever touched."""
    import psycopg
    from psycopg import sql

    from asbuilt.probes.platform_state import TABLES

    removed: list[str] = []
    left: list[str] = []
    reason = None
    wanted = [(t, n) for t, n in items if t in TABLES and n.startswith(SELFTEST_PREFIX)]
    try:
        with connect(section, target, writable=True) as conn:
            for table, name in wanted:
                try:
                    cur = conn.execute(sql.SQL("DELETE FROM {} WHERE name = %s").format(sql.Identifier(table)),
                                       (name,))
                    (removed if cur.rowcount else left).append(f"{table}/{name}")
                except psycopg.Error as exc:
                    left.append(f"{table}/{name}")
                    reason = " ".join(str(exc).split())[:160]
    except ProbeError as exc:
        left = [f"{t}/{n}" for t, n in wanted]
        reason = str(exc)
    return {"removed": removed, "left": left, "reason": reason}
