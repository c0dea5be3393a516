"""NET-*: security groups, load balancer posture, MSK in-transit encryption, VPC placement.

Security groups are given in one neutral form, whatever they were read from
(EC2 DescribeSecurityGroups, Terraform, CloudFormation)::

    {"id": "sg-0123" | "aws_security_group.rds" | "RdsSecurityGroup",
     "resource": "ARN/id or file:line (address)",
     "ingress": [{"resource": "where the rule is written (file:line) or the group id",
                  "protocol": "tcp" | "udp" | "icmp" | "-1",   # -1 = all protocols
                  "from_port": 5432, "to_port": 5432,           # None with protocol -1
                  "cidrs_v4": ["10.0.0.0/16"], "cidrs_v6": [],
                  "groups": ["sg-0456"],                        # referenced (source) security groups
                  "prefix_lists": []}]}
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from asbuilt.model.facts import Unknown, is_unknown
from asbuilt.rules import Finding, UnknownFact, Verdict, errored, passed, summarise

WORLD = {"0.0.0.0/0", "::/0"}


def group_unknown(sg: dict) -> Unknown | None:
    """Why a security group's rules are not known (defined outside the stack, unresolved), or None."""
    u = sg.get("unknown")
    return u if is_unknown(u) else None


def rule_unknowns(rule: dict) -> list[Unknown]:
    """The unknown fields of one ingress rule (protocol, ports, sources)."""
    out = [rule.get(k) for k in ("protocol", "from_port", "to_port") if is_unknown(rule.get(k))]
    out += [c for k in ("cidrs_v4", "cidrs_v6", "groups", "prefix_lists") for c in rule.get(k) or [] if is_unknown(c)]
    return out


def _known_sources(rule: dict, key: str) -> list[str]:
    return [c for c in rule.get(key) or [] if not is_unknown(c)]


def _proto(rule: dict) -> str:
    p = str(rule.get("protocol", "")).lower()
    return {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1", "-1": "-1"}.get(p, p)


def admits_port(rule: dict, port: int) -> bool:
    proto = _proto(rule)
    if proto == "-1":
        return True
    if proto != "tcp":
        return False
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if lo is None and hi is None:
        return True
    try:
        lo_i = int(lo if lo is not None else hi)
        hi_i = int(hi if hi is not None else lo)
    except (TypeError, ValueError):
        return False
    if lo_i == -1 and hi_i == -1:
        return True
    return lo_i <= port <= hi_i


def _ports_text(rule: dict) -> str:
    proto = _proto(rule)
    if proto == "-1":
        return "all traffic"
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if lo is None and hi is None or (str(lo) == "-1" and str(hi) == "-1"):
        return f"{proto} all ports"
    return f"{proto} {lo}" if lo == hi else f"{proto} {lo}-{hi}"


def _sources_text(rule: dict) -> str:
    parts = [*rule.get("cidrs_v4", []), *rule.get("cidrs_v6", []), *rule.get("groups", []),
             *rule.get("prefix_lists", [])]
    return ", ".join(str(p) for p in parts) or "no source"


def _cidr_covers(rule_cidr: str, node_cidr: str) -> bool:
    try:
        outer = ipaddress.ip_network(str(rule_cidr), strict=False)
        inner = ipaddress.ip_network(str(node_cidr), strict=False)
    except ValueError:
        return str(rule_cidr) == str(node_cidr)
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _admits_nodes(groups: list[dict], ports: Iterable[int], node_groups: list[str], node_cidrs: list[str]) -> list[int]:
    """The ports of ``ports`` some ingress rule of ``groups`` admits from the nodes."""
    found = []
    node_groups = [g for g in node_groups if not is_unknown(g)]
    for port in ports:
        for sg in groups:
            for rule in sg.get("ingress", []):
                if rule_unknowns(rule) or not admits_port(rule, port):
                    continue
                if set(map(str, _known_sources(rule, "groups"))) & set(map(str, node_groups)):
                    found.append(port)
                    break
                cidrs = [*_known_sources(rule, "cidrs_v4"), *_known_sources(rule, "cidrs_v6")]
                if any(_cidr_covers(c, n) for c in cidrs if c not in WORLD for n in node_cidrs):
                    found.append(port)
                    break
            if port in found:
                break
    return found


def _admission(control: str, items: list[dict], ports: list[int], kind: str, need_all: bool, fix: str) -> Verdict:
    if not items:
        return errored(control, f"no {kind} found on the target to check")
    findings, unknown = [], []
    for item in items:
        nodes = list(item.get("node_security_groups") or [])
        cidrs = list(item.get("node_cidrs") or [])
        groups = list(item.get("security_groups") or [])
        if not nodes and not cidrs:
            unknown.append(f"{item['resource']}: the EKS node security group is not known")
            continue
        if not groups:
            findings.append(Finding(item['resource'], "has no security group"))
            continue
        admitted = _admits_nodes(groups, ports, nodes, cidrs)
        wanted = " and ".join(map(str, ports)) if need_all else " or ".join(map(str, ports))
        enough = set(admitted) == set(ports) if need_all else bool(admitted)
        unknown_parts = [group_unknown(g) for g in groups if group_unknown(g)]
        unknown_parts += [u for g in groups for r in g.get("ingress", []) for u in rule_unknowns(r)]
        if not enough and unknown_parts:
            # a group or rule the code does not give could be the one that admits the nodes
            unknown.append(f"{item['resource']}: whether its security groups admit TCP {wanted} from the EKS nodes "
                           f"is not known ({'; '.join(sorted({u.reason for u in unknown_parts}))})")
            continue
        if not enough:
            sg_names = ", ".join(str(g.get("resource") or g.get("id")) for g in groups)
            nodes = [n for n in nodes if not is_unknown(n)]
            findings.append(Finding(item["resource"], f"its security group(s) {sg_names} do not admit TCP {wanted} "
                                    f"from the EKS node security group ({', '.join(nodes) or 'none'})"
                                    + (f" or node subnets ({', '.join(cidrs)})" if cidrs else "")))
    if unknown and not findings:
        return errored(control, "; ".join(unknown), items)
    ok = ", ".join(f"{i['resource']}: TCP {'/'.join(map(str, ports))} admitted from the EKS nodes" for i in items)
    return summarise(control, findings, ok, items, fix)


def rds_admits_nodes(databases: list[dict], port: int) -> Verdict:
    """NET-01. databases: [{"resource", "security_groups": [SG...], "node_security_groups": [ids],
    "node_cidrs": [CIDRs of the node subnets]}]"""
    return _admission(
        "NET-01", databases, [port], "RDS instance", True,
        f"add an ingress rule to the database security group for TCP {port} whose source is the EKS node "
        "security group (aws_vpc_security_group_ingress_rule.referenced_security_group_id / "
        "AWS::EC2::SecurityGroupIngress SourceSecurityGroupId)",
    )


def msk_admits_nodes(clusters: list[dict], ports: list[int]) -> Verdict:
    """NET-02. clusters: [{"resource", "security_groups": [SG...], "node_security_groups": [ids], "node_cidrs": []}]"""
    return _admission(
        "NET-02", clusters, list(ports), "MSK cluster", False,
        f"add an ingress rule to the MSK security group for TCP {' and/or '.join(map(str, ports))} (TLS: "
        f"{ports[-1]}) whose source is the EKS node security group",
    )


def no_open_ingress(items: list[dict]) -> Verdict:
    """NET-03. items: [{"resource": the RDS instance or MSK cluster, "allowed_ports": [5432],
    "security_groups": [SG...]}]: no ingress from 0.0.0.0/0 or ::/0, none on another port."""
    if not items:
        return errored("NET-03", "no RDS instance or MSK cluster found on the target to check")
    findings = []
    unknowns: list[UnknownFact] = []
    for item in items:
        allowed = {int(p) for p in item.get("allowed_ports", [])}
        for sg in item.get("security_groups") or []:
            u = group_unknown(sg)
            if u is not None:
                unknowns.append(UnknownFact(f"ingress rules of {sg.get('id')} (a security group of {item['resource']})",
                                            u.where or str(sg.get("resource")), u.reason))
            for rule in sg.get("ingress", []):
                where = rule.get("resource") or sg.get("resource") or sg.get("id")
                world = [c for c in [*_known_sources(rule, "cidrs_v4"), *_known_sources(rule, "cidrs_v6")]
                         if c in WORLD]
                # a source security group, whichever it is, is not the internet: an unknown group id
                # leaves NET-03 decided (an unknown CIDR or prefix list could be 0.0.0.0/0)
                missing = [u for u in rule_unknowns(rule) if not any(u is g for g in rule.get("groups") or [])]
                if missing:
                    if world:  # open to the internet whatever the unknown parts are
                        findings.append(Finding(where, f"{item['resource']} admits traffic from {', '.join(world)}",
                                                about=[item["resource"]]))
                    else:
                        unknowns += [UnknownFact(f"ingress rule of {item['resource']}", m.where or str(where),
                                                 m.reason) for m in missing[:1]]
                    continue
                if world:
                    findings.append(Finding(where, f"{item['resource']} admits {_ports_text(rule)} from {', '.join(world)}",
                                            about=[item["resource"]]))
                proto = _proto(rule)
                if proto == "-1":
                    findings.append(Finding(where, f"{item['resource']} admits all traffic from {_sources_text(rule)} "
                                    f"(only TCP {'/'.join(map(str, sorted(allowed)))} is allowed)",
                                            about=[item["resource"]]))
                    continue
                lo, hi = rule.get("from_port"), rule.get("to_port")
                try:
                    span = set(range(int(lo), int(hi) + 1)) if proto == "tcp" and lo is not None and hi is not None \
                        and int(lo) >= 0 else None
                except (TypeError, ValueError):
                    span = None
                if proto != "tcp" or span is None or not span <= allowed:
                    findings.append(Finding(where, f"{item['resource']} admits {_ports_text(rule)} from "
                                    f"{_sources_text(rule)} (only TCP {'/'.join(map(str, sorted(allowed)))} is allowed)",
                                            about=[item["resource"]]))
    ok = ", ".join(f"{i['resource']}: only TCP {'/'.join(map(str, i.get('allowed_ports', [])))}, nothing from the "
                   "internet" for i in items)
    return summarise(
        "NET-03", findings, ok, items,
        "remove the ingress rules that open other ports or admit 0.0.0.0/0 / ::/0; keep only the database / "
        "Kafka ports from the EKS node security group", unknowns,
    )


def alb_posture(balancers: list[dict], scheme: str) -> Verdict:
    """NET-06. balancers: [{"resource", "scheme": "internal" | "internet-facing",
    "listeners": [{"resource", "port": 443, "protocol": "HTTPS", "action": "forward" | "redirect" | ...,
                   "redirect_protocol": "HTTPS"}],
    "https_sources": [cidrs/groups admitted on 443] or None when not known}]"""
    if not balancers:
        return errored("NET-06", "no application load balancer found on the target to check")
    findings = []
    for b in balancers:
        if (b.get("scheme") or "").lower() != scheme.lower():
            findings.append(Finding(b['resource'], f"scheme is {b.get('scheme')!r}, the declared posture is {scheme!r}"))
        listeners = b.get("listeners") or []
        if not any(int(x.get("port") or 0) == 443 and str(x.get("protocol", "")).upper() == "HTTPS" for x in listeners):
            findings.append(Finding(b['resource'], "no HTTPS listener on 443"))
        for x in listeners:
            port = int(x.get("port") or 0)
            proto = str(x.get("protocol", "")).upper()
            if port == 443 and proto == "HTTPS":
                continue
            where = x.get("resource") or b["resource"]
            if proto == "HTTP" or port == 80:
                if x.get("action") != "redirect" or str(x.get("redirect_protocol", "")).upper() != "HTTPS":
                    findings.append(Finding(where, f"HTTP listener on {port} does {x.get('action')!r} instead of "
                                    "redirecting to HTTPS"))
            else:
                findings.append(Finding(where, f"unexpected listener {proto} {port}"))
        sources = b.get("https_sources")
        if sources is not None and not sources:
            findings.append(Finding(b['resource'], "its security groups admit nothing on 443, users cannot reach it"))
    ok = ", ".join(f"{b['resource']}: {b.get('scheme')}, HTTPS 443"
                   + (", HTTP 80 redirects" if any(int(x.get('port') or 0) == 80 for x in b.get('listeners') or [])
                      else "") for b in balancers)
    return summarise(
        "NET-06", findings, ok, balancers,
        f"make the load balancer {scheme} (aws_lb.internal / Scheme / alb.ingress.kubernetes.io/scheme), "
        "serve HTTPS on 443 with a certificate, and let port 80 only redirect to HTTPS "
        "(redirect action / alb.ingress.kubernetes.io/ssl-redirect: '443')",
    )


def msk_client_tls(clusters: list[dict]) -> Verdict:
    """NET-07. clusters: [{"resource", "client_broker": "TLS" | "TLS_PLAINTEXT" | "PLAINTEXT"}]"""
    if not clusters:
        return errored("NET-07", "no MSK cluster found on the target to check")
    findings = [Finding(c['resource'], f"client-broker encryption is {c.get('client_broker')}, not TLS")
                for c in clusters if str(c.get("client_broker") or "").upper() != "TLS"]
    return summarise(
        "NET-07", findings, ", ".join(f"{c['resource']}: client-broker TLS" for c in clusters), clusters,
        "set client-broker in-transit encryption to TLS (encryption_info.encryption_in_transit.client_broker / "
        "EncryptionInfo.EncryptionInTransit.ClientBroker) and move clients to port 9094",
    )


def same_vpc(members: list[dict]) -> Verdict:
    """NET-08. members: [{"resource", "kind": "eks" | "rds" | "msk", "vpc": id or None,
    "peered_vpcs": [VPC ids peered with this one AND routed]}]"""
    if not members:
        return errored("NET-08", "no EKS cluster, RDS instance or MSK cluster found on the target to check")
    unknown = [m for m in members if not m.get("vpc")]
    if unknown:
        return errored("NET-08", "; ".join(f"{m['resource']}: its VPC is not known" for m in unknown), members)
    findings = []
    for i, a in enumerate(members):
        for b in members[i + 1:]:
            if a["vpc"] == b["vpc"]:
                continue
            if b["vpc"] in (a.get("peered_vpcs") or []) or a["vpc"] in (b.get("peered_vpcs") or []):
                continue
            findings.append(Finding(a['resource'], f"{a['resource']} is in VPC {a['vpc']} but {b['resource']} is in VPC {b['vpc']}, "
                            "with no routed peering between them"))
    vpcs = sorted({m["vpc"] for m in members})
    if len(members) == 1 and not findings:
        return passed("NET-08", f"{members[0]['resource']} in VPC {members[0]['vpc']} (nothing else to compare)",
                      members)
    return summarise(
        "NET-08", findings, f"{', '.join(m['kind'] for m in members)} in VPC {', '.join(vpcs)}", members,
        "place EKS, RDS and MSK in the same VPC (their subnets / subnet groups), or peer the VPCs and route "
        "between them (aws_vpc_peering_connection plus routes in both route tables)",
    )
