"""Running the installer again, for INST-02, INST-03 and BNDL-03 (``@mutating`` scenarios only).

How is part of the target file (``installer.trigger.kind``):

* ``job-template`` (a real cluster): a Job made from the release's installer Job (its hook
  manifest in the helm release), renamed ``asbuilt-selftest-installer-<id>``, its helm hook
  annotations dropped, ``backoffLimit: 0`` and ``ttlSecondsAfterFinished: 3600`` (so a run
  interrupted before clean-up still goes away), labelled ``asbuilt.dev/selftest=true``. The suite
  creates it, waits for Complete or Failed (bounded by the profile's
  ``installer_timeout_seconds``), reads its log from where the target ships it
  (``installer.logs``: the pod log, or CloudWatch Logs), and deletes it. See
  ``deploy/sandbox-installer-job.md`` for the RBAC it needs. The embedded sandbox is such a
  cluster: its agent stands in for the Job controller and the kubelet, and the suite talks to it
  only through the Kubernetes API, as to EKS.
* ``command``: ``installer.trigger.command`` (argv), run with ``CUSTOM_BUNDLE_URLS`` in its
  environment (comma-separated) and the same bound; exit status 0 is a completed run.

"Same inputs" is the release's installer Job template unchanged; INST-03 and BNDL-03 replace the
bundle URLs only (the ``CUSTOM_BUNDLE_URLS`` variable of the installer container, which is how
the chart hands ``installer.customBundleUrls`` to the installer).
"""

from __future__ import annotations

import copy
import os
import secrets
import subprocess
import time
from typing import Any

from asbuilt.probes import ProbeError
from asbuilt.probes.installer_logs import redact

BUNDLE_ENV = "CUSTOM_BUNDLE_URLS"
SELFTEST_LABEL = "asbuilt.dev/selftest"


def installer_container(template: dict) -> dict:
    containers = ((((template.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])
    if not containers:
        raise ProbeError(f"installer Job {template.get('metadata', {}).get('name')}: no container in its template")
    return containers[0]


def with_bundle_urls(container: dict, urls: list[str] | None) -> dict:
    """A copy of the installer container with CUSTOM_BUNDLE_URLS replaced (None: unchanged)."""
    c = copy.deepcopy(container)
    if urls is None:
        return c
    env = c.setdefault("env", [])
    for e in env:
        if e.get("name") == BUNDLE_ENV:
            e.pop("valueFrom", None)
            e["value"] = ",".join(urls)
            return c
    raise ProbeError(f"the installer container {c.get('name')} has no {BUNDLE_ENV} variable: asbuilt cannot "
                     "point it at another bundle (set installer.trigger.kind: command)")


def selftest_job(template: dict, urls: list[str] | None, run_id: str) -> dict:
    """The Job the job-template trigger creates (see the module docstring)."""
    job = copy.deepcopy(template)
    meta = job.setdefault("metadata", {})
    name = f"asbuilt-selftest-installer-{run_id}"
    meta["name"] = name
    for k in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink"):
        meta.pop(k, None)
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items()
                           if not k.startswith("helm.sh/hook")}
    meta["labels"] = {**(meta.get("labels") or {}), SELFTEST_LABEL: "true"}
    spec = job.setdefault("spec", {})
    spec.pop("selector", None)
    spec["backoffLimit"] = 0
    spec["ttlSecondsAfterFinished"] = 3600
    tmpl = spec.setdefault("template", {})
    tmeta = tmpl.setdefault("metadata", {})
    tmeta["labels"] = {k: v for k, v in (tmeta.get("labels") or {}).items()
                       if k not in ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                                    "batch.kubernetes.io/job-name")}
    tmeta["labels"][SELFTEST_LABEL] = "true"
    containers = tmpl.setdefault("spec", {}).setdefault("containers", [])
    if containers:
        containers[0] = with_bundle_urls(containers[0], urls)
    job.pop("status", None)
    return job


def failed_message(job: dict) -> str:
    """The Job's Failed condition message (the Job controller's account of why), or ''."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Failed" and c.get("status") == "True":
            return " ".join(str(c.get("message") or c.get("reason") or "").split())[:300]
    return ""


class InstallerRunner:
    def __init__(self, target, kube=None, aws=None):
        self.target = target
        self.kube = kube
        self.aws = aws  # for installer.logs.source: cloudwatch
        trigger = target.installer.trigger if target.installer else None
        self.kind = trigger.kind if trigger else "job-template"
        self.command = trigger.command if trigger else None

    def _template(self) -> dict:
        if self.kube is None:
            raise ProbeError(f"installer.trigger.kind {self.kind} needs the target's kubernetes section")
        return self.kube.installer_job_template()

    def run(self, timeout: float, bundle_urls: list[str] | None = None) -> dict[str, Any]:
        """One installer run; {"trigger", "resource", "outcome": "complete"|"failed", "exit_code",
        "lines", "seconds"}. ProbeError (-> error) when it does not finish within ``timeout``."""
        run_id = secrets.token_hex(4)
        t0 = time.monotonic()
        if self.kind == "job-template":
            out = self._job(timeout, bundle_urls, run_id)
        else:
            out = self._command(timeout, bundle_urls)
        out["seconds"] = round(time.monotonic() - t0, 2)
        out["lines"] = [redact(line) for line in out.get("lines", [])][-40:]
        return out

    def _job(self, timeout: float, urls: list[str] | None, run_id: str) -> dict:
        from asbuilt.probes.k8s import job_outcome, job_state

        template = self._template()
        body = selftest_job(template, urls, run_id)
        name = body["metadata"]["name"]
        ns = self.kube.namespace
        self.kube.create_job(body, ns)
        try:
            job = self.kube.wait_job(name, timeout, ns)
            lines: list[str] = []
            log_note = None
            log_resource = None
            try:
                log = self._log(job)
                lines, log_resource = log["lines"], log["resource"]
            except ProbeError as exc:
                log_note = f"log not readable: {exc}"
            outcome = job_outcome(job)
            out = {"trigger": "job-template", "resource": f"job {ns}/{name} (from {template['metadata']['name']})",
                   "outcome": outcome, "exit_code": 0 if outcome == "complete" else 1, "lines": lines,
                   "state": job_state(job), "log_note": log_note, "log": log_resource}
            if outcome != "complete":
                out["stderr"] = failed_message(job)
            return out
        finally:
            self.kube.delete_job(name, ns)

    def _log(self, job: dict) -> dict:
        """The Job's log from where the target ships it (``installer.logs``), as INST-01 reads it."""
        from asbuilt.probes import installer_logs

        logs = self.target.installer.logs if self.target.installer else None
        if logs is not None and logs.source == "cloudwatch":
            if not logs.log_group:
                raise ProbeError("installer.logs.source is cloudwatch but installer.logs.log_group is not set")
            if self.aws is None:
                raise ProbeError("installer logs in CloudWatch need the target's aws section")
            return installer_logs.from_cloudwatch(self.aws, logs.log_group, job["metadata"]["name"],
                                                  logs.stream_prefix)
        return installer_logs.from_kubernetes(self.kube, job)

    def _command(self, timeout: float, urls: list[str] | None) -> dict:
        if not self.command:
            raise ProbeError("installer.trigger.kind is command but installer.trigger.command is empty")
        env = dict(os.environ)
        if urls is not None:
            env[BUNDLE_ENV] = ",".join(urls)
        try:
            res = subprocess.run(self.command, capture_output=True, text=True, timeout=timeout, env=env,
                                 stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ProbeError(f"waited {timeout:.0f}s for the installer command {self.command[0]} to finish; "
                             "it did not") from None
        except OSError as exc:
            raise ProbeError(f"cannot run the installer command {self.command[0]}: {exc.strerror}") from None
        return {"trigger": "command", "resource": f"command {self.command[0]}",
                "outcome": "complete" if res.returncode == 0 else "failed", "exit_code": res.returncode,
                "lines": res.stdout.splitlines(), "stderr": " | ".join(res.stderr.strip().splitlines()[-3:])}
