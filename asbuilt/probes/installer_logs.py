"""The installer Job's log: from the Kubernetes pod log, or from CloudWatch Logs.

``installer.logs.source`` in the target says where to read:

* ``kubernetes`` (default): the log of the newest Pod of the Job (``job-name=<job>``), through
  the API server (``kubectl logs job/<job>``). Needs a kubelet that still has the Pod; a Pod
  deleted by the Job's TTL leaves nothing to read (use CloudWatch then).
* ``cloudwatch``: the log group ``installer.logs.log_group``, the newest stream whose name starts
  with ``<stream_prefix><job>-`` (Fluent Bit / Container Insights name streams after the Pod,
  whose name starts with the Job's). The sandbox ships its installer's lines there.

Lines are returned as they were logged; ``redact`` removes query strings from URLs before any
line becomes evidence (a pre-signed URL's signature is a credential, SUITE-03).
"""

from __future__ import annotations

import re

from asbuilt.probes import ProbeError

SIMULATED = "sandbox.asbuilt.dev/simulated"

_URL_QUERY = re.compile(r"(https?://[^\s?#]+)[?#][^\s]*")
MAX_EVENTS = 20000


def redact(line: str) -> str:
    return _URL_QUERY.sub(r"\1?<redacted>", line)


def from_kubernetes(kube, job: dict) -> dict:
    pods = kube.job_pods(job)
    name = job["metadata"]["name"]
    if not pods:
        raise ProbeError(f"kubernetes: job {job['metadata']['namespace']}/{name} has no pods left to read the "
                         "log from (deleted by the Job's TTL?); ship the logs to CloudWatch and set "
                         "installer.logs.source: cloudwatch")
    pod = max(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
    where = f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}"
    if not (pod.get("spec") or {}).get("nodeName"):
        # No node ran it, so no kubelet holds a log (the API answers an empty one): say so, never judge "".
        sandbox = " (the asbuilt sandbox runs no kubelet; read its CloudWatch Logs)" if SIMULATED in (
            pod["metadata"].get("annotations") or {}) else ""
        raise ProbeError(f"kubernetes: log of {where}: the pod was never bound to a node, so no kubelet has a log "
                         f"for it{sandbox}")
    containers = ((pod.get("spec") or {}).get("containers") or [{}])
    text = kube.pod_log(pod["metadata"]["name"], pod["metadata"]["namespace"], containers[0].get("name"))
    return {"source": "kubernetes", "resource": where, "lines": text.splitlines()}


def from_cloudwatch(aws, log_group: str, job_name: str, stream_prefix: str | None = None) -> dict:
    prefix = f"{stream_prefix or ''}{job_name}-"
    streams = aws.paginate("logs", "describe_log_streams", "logStreams", logGroupName=log_group,
                           logStreamNamePrefix=prefix)
    if not streams:
        raise ProbeError(f"cloudwatch logs: no stream starting with {prefix!r} in log group {log_group} "
                         f"(has job {job_name} run, and are its logs shipped there?)")
    stream = max(streams, key=lambda s: (s.get("lastEventTimestamp") or 0, s.get("creationTime") or 0))
    name = stream["logStreamName"]
    lines: list[str] = []
    token = None
    while len(lines) < MAX_EVENTS:
        kw = {"logGroupName": log_group, "logStreamName": name, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = aws.call("logs", "get_log_events", **kw)
        events = page.get("events") or []
        lines += [e.get("message", "").rstrip("\n") for e in events]
        nxt = page.get("nextForwardToken")
        if not events or nxt == token:
            break
        token = nxt
    return {"source": "cloudwatch", "resource": f"log group {log_group} stream {name}", "lines": lines}
