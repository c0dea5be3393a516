"""HA-*: Multi-AZ, backups, broker and node spread, replication."""

from __future__ import annotations

from asbuilt.model.facts import is_unknown
from asbuilt.rules import Finding, UnknownFact, Verdict, errored, summarise


def rds_multi_az(instances: list[dict]) -> Verdict:
    """HA-01. instances: [{"resource": arn, "multi_az": bool}]"""
    if not instances:
        return errored("HA-01", "no RDS instance found on the target to check")
    findings = [
        Finding(i['resource'], f"MultiAZ is {str(i.get('multi_az')).lower()}")
        for i in instances
        if i.get("multi_az") is not True
    ]
    return summarise(
        "HA-01", findings,
        ", ".join(f"{i['resource']}: MultiAZ true" for i in instances), instances,
        "enable Multi-AZ on the instance (multi_az = true / MultiAZ: true / modify-db-instance --multi-az; "
        "the conversion adds a standby in another AZ and may cause a brief failover)",
    )


def rds_backups(instances: list[dict], min_retention_days: int, reference_retention_days: int = 7) -> Verdict:
    """HA-02. instances: [{"resource": arn, "backup_retention_days": int}]"""
    if not instances:
        return errored("HA-02", "no RDS instance found on the target to check")
    findings = []
    for i in instances:
        days = i.get("backup_retention_days")
        if not isinstance(days, int) or days < min_retention_days:
            findings.append(Finding(i['resource'], f"backup retention is {days} day(s), below {min_retention_days}"))
    return summarise(
        "HA-02", findings,
        ", ".join(f"{i['resource']}: backups kept {i['backup_retention_days']} day(s)" for i in instances),
        instances,
        f"set the backup retention period to at least {min_retention_days} day(s), reference "
        f"{reference_retention_days} (backup_retention_period / BackupRetentionPeriod)",
    )


def _zone_findings(resource: str, zones: list, need: int, what: str) -> tuple[list[Finding], list[UnknownFact]]:
    """(findings, unknowns) for a resource whose subnets must span ``need`` distinct zones.

    zones: one entry per subnet; None where the zone is not known (a static reader could not
    resolve it). Unknown zones are reported only when the known ones are not enough.
    """
    known = {z for z in zones if isinstance(z, str) and z}
    unknown = [z for z in zones if not (isinstance(z, str) and z)]
    if len(known) >= need:
        return [], []
    if unknown:
        told = [u for u in unknown if is_unknown(u)]
        first = told[0] if told else None
        reason = first.reason if first is not None else "set availability_zone / AvailabilityZone so it can be read"
        others = list(dict.fromkeys(f"{u.where}: {u.reason}" if u.where else u.reason for u in told[1:]
                                    if u.reason != first.reason))
        if others:  # each subnet's own reason: they may need different fixes (a parameter, the region)
            reason = "; ".join([reason, *others])
        return [], [UnknownFact(f"the availability zone of {len(unknown)} of the {what} subnet(s) of {resource}",
                                (first.where if first is not None and first.where else resource), reason)]
    shown = ", ".join(sorted(known)) or "none"
    return [Finding(resource, f"{what} subnets span {len(known)} availability zone(s) ({shown}), fewer than {need}")], []


def _summarise_zones(control: str, findings: list[Finding], unknowns: list[UnknownFact], ok: str, items: list[dict],
                     fix: str) -> Verdict:
    return summarise(control, findings, ok, items, fix, unknowns)


def msk_broker_spread(clusters: list[dict], brokers: int, zones: int) -> Verdict:
    """HA-03. clusters: [{"resource", "broker_count": 3, "zones": ["us-east-1a", ...] (one per client subnet)}]"""
    if not clusters:
        return errored("HA-03", "no MSK cluster found on the target to check")
    findings: list[str] = []
    unknowns: list[str] = []
    for c in clusters:
        count = c.get("broker_count")
        if not isinstance(count, int) or isinstance(count, bool) or count < brokers:
            findings.append(Finding(c['resource'], f"{count} broker node(s), fewer than {brokers}"))
        f, u = _zone_findings(c["resource"], list(c.get("zones") or []), zones, "client")
        findings += f
        unknowns += u
    ok = ", ".join(f"{c['resource']}: {c.get('broker_count')} brokers over "
                   f"{len({z for z in c.get('zones') or [] if isinstance(z, str) and z})} AZs" for c in clusters)
    return _summarise_zones(
        "HA-03", findings, unknowns, ok, clusters,
        f"run {brokers} broker nodes with one client subnet in each of {zones} availability zones "
        "(number_of_broker_nodes / NumberOfBrokerNodes and broker_node_group_info.client_subnets / "
        "BrokerNodeGroupInfo.ClientSubnets; the broker count must be a multiple of the AZ count)",
    )


def eks_nodegroup_spread(groups: list[dict], min_zones: int, min_nodes: int) -> Verdict:
    """HA-04. groups: [{"resource", "zones": [...] (one per subnet), "min_size": 2, "desired_size": 3}]"""
    if not groups:
        return errored("HA-04", "no EKS managed node group found on the target to check")
    findings: list[str] = []
    unknowns: list[str] = []
    for g in groups:
        f, u = _zone_findings(g["resource"], list(g.get("zones") or []), min_zones, "node group")
        findings += f
        unknowns += u
        for key in ("min_size", "desired_size"):
            n = g.get(key)
            if n is None and key == "desired_size":
                continue  # desired defaults to min when unset
            if not isinstance(n, int) or isinstance(n, bool) or n < min_nodes:
                findings.append(Finding(g['resource'], f"{key.replace('_', ' ')} is {n}, below {min_nodes}"))
    ok = ", ".join(f"{g['resource']}: {len({z for z in g.get('zones') or [] if isinstance(z, str) and z})} AZs, "
                   f"min {g.get('min_size')}, desired {g.get('desired_size')}" for g in groups)
    return _summarise_zones(
        "HA-04", findings, unknowns, ok, groups,
        f"give the node group subnets in at least {min_zones} availability zones and at least {min_nodes} "
        "nodes (subnet_ids and scaling_config.min_size/desired_size; Subnets and ScalingConfig)",
    )


def alb_spread(balancers: list[dict], min_zones: int) -> Verdict:
    """HA-06. balancers: [{"resource", "zones": [...] (one per subnet / subnet mapping)}]"""
    if not balancers:
        return errored("HA-06", "no application load balancer found on the target to check")
    findings: list[str] = []
    unknowns: list[str] = []
    for b in balancers:
        f, u = _zone_findings(b["resource"], list(b.get("zones") or []), min_zones, "load balancer")
        findings += f
        unknowns += u
    ok = ", ".join(f"{b['resource']}: {len({z for z in b.get('zones') or [] if isinstance(z, str) and z})} AZs"
                   for b in balancers)
    return _summarise_zones(
        "HA-06", findings, unknowns, ok, balancers,
        f"attach the load balancer to subnets in at least {min_zones} availability zones "
        "(aws_lb.subnets / Subnets, or the Ingress annotation alb.ingress.kubernetes.io/subnets)",
    )
