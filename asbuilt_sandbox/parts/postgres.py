"""PostgreSQL, standing in for the RDS instance that holds the platform's state.

Debian's PostgreSQL server binaries (the newest major under /usr/lib/postgresql), our own
cluster, port and certificates; the Debian system cluster is never touched.

* Runs as the OS user ``postgres`` (PostgreSQL refuses root), started with ``setpriv`` so the
  tracked pid is the postmaster itself; normally inside ``asb-vpc`` on RDS_ADDR.
* TLS on, with a server certificate (SAN = the listen address) signed by a CA made here with
  ``cryptography``; ``pg_hba.conf`` admits only ``hostssl`` from the sandbox network with
  SCRAM passwords (plus the local superuser over a private unix socket, by peer auth).
* Database and role ``conncentric``; the role's password is generated on first start and
  kept in a 0600 file in the state directory (never printed, never passed on a command line).
* The platform schema (``asbuilt_sandbox/platform_schema.sql``) is applied at every start;
  ``reset_database()`` drops the database and makes it anew (``sandbox up`` does, every time).

Where the files live: the CA, its key and the password file under ``state_dir()/postgres``;
the cluster (data directory and unix socket) under ``state_dir()/postgres/cluster`` when the
``postgres`` user can reach that path, otherwise (state under /root, which is 0700) under
``/var/lib/asbuilt/<key>/postgres`` with ``state_dir()/postgres/cluster`` a symlink to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from asbuilt_sandbox import topology as topo
from asbuilt_sandbox.parts.base import PartError, Process, run, state_dir

PART = "postgres"
DBNAME = "conncentric"
ROLE = "conncentric"
# The Conduktor Console's database (issue 12): its own role, for which the server requires TLS
# (pg_hba: hostssl for that role, hostnossl rejected). ``set_conduktor_tls(False)`` is a drift:
# a hostnossl line admitting the role without TLS, ahead of the reject.
CONDUKTOR_DB = "conduktor"
CONDUKTOR_ROLE = "conduktor"
OS_USER = "postgres"
PG_ROOT = Path("/usr/lib/postgresql")
FALLBACK_ROOT = Path("/var/lib/asbuilt")
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "platform_schema.sql"


def pg_bindir() -> Path | None:
    """The bin directory of the newest PostgreSQL major installed under /usr/lib/postgresql."""
    majors = []
    with contextlib.suppress(OSError):
        for d in PG_ROOT.iterdir():
            if d.name.isdigit() and (d / "bin" / "postgres").is_file():
                majors.append(int(d.name))
    return PG_ROOT / str(max(majors)) / "bin" if majors else None


def _as_postgres() -> list[str]:
    return ["setpriv", f"--reuid={OS_USER}", f"--regid={OS_USER}", "--init-groups", "--"]


# --------------------------------------------------------------------------- certificates

CA_NAME = "asbuilt sandbox PostgreSQL CA"

from asbuilt_sandbox import pki  # noqa: E402  (the sandbox's one CA helper)
from asbuilt_sandbox.parts.base import write_private as _write_private  # noqa: E402  (shared helper)


# --------------------------------------------------------------------------- the part


class PostgresPart:
    """One PostgreSQL cluster of the sandbox."""

    name = PART

    def __init__(self) -> None:
        self.proc = Process(PART, "server", [])

    # ---- locations

    @property
    def home(self) -> Path:
        """Root-owned: CA, password file, launch record."""
        return state_dir() / "postgres"

    @property
    def ca_file(self) -> Path:
        return self.home / "ca.pem"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def _launch_file(self) -> Path:
        return self.home / "launch.json"

    def cluster_root(self) -> Path:
        """Owned by ``postgres``: ``data/`` (PGDATA) and ``run/`` (the unix socket)."""
        link = self.home / "cluster"
        if link.is_symlink():
            return Path(os.readlink(link))
        if link.is_dir():
            return link
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o755)
        if _reachable_by_postgres(self.home):
            return link
        key = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
        return FALLBACK_ROOT / key / "postgres"

    @property
    def data_dir(self) -> Path:
        return self.cluster_root() / "data"

    @property
    def socket_dir(self) -> Path:
        return self.cluster_root() / "run"

    # ---- install

    def install(self) -> Path:
        """Ensure Debian's PostgreSQL server is installed; returns its bin directory."""
        bindir = pg_bindir()
        if bindir is None:
            if not shutil.which("apt-get"):
                raise PartError(PART, "no PostgreSQL server under /usr/lib/postgresql and no apt-get")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            run(["apt-get", "update", "-q"], PART, "apt-get update", timeout=600, env=env)
            run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"], PART,
                "apt-get install postgresql", timeout=1200, env=env)
            bindir = pg_bindir()
            if bindir is None:
                raise PartError(PART, "postgresql installed but no server binary under /usr/lib/postgresql")
        if not shutil.which("setpriv"):
            raise PartError(PART, "setpriv (util-linux) is missing")
        try:
            import pwd

            pwd.getpwnam(OS_USER)
        except KeyError as exc:
            raise PartError(PART, f"OS user {OS_USER!r} does not exist (it comes with Debian's postgresql)") from exc
        return bindir

    # ---- start

    def start(self, listen_addr: str | None = None, port: int = topo.RDS_PORT, netns: str | None = None) -> dict:
        """Start (idempotent) and return the facts: host, port, dbname, user, password_file,
        ca_file, version (and where the data and log are).

        ``listen_addr`` defaults to RDS_ADDR inside a namespace, 127.0.0.1 on the host."""
        if os.geteuid() != 0:
            raise PartError(PART, "needs root (to run the cluster as the postgres user)")
        if listen_addr is None:
            listen_addr = topo.RDS_ADDR if netns else "127.0.0.1"
        if not topo.in_sandbox_net(listen_addr) or ipaddress.ip_address(listen_addr).is_unspecified:
            raise PartError(PART, f"refusing to listen on {listen_addr}: not a sandbox address")
        if netns and not Path(f"/run/netns/{netns}").exists():
            raise PartError(PART, f"network namespace {netns} does not exist; start the network part first")
        bindir = self.install()
        launch = {"listen_addr": listen_addr, "port": int(port), "netns": netns, "bindir": str(bindir)}

        if self.proc.running() and self._launch() == launch:
            self._setup_database(port)
            return self.facts()
        self.stop()  # running with other settings, or an orphan / a stale lock file of ours
        self._prepare(bindir, listen_addr, port)
        self.proc = Process(PART, "server", [*_as_postgres(), str(bindir / "postgres"), "-D", str(self.data_dir)],
                            env={"HOME": str(self.cluster_root()), "USER": OS_USER, "LOGNAME": OS_USER},
                            cwd=self.cluster_root(), netns=netns)
        self.proc.start()
        self._launch_file.write_text(json.dumps(launch))
        self._wait_ready(timeout=60)
        self._setup_database(port)
        return self.facts()

    def _launch(self) -> dict | None:
        try:
            return json.loads(self._launch_file.read_text())
        except (OSError, ValueError):
            return None

    def _prepare(self, bindir: Path, listen_addr: str, port: int) -> None:
        import pwd

        pw = pwd.getpwnam(OS_USER)
        root = self.cluster_root()
        link = self.home / "cluster"
        if root != link and not link.is_symlink():
            link.symlink_to(root)
        for d in (root, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(d, 0o700)
        if root.parent != self.home and root.parent.parent == FALLBACK_ROOT:
            os.chmod(root.parent, 0o755)

        if not (self.data_dir / "PG_VERSION").is_file():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            run([*_as_postgres(), str(bindir / "initdb"), "-D", str(self.data_dir), "-U", OS_USER,
                 "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=reject"],
                PART, "initdb", timeout=300, cwd=root, env={**os.environ, "HOME": str(root)})
            with open(self.data_dir / "postgresql.conf", "a") as f:
                f.write("\n# asbuilt sandbox settings (rewritten at every start)\ninclude 'asbuilt.conf'\n")

        # TLS: the CA is kept across starts (clients hold it); the server certificate is new each start.
        ca = pki.CA.ensure(self.ca_file, self.home / "ca.key", CA_NAME)
        ca.issue_files(self.data_dir / "server.crt", self.data_dir / "server.key", listen_addr, server=True,
                       ips=[listen_addr], traditional_key=True)

        net = topo.NET_CIDR if ipaddress.ip_address(listen_addr) in ipaddress.ip_network(topo.NET_CIDR) else "127.0.0.0/8"
        (self.data_dir / "asbuilt.conf").write_text("\n".join([
            f"listen_addresses = '{listen_addr}'",
            f"port = {int(port)}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "unix_socket_permissions = 0700",
            "ssl = on",
            "ssl_cert_file = 'server.crt'",
            "ssl_key_file = 'server.key'",
            "ssl_min_protocol_version = 'TLSv1.2'",
            "password_encryption = 'scram-sha-256'",
            "max_connections = 40",
            "shared_buffers = '32MB'",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] '",
            "log_connections = on",
            "",
        ]))
        self._net = net
        self._write_hba(net, conduktor_tls=True)
        for p in self.data_dir.iterdir():
            if p.name in ("server.crt", "server.key", "asbuilt.conf", "pg_hba.conf", "postgresql.conf"):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _write_hba(self, net: str, conduktor_tls: bool) -> None:
        import pwd

        lines = [
            "# asbuilt sandbox (rewritten at every start): TLS and SCRAM from the sandbox network only",
            "# TYPE    DATABASE  USER      ADDRESS         METHOD",
            f"local     all       {OS_USER}  peer",
        ]
        if not conduktor_tls:
            lines.append(f"hostnossl {CONDUKTOR_DB} {CONDUKTOR_ROLE} {net:<15} scram-sha-256  # drift: no TLS required")
        lines += [
            f"hostssl   {CONDUKTOR_DB} {CONDUKTOR_ROLE} {net:<15} scram-sha-256",
            f"hostnossl all       {CONDUKTOR_ROLE} 0.0.0.0/0       reject",
            f"hostssl   all       all       {net:<15} scram-sha-256",
            "hostnossl all       all       0.0.0.0/0       reject",
            "host      all       all       ::/0            reject",
            "",
        ]
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("\n".join(lines))
        pw = pwd.getpwnam(OS_USER)
        os.chown(hba, pw.pw_uid, pw.pw_gid)

    def set_conduktor_tls(self, required: bool = True) -> None:
        """Rewrite pg_hba.conf so the Console's role needs TLS (the reference) or not (a drift), and
        have the server reload it."""
        launch = self._launch()
        if not (launch and self.proc.running()):
            raise PartError(PART, "not running")
        net = topo.NET_CIDR if ipaddress.ip_address(launch["listen_addr"]) in ipaddress.ip_network(topo.NET_CIDR) \
            else "127.0.0.0/8"
        self._write_hba(net, conduktor_tls=required)
        out = self._psql(launch["port"], "SELECT pg_reload_conf();\n"
                         "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL;", tuples=True)
        if out.split()[-1] != "0":
            raise PartError(PART, "pg_hba.conf has errors after the rewrite", self.proc.logfile)

    @property
    def conduktor_password_file(self) -> Path:
        return self.home / "conduktor.password"

    def conduktor_database(self) -> dict:
        """The Console's database and role (made anew: dropped first), owned by that role; returns
        {dbname, user, password_file}. Its password is generated once, kept in a 0600 file."""
        launch = self._launch()
        if not (launch and self.proc.running()):
            raise PartError(PART, "not running")
        if self.conduktor_password_file.is_file():
            password = self.conduktor_password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(24)
            _write_private(self.conduktor_password_file, password.encode())
        assert re.fullmatch(r"[A-Za-z0-9_-]+", password)
        self._psql(launch["port"], "\n".join([
            f"DROP DATABASE IF EXISTS {CONDUKTOR_DB} WITH (FORCE);",
            f"SELECT 'CREATE ROLE {CONDUKTOR_ROLE} LOGIN' WHERE NOT EXISTS "
            f"(SELECT FROM pg_roles WHERE rolname = '{CONDUKTOR_ROLE}')",
            "\\gexec",
            f"ALTER ROLE {CONDUKTOR_ROLE} LOGIN PASSWORD '{password}';",
            f"CREATE DATABASE {CONDUKTOR_DB} OWNER {CONDUKTOR_ROLE};",
            "",
        ]))
        return {"dbname": CONDUKTOR_DB, "user": CONDUKTOR_ROLE, "password_file": str(self.conduktor_password_file)}

    def _postmaster_pid(self) -> int | None:
        """The pid in postmaster.pid if that process is a postmaster of THIS data directory."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            same_dir = os.path.samefile(os.readlink(f"/proc/{pid}/cwd"), self.data_dir)
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        return pid if same_dir and stat not in ("Z", "X") else None

    def _wait_ready(self, timeout: float) -> None:
        """postmaster.pid's status line says "ready" once it accepts connections; no probe needed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, IndexError):
                lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready" and self._postmaster_pid():
                    return
            if not self.proc.running():
                raise PartError(PART, f"postgres exited during start-up: {self.proc.log_tail(3)!r}", self.proc.logfile)
            time.sleep(0.1)
        raise PartError(PART, f"postgres not ready within {timeout:.0f}s", self.proc.logfile)

    def _psql(self, port: int, sql: str, db: str = "postgres", tuples: bool = False) -> str:
        """Run SQL (given on stdin, so no secret is on a command line) as the superuser over the
        private unix socket."""
        bindir = Path(self._launch()["bindir"]) if self._launch() else self.install()
        argv = [*_as_postgres(), str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", str(self.socket_dir), "-p", str(int(port)), "-U", OS_USER, "-d", db, "-f", "-"]
        if tuples:
            argv[-2:-2] = ["-A", "-t"]
        env = {**os.environ, "HOME": str(self.cluster_root()), "PGAPPNAME": "asbuilt-sandbox"}
        for var in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSSLMODE"):
            env.pop(var, None)
        res = run(argv, PART, f"psql on {db}", timeout=120, input=sql, cwd=self.cluster_root(), env=env)
        return res.stdout

    def _setup_database(self, port: int) -> None:
        if self.password_file.is_file():
            password = self.password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(24)
            _write_private(self.password_file, password.encode())
        assert re.fullmatch(r"[A-Za-z0-9_-]+", password)
        self._psql(port, "\n".join([
            f"SELECT 'CREATE ROLE {ROLE} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}')",
            "\\gexec",
            f"ALTER ROLE {ROLE} LOGIN PASSWORD '{password}';",
            f"SELECT 'CREATE DATABASE {DBNAME} OWNER {ROLE}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DBNAME}')",
            "\\gexec",
            "",
        ]))
        self._psql(port, f"SET ROLE {ROLE};\n{SCHEMA_FILE.read_text()}", db=DBNAME)

    def reset_database(self) -> dict:
        """The platform database as a first start makes it: dropped (its sessions ended) and made
        anew with the platform schema and no rows, whatever a drift, a test or a user added to it
        (rows, tables, functions). The role and its password stay. Returns the facts."""
        launch = self._launch()
        if not (launch and self.proc.running()):
            raise PartError(PART, "not running: start it before resetting its database")
        self._psql(launch["port"], f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE);")
        self._setup_database(launch["port"])
        return self.facts()

    # ---- facts / stop / status

    def facts(self) -> dict:
        launch = self._launch() or {}
        version = ""
        with contextlib.suppress(PartError):
            version = self._psql(launch.get("port", topo.RDS_PORT), "SHOW server_version;", tuples=True).split()[0]
        return {
            "host": launch.get("listen_addr"),
            "port": launch.get("port"),
            "netns": launch.get("netns"),
            "dbname": DBNAME,
            "user": ROLE,
            "password_file": str(self.password_file),
            "ca_file": str(self.ca_file),
            "sslmode": "verify-full",
            "version": version,
            "data_dir": str(self.data_dir),
            "log": str(self.proc.logfile),
        }

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT to the postmaster), then the tracked process; idempotent. Also ends
        an orphaned postmaster of this data directory whose pid file was lost, and after a crash
        clears what the dead postmaster left (postmaster.pid, the socket lock) so the next start
        does not trip over it."""
        pid = self._postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._postmaster_pid() == pid:
                time.sleep(0.1)
            if self._postmaster_pid() == pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc.stop(timeout=10)
        # Backends of a postmaster that died still hold the shared memory; they notice the death
        # and exit by themselves. Only when none is left are the lock files safe to remove.
        deadline = time.monotonic() + 10
        while (left := self._cluster_pids()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self._cluster_pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self._cluster_pids():
            for stale in (self.data_dir / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*")):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    stale.unlink()

    def _cluster_pids(self) -> list[int]:
        """Live processes working in this data directory (postmaster and backends chdir there)."""
        if not self.data_dir.is_dir():
            return []
        target = os.stat(self.data_dir)
        pids = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                st = os.stat(f"/proc/{entry.name}/cwd")
                if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino):
                    continue
                state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state not in ("Z", "X"):
                pids.append(int(entry.name))
        return pids

    def status(self) -> dict:
        launch = self._launch() or {}
        up = self.proc.running() and self._postmaster_pid() is not None
        return {
            "part": PART,
            "up": up,
            "address": f"{launch.get('listen_addr')}:{launch.get('port')}" if up else None,
            "netns": launch.get("netns") if up else None,
            "pid": self.proc.pid() if up else None,
            "log": str(self.proc.logfile),
        }

    def destroy(self) -> None:
        """Stop and delete the cluster, CA and password (the next start initialises afresh)."""
        self.stop()
        root = self.cluster_root()
        shutil.rmtree(root, ignore_errors=True)
        if root.parent.parent == FALLBACK_ROOT:
            with contextlib.suppress(OSError):
                root.parent.rmdir()
            with contextlib.suppress(OSError):
                FALLBACK_ROOT.rmdir()
        shutil.rmtree(self.home, ignore_errors=True)


def _reachable_by_postgres(path: Path) -> bool:
    """Can the postgres user traverse into ``path`` (every ancestor searchable)?"""
    res = subprocess.run([*_as_postgres(), "test", "-x", str(path)], capture_output=True, timeout=30,
                         cwd="/")
    return res.returncode == 0
