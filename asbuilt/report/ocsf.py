"""results.ocsf.json (`-o ocsf`): one OCSF Compliance Finding (class 2003) per control, for security
data lakes (Amazon Security Lake, OpenSearch, Splunk), built with py-ocsf-models as Prowler builds
its OCSF output (a JSON array of events, ``model_dump_json(exclude_none=True)`` each).

Mapping (asbuilt status -> compliance.status_id / finding status_id):

* ``pass`` -> Pass / New; ``fail`` and ``warn`` (a failing ``should``) -> Fail / New;
* ``waived`` -> Fail / Suppressed (a known violation, accepted until the waiver expires);
* ``error`` -> Warning / New (OCSF: "did not yield a result due to missing information");
* ``skipped`` / ``pending`` -> Unknown / New. ``status_code`` always carries asbuilt's own status.

Severity: must -> High, should -> Medium, info -> Informational. ``finding_info.uid`` is stable for
a target and control (sha256), so a data lake can follow one control's findings over runs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from asbuilt import __version__
from asbuilt.report.controls_doc import help_uri

_COMPLIANCE = {"pass": "Pass", "fail": "Fail", "warn": "Fail", "waived": "Fail", "error": "Warning",
               "skipped": "Unknown", "pending": "Unknown"}
_SEVERITY = {"must": "High", "should": "Medium", "info": "Informational"}


def _time(value: str | None) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)


def events(doc: dict[str, Any]) -> list[Any]:
    """The Compliance Findings of a results.json document."""
    from py_ocsf_models.events.findings.activity_id import ActivityID
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
    from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
    from py_ocsf_models.events.findings.severity_id import SeverityID
    from py_ocsf_models.events.findings.status_id import StatusID
    from py_ocsf_models.objects.compliance import Compliance
    from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
    from py_ocsf_models.objects.finding_info import FindingInformation
    from py_ocsf_models.objects.metadata import Metadata
    from py_ocsf_models.objects.product import Product
    from py_ocsf_models.objects.remediation import Remediation
    from py_ocsf_models.objects.resource_details import ResourceDetails

    run = doc.get("run") or {}
    when = _time(run.get("finished") or run.get("started"))
    target = str(run.get("target_name") or run.get("target") or "")
    out = []
    for c in doc.get("controls") or []:
        if c["status"] == "skipped" and str(c.get("message", "")).startswith("not selected"):
            continue
        severity = getattr(SeverityID, _SEVERITY.get(c["severity"], "Unknown"))
        finding_status = StatusID.Suppressed if c["status"] == "waived" else StatusID.New
        compliance_status = getattr(ComplianceStatusID, _COMPLIANCE.get(c["status"], "Unknown"))
        resources = [ResourceDetails(name=f["resource"], uid=f["resource"], data={"what": f.get("what", "")})
                     for f in c.get("findings") or [] if f.get("resource")]
        uid = hashlib.sha256(f"{target}\0{run.get('profile')}\0{c['id']}".encode()).hexdigest()
        out.append(ComplianceFinding(
            message=c.get("message", ""),
            activity_id=ActivityID.Create.value,
            activity_name=ActivityID.Create.name,
            finding_info=FindingInformation(
                created_time=int(when.timestamp()), created_time_dt=when, uid=uid,
                title=f"{c['id']} {c.get('title', '')}".strip(), desc=c.get("requirement") or c.get("title"),
                types=[f"asbuilt/{c.get('profile')}/{c.get('area')}"], src_url=help_uri(c["id"])),
            compliance=Compliance(
                control=c["id"], desc=c.get("requirement") or None, requirements=[c["id"]],
                standards=[f"asbuilt {run.get('profile')} reference architecture"],
                status_id=compliance_status, category=c.get("area")),
            remediation=Remediation(desc=c.get("remediation") or "-", references=[help_uri(c["id"])]),
            resources=resources or None,
            severity_id=severity.value,
            severity=severity.name,
            status_id=finding_status.value,
            status=finding_status.name,
            status_code=c["status"],
            status_detail=c.get("message", ""),
            time=int(when.timestamp()),
            time_dt=when,
            type_uid=ComplianceFindingTypeID.Create,
            type_name=f"Compliance Finding: {ComplianceFindingTypeID.Create.name}",
            metadata=Metadata(
                event_code=c["id"],
                product=Product(uid="asbuilt", name="asbuilt", vendor_name="asbuilt", version=__version__),
                profiles=["datetime"],
                tenant_uid=target or None,
            ),
            unmapped={"asbuilt": {"target": target, "profile": run.get("profile"), "source": c.get("source"),
                                  "where": c.get("where"), "waiver": c.get("waiver")}},
        ))
    return out


def write_ocsf(path: Path, doc: dict[str, Any]) -> None:
    items = [json.loads(e.model_dump_json(exclude_none=True)) for e in events(doc)]
    path.write_text(json.dumps(items, indent=2) + "\n")
