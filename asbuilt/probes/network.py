"""TCP reachability probes run FROM the target's vantage points, with pytest-testinfra.

A vantage point (``target.vantage_points``) is where a connect attempt starts:

* ``local``   — this machine (testinfra ``local://``);
* ``netns``   — a network namespace on this machine (testinfra ``local://``, the command run
  under ``ip netns exec NS``, as testinfra's own ``addr`` module does);
* ``ssh``     — a host reached over SSH (testinfra ``ssh://user@host``, batch mode, bounded);
* ``kubectl`` — a pod (testinfra ``kubectl://pod?namespace=ns`` with the target's kubeconfig).

The attempt itself is a shell one-liner run there: bash's ``/dev/tcp`` (else python3, else nc),
bounded by ``timeout``; exit 0 = connected, 124 = timed out, otherwise refused/unreachable.

**Network safety**: when the target sets ``allowed_networks``, every address is checked
before any probe runs: a host outside those CIDRs (or a name resolving outside them) is refused
with a ``ProbeError``; nothing is sent. The sandbox sets loopback and 198.18.0.0/16.
"""

from __future__ import annotations

import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asbuilt.netguard import NetGuard
from asbuilt.probes import ProbeError
from asbuilt.target import Target, VantagePoint

_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_POD = re.compile(r"^(?:([a-z0-9][a-z0-9-]{0,62})/)?([a-z0-9][a-z0-9.-]{0,252})$")
MAX_PARALLEL = 8


@dataclass(frozen=True)
class Endpoint:
    """A data endpoint to probe: what it stands for and where its address came from."""

    service: str  # "RDS", "MSK broker"
    host: str
    port: int
    resource: str = ""
    endpoint_from: str = ""


def parse_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """'host:port', '[v6]:port' or 'host' (with a default port) -> (host, port)."""
    text = text.strip()
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?", text)
    if m:
        host, port = m.group(1), m.group(2)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None
    if port is None:
        if default_port is None:
            raise ValueError(f"{text!r} has no port")
        return host, int(default_port)
    return host, int(port)


class AddressGuard(NetGuard):
    """``asbuilt.netguard.NetGuard`` for a reachability probe: the probed destination is the
    thing checked, and the probe goes to the address the guard resolved (not to the name again)."""

    def check(self, host: str, port: int | None = None, verb: str = "probe") -> str:  # type: ignore[override]
        """The address to connect to (the host itself or, for a name, its checked address)."""
        return super().check(host, port, verb)[0]


def _connect_command(host: str, port: int, timeout: float) -> str:
    h, p, t = shlex.quote(host), int(port), max(1, int(round(timeout)))
    py = ("import socket,sys;s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET);"
          "s.settimeout(float(sys.argv[3]));s.connect((sys.argv[1],int(sys.argv[2])))")
    return (
        "if command -v bash >/dev/null 2>&1; then "
        f"timeout {t} bash -c 'exec 3<>/dev/tcp/'{h}'/{p}'; "
        "elif command -v python3 >/dev/null 2>&1; then "
        f"timeout {t} python3 -c {shlex.quote(py)} {h} {p} {t} 2>&1 | tail -n 1; "
        "elif command -v nc >/dev/null 2>&1; then "
        f"timeout {t} nc -z -w {t} {h} {p}; "
        "else echo 'no bash, python3 or nc at this vantage point' >&2; exit 127; fi"
    )


def _detail(rc: int, err: str) -> str:
    text = err.lower()
    if rc == 0:
        return "connected"
    if rc == 124 or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "refused"
    if "no route" in text or "unreachable" in text:
        return "no route to host"
    line = (err.strip().splitlines() or [""])[-1][:120]
    return f"not connected (exit {rc}{': ' + line if line else ''})"


class Vantage:
    """One vantage point of the target, driven through a testinfra host."""

    def __init__(self, vp: VantagePoint, target: Target):
        import testinfra

        self.vp = vp
        self.prefix = ""
        kube = target.kubernetes
        if vp.kind in ("local", "netns"):
            self.host = testinfra.get_host("local://")
            if vp.kind == "netns":
                if not vp.netns or not _NETNS.match(vp.netns):
                    raise ProbeError(f"vantage point {vp.name}: kind netns needs a namespace name (netns:)")
                self.prefix = f"ip netns exec {shlex.quote(vp.netns)} "
        elif vp.kind == "ssh":
            if not vp.host:
                raise ProbeError(f"vantage point {vp.name}: kind ssh needs host: user@host")
            self.host = testinfra.get_host(
                f"ssh://{vp.host}", ssh_extra_args="-o BatchMode=yes -o ConnectTimeout=10")
        elif vp.kind == "kubectl":
            m = _POD.match(vp.pod or "")
            if not m:
                raise ProbeError(f"vantage point {vp.name}: kind kubectl needs pod: namespace/pod")
            kw = {"namespace": m.group(1) or (kube.namespace if kube else "default")}
            if kube and kube.kubeconfig:
                kw["kubeconfig"] = str(kube.kubeconfig)
            if kube and kube.context:
                kw["context"] = kube.context
            self.host = testinfra.get_host(f"kubectl://{m.group(2)}", **kw)
        else:  # pragma: no cover (the target model allows only the kinds above)
            raise ProbeError(f"vantage point {vp.name}: unknown kind {vp.kind!r}")
        self._checked = False

    def check(self) -> None:
        """Prove the vantage point works before trusting a "not connected" from it."""
        if self._checked:
            return
        try:
            res = self.host.run(f"{self.prefix}true")
        except Exception as exc:  # testinfra backends raise their own errors (ssh, kubectl missing)
            raise ProbeError(f"vantage point {self.vp.name} ({self.vp.kind}) is not usable: {exc}") from None
        if res.rc != 0:
            why = (res.stderr.strip().splitlines() or [f"exit {res.rc}"])[-1][:200]
            raise ProbeError(f"vantage point {self.vp.name} ({self.vp.kind}) is not usable: {why}")
        self._checked = True

    def connect(self, address: str, port: int, timeout: float) -> tuple[bool, str]:
        res = self.host.run(f"{self.prefix}sh -c {shlex.quote(_connect_command(address, port, timeout))}")
        if res.rc == 127:
            raise ProbeError(f"vantage point {self.vp.name}: {res.stderr.strip()[:200] or 'cannot run a TCP probe'}")
        return res.rc == 0, _detail(res.rc, res.stderr + res.stdout)


class NetworkProbe:
    """TCP connects from the target's vantage points to data endpoints, address-checked."""

    def __init__(self, target: Target):
        self.target = target
        self.guard = AddressGuard(target.allowed_networks)
        self._vantages: dict[str, Vantage] = {}

    def vantages(self, role: str) -> list[VantagePoint]:
        return [v for v in self.target.vantage_points if v.role == role]

    def vantage(self, vp: VantagePoint) -> Vantage:
        if vp.name not in self._vantages:
            self._vantages[vp.name] = Vantage(vp, self.target)
        return self._vantages[vp.name]

    def probe(self, role: str, endpoints: list[Endpoint], timeout: float) -> list[dict]:
        """Every endpoint from every vantage point of ``role``; one evidence dict per attempt."""
        points = self.vantages(role)
        if not points or not endpoints:
            return []
        addresses = {e: self.guard.check(e.host) for e in endpoints}  # refuse before anything is sent
        for vp in points:
            self.vantage(vp).check()
        jobs = [(vp, e) for vp in points for e in endpoints]

        def one(job):
            vp, e = job
            ok, detail = self.vantage(vp).connect(addresses[e], e.port, timeout)
            return {"vantage": vp.name, "role": vp.role, "kind": vp.kind, "service": e.service, "host": e.host,
                    "address": addresses[e], "port": e.port, "resource": e.resource,
                    "endpoint_from": e.endpoint_from, "connected": ok, "detail": detail}

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
            return list(pool.map(one, jobs))
