"""LocalStack (community edition, host mode) standing in for the AWS account, in a namespace of its own.

Install: ``localstack-core[runtime]`` at ``VERSION`` into its own virtual environment under
``<cache>/localstack-<VERSION>/``, made with Python 3.13 (LocalStack 2026.3 does not start on 3.12:
``from warnings import deprecated``), found under pyenv (``~/.pyenv/versions/3.13*``) or given by
``$ASBUILT_PYTHON313``. The pins in ``PINS`` are the ones this version needs
to start. The install is built in a temporary folder and renamed into place when complete, so an
interrupted install is never mistaken for a cached one; a lock file keeps two installs apart.

Network: LocalStack tries to reach its licence and analytics services and resolves ``s3.<host>``
names, so it runs inside a network namespace of its own (``netns``) that has loopback and one
veth link to the host, on a /30 inside 198.18.0.0/15 (default 198.19.54.0/30: outside the main
sandbox's 198.18.0.0/16, so the two never share a route) and **no default route**: whatever it
tries, no packet can leave the machine. ``start()`` checks that no default route exists there.

Settings: ``GATEWAY_LISTEN=<ns address>:<port>`` with ``GATEWAY_SERVER=hypercorn`` (the default
Twisted server ignores the host part and binds 0.0.0.0), ``DNS_ADDRESS=0`` (no DNS server of its
own on :53), ``OVERRIDE_IN_DOCKER=0``, ``S3_SKIP_SIGNATURE_VALIDATION=0`` (pre-signed URLs are
verified: signature and expiry), ``SKIP_SSL_CERT_DOWNLOAD=1``, ``DISABLE_EVENTS=1``;
``FILESYSTEM_ROOT``, ``XDG_CACHE_HOME`` and ``TMPDIR`` are under the part's state folder. LocalStack
also writes ``/tmp/localstack-s3-storage`` (a hard-coded path): in LocalStack's own mount namespace
that folder is the part's ``s3-storage`` (a bind mount), which ``stop()`` removes.

Credentials: LocalStack accepts any access key on its API (``CREDENTIALS``); it verifies pre-signed
URL signatures against the secret ``test`` (``PRESIGN_SECRET``).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import ipaddress
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from asbuilt_sandbox.parts.base import PartError, Process, cache_dir, run, state_dir

PART = "localstack"
VERSION = "2026.3.0"
PINS = ("cbor2<6", "cryptography==44.0.3", "pyopenssl==24.3.0", "joserfc<1.3")
# LocalStack (no IAM enforcement) accepts any credentials on its API; a non-AWS-format key id puts
# everything in its default account 000000000000. It verifies pre-signed URLs of an unregistered
# key id against the secret "test" (its DEFAULT_PRE_SIGNED_SECRET_ACCESS_KEY): a URL that is to be
# accepted is signed with PRESIGN_SECRET. A target's secret must be at least 6 characters
# (asbuilt keeps short secrets out of reports unreliably), hence not "test" for the API.
CREDENTIALS = {"aws_access_key_id": "asbuilt-localstack", "aws_secret_access_key": "asbuilt-localstack-api-secret"}
PRESIGN_SECRET = "test"
HEALTH_PATH = "/_localstack/health"
S3_STORAGE = Path("/tmp/localstack-s3-storage")  # hard-coded in LocalStack, not cleaned on its stop

DEFAULT_NETNS = "asbls-aws"
DEFAULT_HOST_IF = "asbls-aws0"
DEFAULT_SUBNET = "198.19.54.0/30"
DEFAULT_PORT = 4566
NS_IF = "eth0"
SANDBOX_NET = ipaddress.ip_network("198.18.0.0/15")
# Nothing LocalStack could reach inside the namespace: proxies would only be attempts to leave.
_DROP_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "NO_PROXY",
             "no_proxy", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LOCALSTACK_AUTH_TOKEN", "LOCALSTACK_API_KEY",
             "AWS_ENDPOINT_URL")


def python313() -> str | None:
    """A Python 3.13 interpreter (LocalStack's runtime needs it), or None when the machine has none."""
    explicit = os.environ.get("ASBUILT_PYTHON313")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for root in dict.fromkeys((str(Path.home() / ".pyenv"), "/root/.pyenv")):
        for cand in sorted(glob.glob(f"{root}/versions/3.13*/bin/python3.13"), reverse=True):
            if os.access(cand, os.X_OK):
                return cand
    found = shutil.which("python3.13")
    return found


def venv_dir(version: str = VERSION) -> Path:
    return cache_dir() / f"localstack-{version}"


def _marker(version: str) -> Path:
    return venv_dir(version) / ".asbuilt-complete"


def installed(version: str = VERSION) -> bool:
    return _marker(version).is_file() and (venv_dir(version) / "bin" / "python").exists()


def install(version: str = VERSION, timeout: float = 1800) -> dict:
    """Install LocalStack into its cached venv (nothing to do when cached); returns {python, seconds, cached}."""
    target = venv_dir(version)
    if installed(version):
        return {"python": str(target / "bin" / "python"), "seconds": 0.0, "cached": True}
    py = python313()
    if not py:
        raise PartError(PART, "needs Python 3.13 (LocalStack's runtime does not start on 3.12); none found under "
                              "~/.pyenv/versions/3.13* (set ASBUILT_PYTHON313 to one)")
    lock = cache_dir() / f"localstack-{version}.lock"
    t0 = time.monotonic()
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if installed(version):  # another process finished it while we waited
            return {"python": str(target / "bin" / "python"), "seconds": time.monotonic() - t0, "cached": True}
        work = cache_dir() / f"localstack-{version}.partial-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        try:
            run([py, "-m", "venv", str(work)], PART, "creating the virtual environment", timeout=300)
            run([str(work / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 f"localstack-core[runtime]=={version}", *PINS], PART, f"installing localstack-core {version}",
                timeout=timeout)
            run([str(work / "bin" / "python"), "-c", "import localstack.runtime.main"], PART,
                "importing the installed LocalStack", timeout=120)
            (work / ".asbuilt-complete").write_text(json.dumps({"version": version, "pins": list(PINS), "python": py}))
            shutil.rmtree(target, ignore_errors=True)
            work.rename(target)  # the venv's python finds pyvenv.cfg beside it: `python -m` works after a rename
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {"python": str(target / "bin" / "python"), "seconds": time.monotonic() - t0, "cached": False}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and res.returncode != 0:
        raise PartError(PART, f"ip {' '.join(args)}: {res.stderr.strip()}")
    return res


def _http(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class LocalStackPart:
    """LocalStack in its own network namespace, reachable from the host on the namespace's address."""

    name = PART

    def __init__(self, netns: str = DEFAULT_NETNS, host_if: str = DEFAULT_HOST_IF, subnet: str = DEFAULT_SUBNET,
                 port: int = DEFAULT_PORT, version: str = VERSION):
        net = ipaddress.ip_network(subnet)
        if net.prefixlen != 30 or not net.subnet_of(SANDBOX_NET):
            raise PartError(PART, f"subnet {subnet} must be a /30 inside {SANDBOX_NET}")
        if len(host_if) > 15:
            raise PartError(PART, f"interface name {host_if!r} is longer than 15 characters")
        self.netns, self.host_if, self.subnet, self.port, self.version = netns, host_if, net, int(port), version
        hosts = list(net.hosts())
        self.host_addr, self.addr = str(hosts[0]), str(hosts[1])
        self.proc = Process(PART, f"gateway-{netns}", [])

    # -- paths --------------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return state_dir() / f"localstack-{self.netns}"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.addr}:{self.port}"

    # -- network ------------------------------------------------------------------------------
    def _netns_exists(self) -> bool:
        res = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True, timeout=30)
        try:
            return any(n.get("name") == self.netns for n in json.loads(res.stdout or "[]"))
        except ValueError:
            return False

    def network_up(self) -> None:
        """The namespace, loopback, the veth to the host and nothing else (idempotent)."""
        if os.geteuid() != 0:
            raise PartError(PART, "creating its network namespace needs root")
        if not self._netns_exists():
            _ip("netns", "add", self.netns)
        ns = ["-n", self.netns]
        _ip(*ns, "link", "set", "lo", "up")
        if _ip("link", "show", self.host_if, check=False).returncode != 0:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", NS_IF, "netns", self.netns)
        pre = self.subnet.prefixlen
        _ip("addr", "replace", f"{self.host_addr}/{pre}", "dev", self.host_if)
        _ip(*ns, "addr", "replace", f"{self.addr}/{pre}", "dev", NS_IF)
        _ip("link", "set", self.host_if, "up")
        _ip(*ns, "link", "set", NS_IF, "up")
        subprocess.run(["ip", "netns", "exec", self.netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"], capture_output=True, timeout=30)
        routes = self.default_routes()
        if routes:
            raise PartError(PART, f"namespace {self.netns} has a default route ({routes}): refusing to start")

    def default_routes(self) -> list[str]:
        out = []
        for fam in ("-4", "-6"):
            res = _ip("-n", self.netns, fam, "route", "show", "default", check=False)
            out += [line for line in res.stdout.splitlines() if line.strip()]
        return out

    def network_down(self) -> None:
        if self._netns_exists():
            res = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, timeout=30)
            for pid in (int(p) for p in res.stdout.split() if p.isdigit()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            _ip("netns", "del", self.netns, check=False)
        _ip("link", "del", self.host_if, check=False)

    # -- lifecycle ----------------------------------------------------------------------------
    def install(self) -> dict:
        return install(self.version)

    def _env(self) -> dict[str, str]:
        for sub in ("fs", "cache", "tmp"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        return {
            "GATEWAY_LISTEN": f"{self.addr}:{self.port}",
            "GATEWAY_SERVER": "hypercorn",
            "LOCALSTACK_HOST": f"{self.addr}:{self.port}",
            "DNS_ADDRESS": "0",
            "OVERRIDE_IN_DOCKER": "0",
            "S3_SKIP_SIGNATURE_VALIDATION": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "PERSISTENCE": "0",
            "FILESYSTEM_ROOT": str(self.home / "fs"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "TMPDIR": str(self.home / "tmp"),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, timeout: float = 120.0) -> dict:
        """Install (cached), bring the namespace up, start LocalStack and wait for its health
        answer. Idempotent: a LocalStack of ours that answers is kept. Returns the facts."""
        inst = self.install()
        self.network_up()
        if self.proc.running() and self._healthy():
            return self.facts()
        self.stop(keep_network=True)
        if self._healthy():  # a LocalStack that is not ours (another state folder) holds the address
            raise PartError(PART, f"{self.endpoint_url} already answers: another LocalStack runs in namespace {self.netns}")
        python = str(venv_dir(self.version) / "bin" / "python")
        env = self._env()
        # `ip netns exec` runs it in a mount namespace of its own (the host's mounts are slaves there):
        # LocalStack's hard-coded S3 folder is bind-mounted onto this part's own, so two LocalStacks
        # (the sandbox's, a test's) never share or delete each other's objects.
        storage = self.home / "s3-storage"
        storage.mkdir(parents=True, exist_ok=True)
        S3_STORAGE.mkdir(parents=True, exist_ok=True)  # the mount point: an empty folder on the host
        argv = ["sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", str(storage), str(S3_STORAGE),
                python, "-m", "localstack.runtime.main"]
        self.proc = Process(PART, f"gateway-{self.netns}", argv, env=env, cwd=self.home, netns=self.netns)
        saved = {k: os.environ.pop(k) for k in _DROP_ENV if k in os.environ}
        try:
            t0 = time.monotonic()
            self.proc.start()
        finally:
            os.environ.update(saved)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if not self.proc.running():
                raise PartError(PART, f"LocalStack exited during start-up: {self.proc.log_tail(3)!r}", self.proc.logfile)
            if self._healthy():
                facts = self.facts()
                facts["start_seconds"] = round(time.monotonic() - t0, 1)
                facts["install_seconds"] = round(inst["seconds"], 1)
                return facts
            time.sleep(0.25)
        self.stop()
        raise PartError(PART, f"LocalStack did not answer on {self.endpoint_url} within {timeout:.0f}s", self.proc.logfile)

    def health(self) -> dict | None:
        try:
            status, body = _http(self.endpoint_url + HEALTH_PATH)
            return json.loads(body) if status == 200 else None
        except (OSError, ValueError):
            return None

    def _healthy(self) -> bool:
        return self.health() is not None

    def info(self) -> dict:
        """LocalStack's own /_localstack/info: its version, and whether a licence is active."""
        try:
            status, body = _http(self.endpoint_url + "/_localstack/info")
            return json.loads(body) if status == 200 else {}
        except (OSError, ValueError):
            return {}

    def facts(self) -> dict:
        h = self.info()
        # no licence activated: the community edition (its info says edition "unknown")
        h["edition"] = h.get("edition") if h.get("is_license_activated") else "community"
        return {
            "endpoint_url": self.endpoint_url,
            "host": self.addr,
            "port": self.port,
            "netns": self.netns,
            "allowed_networks": [str(self.subnet)],
            "version": h.get("version", self.version),
            "edition": h.get("edition", "community"),
            "emulator": f"LocalStack {h.get('edition', 'community')} {h.get('version', self.version)}",
            "pid": self.proc.pid(),
            "log": str(self.proc.logfile),
        }

    def stop(self, keep_network: bool = False) -> None:
        """Stop LocalStack, remove its namespace (unless ``keep_network``) and its /tmp storage; idempotent."""
        ours = self.proc.running()
        self.proc.stop(timeout=15)
        if not keep_network:
            self.network_down()
        if ours:  # its objects, in the folder bind-mounted over LocalStack's hard-coded one
            shutil.rmtree(self.home / "s3-storage", ignore_errors=True)
        shutil.rmtree(self.home / "tmp", ignore_errors=True)

    def restart(self, timeout: float = 120.0) -> dict:
        """A fresh, empty LocalStack: its state is in memory (PERSISTENCE=0) and the community
        edition has no reset API, so emptying it is a restart (a few seconds)."""
        self.stop(keep_network=True)
        return self.start(timeout=timeout)

    def status(self) -> dict:
        up = self.proc.running() and self._healthy()
        return {"part": PART, "up": up, "address": self.endpoint_url if up else None,
                "pid": self.proc.pid() if up else None, "log": str(self.proc.logfile)}



def registered_credentials(endpoint_url: str, user: str = "asbuilt-sandbox-auditor") -> dict[str, str]:
    """An IAM user and access key made in LocalStack itself. LocalStack checks a pre-signed URL
    of a key it made against that key's own secret (an unknown key id: against "test"), so a
    URL signed with these is accepted and a tampered, wrongly signed or expired one is refused:
    the client side (asbuilt, the platform's installer) can use a real, long secret."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint_url, region_name="us-east-1", **CREDENTIALS)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
