"""NET-04 / NET-05: what a TCP connect from each vantage point experienced (live-only controls).

Evidence, one entry per probe::

    {"vantage": "eks-node", "role": "inside" | "outside", "kind": "netns" | "local" | "ssh" | "kubectl",
     "service": "RDS" | "MSK broker", "host": "198.18.10.10", "port": 5432,
     "endpoint_from": "target postgres.host" | "rds:DescribeDBInstances" | ...,
     "resource": the RDS instance / MSK cluster it stands for,
     "connected": true | false, "detail": "connected" | "refused" | "timed out" | ...}
"""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, summarise


def _where(p: dict) -> str:
    return f"{p['service']} {p['host']}:{p['port']}" + (f" ({p['resource']})" if p.get("resource") else "")


def reachable_from_inside(probes: list[dict], timeout: float) -> Verdict:
    """NET-04: every data endpoint connects from every inside vantage point."""
    inside = [p for p in probes if p.get("role") == "inside"]
    if not inside:
        return errored("NET-04", "the target names no vantage point inside the cluster network "
                                 "(vantage_points with role: inside)")
    findings = [Finding(_where(p), f"{_where(p)} is not reachable from {p['vantage']} ({p['detail']} within {timeout:g} s)")
                for p in inside if not p.get("connected")]
    ok = (f"{len(inside)} TCP connect(s) from {', '.join(sorted({p['vantage'] for p in inside}))} succeeded: "
          + ", ".join(f"{p['service']} {p['host']}:{p['port']}" for p in inside))
    return summarise(
        "NET-04", findings, ok, inside,
        "let the EKS nodes reach the database and every broker: check the RDS/MSK security group rules (NET-01, "
        "NET-02), the network ACLs of the node and data subnets (both directions, ephemeral ports) and the routes "
        "between them (NET-08)",
    )


def unreachable_from_outside(probes: list[dict], timeout: float) -> Verdict:
    """NET-05: no data endpoint connects from any outside vantage point."""
    outside = [p for p in probes if p.get("role") == "outside"]
    if not outside:
        return errored("NET-05", "the target names no vantage point outside the VPC "
                                 "(vantage_points with role: outside)")
    findings = [Finding(_where(p), f"{_where(p)} accepts TCP connections from {p['vantage']}, outside the VPC")
                for p in outside if p.get("connected")]
    ok = (f"{len(outside)} TCP connect(s) from {', '.join(sorted({p['vantage'] for p in outside}))} were refused or "
          f"timed out ({timeout:g} s): " + ", ".join(f"{p['service']} {p['host']}:{p['port']}" for p in outside))
    return summarise(
        "NET-05", findings, ok, outside,
        "make the database and the brokers private: remove security group rules that admit 0.0.0.0/0, ::/0 or "
        "other outside ranges (NET-03), set PubliclyAccessible false on RDS and turn MSK public access off",
    )
