"""The sandbox's network part: three network namespaces, their links, and a packet filter.

Layout (the addresses are those of ``asbuilt_sandbox.topology``)::

    host ns          asb-host 198.18.254.1/24 ── veth ── vpc-host 198.18.254.2/24   asb-vpc
    asb-node         eth0     198.18.1.10/24  ── veth ── vpc-node 198.18.1.1/24     asb-vpc
    asb-outside      eth0     198.18.200.10/24 ─ veth ── vpc-outside 198.18.200.1/24 asb-vpc
    asb-vpc          lo: 198.18.10.10/32 (RDS), 198.18.20.11-13/32 (MSK brokers)

* ``asb-vpc`` is the router (``net.ipv4.ip_forward=1`` there and only there) and hosts the data
  services on their own addresses on its loopback interface (this kernel has no ``dummy``
  driver; an address on ``lo`` behaves the same for a listener).
* Routes: ``asb-node``, ``asb-outside`` and the host each get ONE route, to 198.18.0.0/16 via
  ``asb-vpc``; ``asb-vpc`` has only its connected /24s. No namespace has a default route, so
  nothing addressed from a namespace can leave the machine; ``start()`` verifies that.
* IPv6 is disabled inside the namespaces and on the host end of the link: the sandbox is v4 only.
* The packet filter (nftables, table ``inet asbuilt`` in ``asb-vpc``) mirrors the RDS and MSK
  security groups: see ``apply_security_groups`` and ``rules_from_security_group``.

Nothing here connects anywhere: ``tcp_probe`` refuses any address outside 127.0.0.0/8 and
198.18.0.0/16 (``topology.in_sandbox_net``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from asbuilt_sandbox import topology as topo
from asbuilt_sandbox.parts.base import PartError, run, state_dir

PART = "network"
TABLE = "asbuilt"  # nftables table ``inet asbuilt`` inside asb-vpc

HOST_IF = "asb-host"  # host end of the host link (in the host's namespace)
VPC_HOST_IF = "vpc-host"  # its peer in asb-vpc
VPC_NODE_IF = "vpc-node"  # asb-vpc end of the asb-node link
VPC_OUTSIDE_IF = "vpc-outside"  # asb-vpc end of the asb-outside link
LEAF_IF = "eth0"  # the interface name inside asb-node and asb-outside

NAMESPACES = (topo.NS_VPC, topo.NS_NODE, topo.NS_OUTSIDE)
SERVICE_ADDRS = (topo.RDS_ADDR, *topo.BROKER_ADDRS)

_PREFIX = 24  # every link is a /24 of 198.18.0.0/16
_VPC_NODE_SIDE = "198.18.1.1"
_VPC_OUTSIDE_SIDE = "198.18.200.1"
_CLONE_NEWNET = 0x40000000
_NETNS_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6", "all"}
# IpProtocol values of the EC2 API (names or IANA numbers) -> AllowRule protocol.
_SG_PROTOCOLS = {"-1": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp",
                 "icmp": "icmp", "1": "icmp", "icmpv6": "icmpv6", "58": "icmpv6"}


# --------------------------------------------------------------------------- security groups


@dataclass(frozen=True)
class AllowRule:
    """One admitted flow to a service address, as a security group ingress rule grants it.

    ``protocol`` is "tcp", "udp", "icmp", "icmpv6", "all" or an IANA protocol number as a string;
    ports only matter for tcp and udp. ``source_cidr`` may be "0.0.0.0/0" or "::/0".
    ``description`` (optional) names where the rule came from; it becomes the nftables comment.
    """

    dest_addr: str
    port_from: int
    port_to: int
    protocol: str
    source_cidr: str
    description: str = ""

    def __post_init__(self) -> None:
        dest = ipaddress.ip_address(self.dest_addr)  # ValueError on a bad address
        src = ipaddress.ip_network(self.source_cidr, strict=False)
        proto = str(self.protocol).lower()
        if proto not in _PROTOCOLS and not (proto.isdigit() and 0 <= int(proto) <= 255):
            raise ValueError(f"unknown protocol {self.protocol!r}")
        if not (0 <= int(self.port_from) <= int(self.port_to) <= 65535):
            raise ValueError(f"bad port range {self.port_from}-{self.port_to}")
        object.__setattr__(self, "dest_addr", str(dest))
        object.__setattr__(self, "source_cidr", str(src))
        object.__setattr__(self, "protocol", proto)
        object.__setattr__(self, "port_from", int(self.port_from))
        object.__setattr__(self, "port_to", int(self.port_to))

    def nft(self) -> str | None:
        """The nftables rule that admits this flow, or None when it cannot match any packet
        here (source and destination of different IP versions: the sandbox is v4 only)."""
        dest = ipaddress.ip_address(self.dest_addr)
        src = ipaddress.ip_network(self.source_cidr)
        if src.version != dest.version:
            return None
        fam = "ip" if dest.version == 4 else "ip6"
        parts = [f"{fam} daddr {dest}"]
        if src.prefixlen:
            parts.append(f"{fam} saddr {src}")
        if self.protocol in ("tcp", "udp"):
            if (self.port_from, self.port_to) == (0, 65535):
                parts.append(f"meta l4proto {self.protocol}")
            elif self.port_from == self.port_to:
                parts.append(f"{self.protocol} dport {self.port_from}")
            else:
                parts.append(f"{self.protocol} dport {self.port_from}-{self.port_to}")
        elif self.protocol == "icmp":
            parts.append("meta l4proto icmp")
        elif self.protocol == "icmpv6":
            parts.append("meta l4proto ipv6-icmp")
        elif self.protocol != "all":
            parts.append(f"meta l4proto {int(self.protocol)}")
        parts.append("accept")
        if self.description:
            text = re.sub(r"[^A-Za-z0-9 _.:/,=+@-]", "_", self.description)[:120]
            parts.append(f'comment "{text}"')
        return " ".join(parts)


def rules_from_security_group(sg: dict, group_cidrs: dict[str, list[str]], dest_addrs: list[str]) -> list[AllowRule]:
    """Translate one security group (an element of ``describe_security_groups()["SecurityGroups"]``)
    into the AllowRules it grants towards ``dest_addrs`` (the addresses of the instances it guards).

    * ``IpProtocol`` "-1" is all traffic (all ports); "tcp"/"udp" (or 6/17) use FromPort..ToPort;
      ICMP admits all ICMP of the source (type/code are not modelled).
    * Sources: ``IpRanges[].CidrIp``, ``Ipv6Ranges[].CidrIpv6``; ``UserIdGroupPairs[].GroupId``
      and ``PrefixListIds[].PrefixListId`` are looked up in ``group_cidrs`` (a referenced group
      or prefix list -> the CIDRs of its members, e.g. the node SG -> NODE_SUBNET). A reference
      that ``group_cidrs`` does not know admits nothing (as a group with no members would).
    * Only ingress (``IpPermissions``) is translated; egress does not guard the services.
    """
    out: list[AllowRule] = []
    seen: set[tuple] = set()
    gid = sg.get("GroupId", "")
    for perm in sg.get("IpPermissions", []) or []:
        raw = str(perm.get("IpProtocol", "-1")).lower()
        proto = _SG_PROTOCOLS.get(raw, raw)
        if proto in ("tcp", "udp"):
            lo = perm.get("FromPort", 0)
            hi = perm.get("ToPort", 65535)
            lo = 0 if lo is None or lo < 0 else lo
            hi = 65535 if hi is None or hi < 0 else hi
        else:
            lo, hi = 0, 65535
        sources: list[tuple[str, str]] = []
        for r in perm.get("IpRanges", []) or []:
            if r.get("CidrIp"):
                sources.append((r["CidrIp"], r.get("Description") or ""))
        for r in perm.get("Ipv6Ranges", []) or []:
            if r.get("CidrIpv6"):
                sources.append((r["CidrIpv6"], r.get("Description") or ""))
        for pair in perm.get("UserIdGroupPairs", []) or []:
            ref = pair.get("GroupId") or pair.get("GroupName") or ""
            for cidr in group_cidrs.get(ref, []):
                sources.append((cidr, f"from {ref}"))
        for pl in perm.get("PrefixListIds", []) or []:
            ref = pl.get("PrefixListId") or ""
            for cidr in group_cidrs.get(ref, []):
                sources.append((cidr, f"from {ref}"))
        for dest in dest_addrs:
            for cidr, why in sources:
                desc = " ".join(x for x in (gid, why) if x)
                rule = AllowRule(dest, lo, hi, proto, cidr, desc)
                key = (rule.dest_addr, rule.port_from, rule.port_to, rule.protocol, rule.source_cidr)
                if key not in seen:
                    seen.add(key)
                    out.append(rule)
    return out


def render_ruleset(rules: list[AllowRule]) -> str:
    """The complete ``inet asbuilt`` table for ``nft -f``, replacing any previous one atomically.

    Traffic to a service address (SERVICE_ADDRS) goes through chain ``sg``, which ends in drop:
    * replies and related packets of admitted flows pass (security groups are stateful);
    * traffic from ``lo`` passes: it originates inside asb-vpc itself, i.e. the services'
      own traffic (Kafka inter-broker replication and the KRaft controller quorum, a service
      talking to itself), which in AWS never crosses the customer's security group either;
    * traffic from the host link (HOST_ADDR, arriving on vpc-host) always passes: the host is
      the operator's/auditor's bastion and the suite runs there; its INST/MSG checks must reach
      PostgreSQL and Kafka whatever the security groups say, exactly as an auditor uses a bastion
      the SGs admit. Reachability verdicts are therefore always probed from asb-node/asb-outside,
      never from the host;
    * then one accept per AllowRule; everything else is refused. A security group drops silently;
      the sandbox answers a TCP SYN with a reset instead, so a "not reachable" probe (NET-04,
      NET-05) gets its answer at once rather than after its timeout. What is reachable is the same.
    The ``forward`` chain refuses NEW connections from the namespaces to the host: nothing in
    the sandbox initiates a connection to the host's end of the link.
    """
    lines = [f"    {r}" for r in (rule.nft() for rule in rules) if r]
    services = ", ".join(SERVICE_ADDRS)
    return "\n".join([
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        f"  set services4 {{ type ipv4_addr; elements = {{ {services} }} }}",
        "  chain input {",
        "    type filter hook input priority filter; policy accept;",
        "    ip daddr @services4 jump sg",
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        f'    oifname "{VPC_HOST_IF}" ct state new counter drop comment "nothing in the sandbox connects to the host"',
        "  }",
        "  chain sg {",
        '    ct state established,related accept comment "stateful, like a security group"',
        '    iifname "lo" accept comment "the services own traffic inside asb-vpc"',
        f'    iifname "{VPC_HOST_IF}" ip saddr {topo.HOST_ADDR} accept comment "the bastion: the suite itself"',
        *lines,
        '    meta l4proto tcp counter reject with tcp reset comment "not admitted by any security group rule"',
        '    counter drop comment "not admitted by any security group rule"',
        "  }",
        "}",
        "",
    ])


def _rules_file() -> Path:
    return state_dir() / "network" / "rules.json"


def apply_security_groups(rules: list[AllowRule]) -> None:
    """Replace the packet filter in asb-vpc with one admitting exactly ``rules`` (plus the
    bastion and the services' own traffic, see ``render_ruleset``). Atomic: one nft transaction."""
    if not _netns_exists(topo.NS_VPC):
        raise PartError(PART, f"namespace {topo.NS_VPC} does not exist; start the network part first")
    run(["ip", "netns", "exec", topo.NS_VPC, "nft", "-f", "-"], PART, "loading the packet filter",
        timeout=30, input=render_ruleset(rules))
    path = _rules_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rules], indent=1))


def applied_rules() -> list[AllowRule]:
    """The rules last applied (as recorded in the state directory)."""
    try:
        return [AllowRule(**r) for r in json.loads(_rules_file().read_text())]
    except (OSError, ValueError, TypeError):
        return []


# --------------------------------------------------------------------------- probes


def call_in_netns(netns: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run by a short-lived thread that first joins network namespace
    ``netns`` (setns(2)); returns its result or raises its exception.

    Sockets that ``fn`` creates belong to ``netns`` and keep it after the thread is gone (so a
    client connection made here, e.g. a psycopg connection from asb-node, can be used from any
    thread afterwards). The thread exits when ``fn`` returns, so no thread of this process stays
    in another namespace. Inside asb-node and asb-outside there is no route but 198.18.0.0/16.
    """
    if not _NETNS_NAME.match(netns):
        raise ValueError(f"bad namespace name {netns!r}")
    result: dict = {}

    def worker() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    t = threading.Thread(target=worker, name=f"asbuilt-netns-{netns}", daemon=True)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def tcp_probe(netns: str | None, host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection from ``netns`` (None: the host) to host:port is accepted.

    Raises ValueError for any host outside 127.0.0.0/8 and 198.18.0.0/16: a probe never
    connects anywhere else. A dropped SYN shows as False after ``timeout`` seconds.
    """
    if not topo.in_sandbox_net(host):
        raise ValueError(f"refusing to probe {host!r}: not a sandbox address (127.0.0.0/8 or {topo.NET_CIDR})")
    if not 0 < int(port) <= 65535:
        raise ValueError(f"bad port {port!r}")
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    if netns:
        sock = call_in_netns(netns, socket.socket, family, socket.SOCK_STREAM)
    else:
        sock = socket.socket(family, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, int(port)))
            return True
        except OSError:
            return False


# --------------------------------------------------------------------------- the part


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    if check:
        return run(argv, PART, " ".join(argv), timeout=30)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def _netns_list() -> list[str]:
    res = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True, timeout=30)
    try:
        return [e["name"] for e in json.loads(res.stdout or "[]")]
    except (ValueError, KeyError, TypeError):
        return []


def _netns_exists(name: str) -> bool:
    return name in _netns_list()


def _link_exists(name: str, netns: str | None = None) -> bool:
    if netns and not _netns_exists(netns):
        return False
    return _ip("link", "show", "dev", name, netns=netns, check=False).returncode == 0


def _sysctl(netns: str, *assignments: str) -> None:
    run(["ip", "netns", "exec", netns, "sysctl", "-qw", *assignments], PART, f"sysctl in {netns}", timeout=30)


def _default_routes(netns: str | None) -> list[str]:
    out = []
    for fam in ("-4", "-6"):
        res = _ip(fam, "route", "show", "default", netns=netns, check=False)
        out += [line for line in res.stdout.splitlines() if line.strip()]
    return out


class NetworkPart:
    """Creates and removes the sandbox's namespaces, links, routes and packet filter."""

    name = PART

    def install(self) -> None:
        """Ensure ``ip`` (iproute2) and ``nft`` (nftables) exist; apt-get install them if not."""
        missing = [pkg for tool, pkg in (("ip", "iproute2"), ("nft", "nftables")) if not _which(tool)]
        if not missing:
            return
        if not _which("apt-get"):
            raise PartError(PART, f"missing {', '.join(missing)} and no apt-get to install them")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], PART, "apt-get update", timeout=600, env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], PART,
            f"apt-get install {' '.join(missing)}", timeout=900, env=env)

    # ---- start

    def start(self) -> dict:
        """Bring the network up (idempotent: only what is missing is created; the packet filter
        of a running network is kept). Returns its facts."""
        if os.geteuid() != 0:
            raise PartError(PART, "network namespaces need root (CAP_NET_ADMIN)")
        self.install()
        for ns in NAMESPACES:
            if not _netns_exists(ns):
                _ip("netns", "add", ns)
            _ip("link", "set", "lo", "up", netns=ns)
            # v4 only; set before the links exist so they inherit it.
            _sysctl(ns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        _sysctl(topo.NS_VPC, "net.ipv4.ip_forward=1")
        for ns in (topo.NS_NODE, topo.NS_OUTSIDE):
            _sysctl(ns, "net.ipv4.ip_forward=0")

        # host <-> asb-vpc
        if not (_link_exists(HOST_IF) and _link_exists(VPC_HOST_IF, topo.NS_VPC)):
            _ip("link", "del", HOST_IF, check=False)
            _ip("link", "del", VPC_HOST_IF, netns=topo.NS_VPC, check=False)
            _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", VPC_HOST_IF, "netns", topo.NS_VPC)
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{HOST_IF}/disable_ipv6").write_text("1")
        # asb-vpc <-> asb-node, asb-vpc <-> asb-outside (created inside the namespaces: no name
        # is ever taken in the host's namespace but asb-host)
        for vpc_if, leaf_ns in ((VPC_NODE_IF, topo.NS_NODE), (VPC_OUTSIDE_IF, topo.NS_OUTSIDE)):
            if not (_link_exists(vpc_if, topo.NS_VPC) and _link_exists(LEAF_IF, leaf_ns)):
                _ip("link", "del", vpc_if, netns=topo.NS_VPC, check=False)
                _ip("link", "del", LEAF_IF, netns=leaf_ns, check=False)
                _ip("link", "add", vpc_if, "type", "veth", "peer", "name", LEAF_IF, "netns", leaf_ns,
                    netns=topo.NS_VPC)

        for netns, ifname, addr in (
            (None, HOST_IF, topo.HOST_ADDR),
            (topo.NS_VPC, VPC_HOST_IF, topo.VPC_HOST_SIDE),
            (topo.NS_VPC, VPC_NODE_IF, _VPC_NODE_SIDE),
            (topo.NS_VPC, VPC_OUTSIDE_IF, _VPC_OUTSIDE_SIDE),
            (topo.NS_NODE, LEAF_IF, topo.NODE_ADDR),
            (topo.NS_OUTSIDE, LEAF_IF, topo.OUTSIDE_ADDR),
        ):
            _ip("addr", "replace", f"{addr}/{_PREFIX}", "dev", ifname, netns=netns)
            _ip("link", "set", ifname, "up", netns=netns)
        for addr in SERVICE_ADDRS:
            _ip("addr", "replace", f"{addr}/32", "dev", "lo", netns=topo.NS_VPC)

        # The only routes: 198.18.0.0/16 towards asb-vpc. Never a default route.
        _ip("route", "replace", topo.NET_CIDR, "via", topo.VPC_HOST_SIDE, "dev", HOST_IF)
        _ip("route", "replace", topo.NET_CIDR, "via", _VPC_NODE_SIDE, "dev", LEAF_IF, netns=topo.NS_NODE)
        _ip("route", "replace", topo.NET_CIDR, "via", _VPC_OUTSIDE_SIDE, "dev", LEAF_IF, netns=topo.NS_OUTSIDE)
        for ns in NAMESPACES:
            if _default_routes(ns):
                raise PartError(PART, f"namespace {ns} has a default route: {_default_routes(ns)}; refusing")

        if not self._table_exists():
            apply_security_groups([])  # nothing admitted until the security groups are applied
        return self.facts()

    def apply_security_groups(self, rules: list[AllowRule]) -> None:
        apply_security_groups(rules)

    def _table_exists(self) -> bool:
        if not _netns_exists(topo.NS_VPC):
            return False
        res = subprocess.run(["ip", "netns", "exec", topo.NS_VPC, "nft", "list", "table", "inet", TABLE],
                             capture_output=True, text=True, timeout=30)
        return res.returncode == 0

    def facts(self) -> dict:
        return {
            "namespaces": {"vpc": topo.NS_VPC, "inside": topo.NS_NODE, "outside": topo.NS_OUTSIDE},
            "host_link": {"host_if": HOST_IF, "host_addr": topo.HOST_ADDR, "vpc_addr": topo.VPC_HOST_SIDE},
            "net_cidr": topo.NET_CIDR,
            "node_addr": topo.NODE_ADDR,
            "outside_addr": topo.OUTSIDE_ADDR,
            "rds_addr": topo.RDS_ADDR,
            "broker_addrs": list(topo.BROKER_ADDRS),
            "filter": f"inet {TABLE} in {topo.NS_VPC}",
        }

    # ---- stop / status

    def stop(self, kill_leftovers: bool = True) -> None:
        """Remove the namespaces and the host link; idempotent. Processes still running inside
        the sandbox's namespaces (a part that was not stopped) are ended first, by pid: while a
        process holds a namespace, deleting its name would leave the namespace and its links alive."""
        present = [ns for ns in NAMESPACES if _netns_exists(ns)]
        if kill_leftovers:
            pids = sorted({pid for ns in present for pid in _netns_pids(ns)})
            _terminate(pids)
        _ip("link", "del", HOST_IF, check=False)
        for ns in present:
            _ip("netns", "del", ns, check=False)
        with contextlib.suppress(FileNotFoundError):
            _rules_file().unlink()
        left = [ns for ns in NAMESPACES if _netns_exists(ns)]
        if left or _link_exists(HOST_IF):
            raise PartError(PART, f"could not remove {', '.join(left) or HOST_IF}")

    def status(self) -> dict:
        nss = {ns: _netns_exists(ns) for ns in NAMESPACES}
        link = _link_exists(HOST_IF)
        table = self._table_exists()
        up = all(nss.values()) and link and table
        return {
            "part": PART,
            "up": up,
            "address": f"{topo.HOST_ADDR} <-> {topo.VPC_HOST_SIDE} ({topo.NET_CIDR})" if up else None,
            "namespaces": nss,
            "host_link": link,
            "filter": table,
            "rules": len(applied_rules()) if table else 0,
        }


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")


def _netns_pids(ns: str) -> list[int]:
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
    return [int(p) for p in res.stdout.split() if p.isdigit()]


def _terminate(pids: list[int], timeout: float = 10.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
