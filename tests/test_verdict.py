"""A verdict is a structure that survives the trip between processes (xdist workers, the live
suite's verdicts file): findings with and without a resource, unknown facts, the fix."""

from __future__ import annotations

import json

from asbuilt.rules import summarise
from asbuilt.verdict import Finding, UnknownFact, Verdict


def test_a_verdict_round_trips_through_json():
    v = summarise("K8S-02", [Finding("", "no alb Ingress with TLS routes to the portal service"),
                             Finding("Ingress conncentric/x", "no TLS")], "", [{"resource": "Ingress conncentric/x"}],
                  "route through an alb Ingress with TLS")
    back = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    assert back == v and back.status == "fail" and back.findings[0].resource == ""
    assert back.message.endswith(". Fix: route through an alb Ingress with TLS")
    e = summarise("HA-01", [], "", [], "fix", [UnknownFact("multi_az of db", "rds.tf:3", "variable x has no value")])
    assert Verdict.from_json(json.loads(json.dumps(e.to_json()))) == e and e.status == "error"
