"""SIZE-*: instance types of the EKS node group, the RDS instance and the MSK brokers.

Instance types are compared by family and size: ``m6i.xlarge`` is family ``m6i`` (series ``m``,
generation 6, attributes ``i``), size ``xlarge``. Sizes rank nano < micro < small < medium <
large < xlarge < 2xlarge < 3xlarge < ... < metal.

* SIZE-01 ("or larger in the same family"): the family must be the reference family itself.
* SIZE-02 / SIZE-03 ("or larger"): the same series (``r`` for db.r6g, ``m`` for kafka.m5) at the
  reference generation or newer, at the reference size or larger. ``db.r7g.large`` and
  ``db.r6i.xlarge`` meet ``db.r6g.large``; ``db.t3.large`` and ``db.r6g.medium`` do not.
"""

from __future__ import annotations

import re

from asbuilt.rules import Finding, Verdict, errored, summarise

_BASE_SIZES = ["nano", "micro", "small", "medium", "large", "xlarge"]
_PREFIXES = ("db.", "kafka.", "express.", "cache.")
_FAMILY = re.compile(r"^([a-z]+?)(\d+)([a-z0-9-]*)$")


def size_rank(size: str) -> int | None:
    size = size.lower()
    if size in _BASE_SIZES:
        return _BASE_SIZES.index(size)
    m = re.fullmatch(r"(\d+)xlarge", size)
    if m:
        return len(_BASE_SIZES) - 2 + int(m.group(1))  # 2xlarge ranks just above xlarge
    if size.startswith("metal"):
        return 1000
    return None


def parse_type(instance_type: str) -> tuple[str, str, int, str] | None:
    """'db.r6g.large' -> (family 'r6g', size 'large', generation 6, series 'r'); None when not a type."""
    text = str(instance_type or "").strip().lower()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    parts = text.split(".")
    if len(parts) != 2:
        return None
    family, size = parts
    m = _FAMILY.match(family)
    if not m or size_rank(size) is None:
        return None
    return family, size, int(m.group(2)), m.group(1)


def meets(actual: str, reference: str, same_family: bool) -> bool | None:
    """Whether ``actual`` is ``reference`` or larger (see the module docstring); None if unparseable."""
    a, r = parse_type(actual), parse_type(reference)
    if a is None or r is None:
        return None
    a_family, a_size, a_gen, a_series = a
    r_family, r_size, r_gen, r_series = r
    if same_family:
        family_ok = a_family == r_family
    else:
        family_ok = a_series == r_series and a_gen >= r_gen
    return family_ok and size_rank(a_size) >= size_rank(r_size)  # type: ignore[operator]


def _why(actual: str, reference: str, same_family: bool) -> str:
    if same_family:
        return f"is not {reference} or larger in the {parse_type(reference)[0]} family"  # type: ignore[index]
    return f"is smaller than {reference} (or of another series)"


def eks_nodegroup_size(groups: list[dict], instance_type: str, min_size: int) -> Verdict:
    """SIZE-01. groups: [{"resource", "instance_types": ["m6i.xlarge"], "min_size": 2}]

    An empty ``instance_types`` means the EKS default (t3.medium) unless a launch template sets one.
    """
    if not groups:
        return errored("SIZE-01", "no EKS managed node group found on the target to check")
    findings = []
    for g in groups:
        types = [t for t in (g.get("instance_types") or []) if t]
        if not types:
            findings.append(Finding(g['resource'], "no instance type set (EKS defaults to t3.medium)"))
        for t in types:
            ok = meets(t, instance_type, same_family=True)
            if not ok:
                findings.append(Finding(g['resource'], f"instance type {t} {_why(t, instance_type, True)}"))
        size = g.get("min_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < min_size:
            findings.append(Finding(g['resource'], f"min size is {size}, below {min_size}"))
    ok_msg = ", ".join(f"{g['resource']}: {'/'.join(g.get('instance_types') or [])}, min {g.get('min_size')}"
                       for g in groups)
    return summarise(
        "SIZE-01", findings, ok_msg, groups,
        f"run the node group on {instance_type} (or a larger size of the same family) with a minimum of "
        f"{min_size} nodes (instance_types / scaling_config.min_size; InstanceTypes / ScalingConfig.MinSize); "
        "changing instance types replaces the node group, so create the new one first and drain the old",
    )


def rds_instance_class(instances: list[dict], instance_class: str) -> Verdict:
    """SIZE-02. instances: [{"resource", "instance_class": "db.r6g.large"}]"""
    if not instances:
        return errored("SIZE-02", "no RDS instance found on the target to check")
    findings = []
    for i in instances:
        cls = i.get("instance_class")
        ok = meets(cls or "", instance_class, same_family=False)
        if ok is None:
            findings.append(Finding(i['resource'], f"instance class {cls!r} is not an RDS instance class"))
        elif not ok:
            findings.append(Finding(i['resource'], f"instance class {cls} {_why(cls, instance_class, False)}"))
    return summarise(
        "SIZE-02", findings, ", ".join(f"{i['resource']}: {i.get('instance_class')}" for i in instances), instances,
        f"use {instance_class} or larger (instance_class / DBInstanceClass; applied in the maintenance window, "
        "a Multi-AZ instance resizes the standby first and fails over)",
    )


def msk_broker_type(clusters: list[dict], instance_type: str) -> Verdict:
    """SIZE-03. clusters: [{"resource", "instance_type": "kafka.m5.large"}]"""
    if not clusters:
        return errored("SIZE-03", "no MSK cluster found on the target to check")
    findings = []
    for c in clusters:
        t = c.get("instance_type")
        ok = meets(t or "", instance_type, same_family=False)
        if ok is None:
            findings.append(Finding(c['resource'], f"broker type {t!r} is not an MSK broker type"))
        elif not ok:
            findings.append(Finding(c['resource'], f"broker type {t} {_why(t, instance_type, False)}"))
    return summarise(
        "SIZE-03", findings, ", ".join(f"{c['resource']}: {c.get('instance_type')}" for c in clusters), clusters,
        f"use {instance_type} or larger brokers (broker_node_group_info.instance_type / "
        "BrokerNodeGroupInfo.InstanceType; MSK changes brokers one at a time)",
    )
