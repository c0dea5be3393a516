"""CPX-03/04/06 on constructed KafkaPrincipal objects: the reference's ACLs conform; the seed
blog's one account with READ/WRITE/DESCRIBE on prefix '*' topics and groups for all three
Connect roles fails CPX-03 and CPX-04; unknown ACLs are error, never pass."""

from __future__ import annotations

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.model.facts import Unknown
from asbuilt.model.kafka import AclEntry, KafkaPrincipal
from asbuilt.rules.composex import principal_item
from asbuilt_sandbox import composex_reference as cx

PROFILE = load_profile("composex-ecs")
CONTEXT = {"group_id": "connect", **cx.INTERNAL_TOPICS}


def principals(ref: cx.ComposexReference) -> list[KafkaPrincipal]:
    acls = ref.acls()
    out = []
    for p in ref.principals():
        user = p["principal"].split(":", 1)[1]
        out.append(KafkaPrincipal(p["principal"], p["principal"], p["role"], "target file ecs.principals",
                                  tuple(acls[user]), "kafka 127.0.0.1:9093 (DescribeAcls)",
                                  dict(CONTEXT) if p["role"] == "connect-worker" else {}))
    return out


def decide(control: str, ps: list) -> object:
    return unit(control).decide([principal_item(p) for p in ps], PROFILE, "live")


def test_the_reference_conforms():
    ps = principals(cx.ComposexReference())
    assert decide("CPX-03", ps).status == "pass", decide("CPX-03", ps).message
    assert decide("CPX-04", ps).status == "pass", decide("CPX-04", ps).message
    v = decide("CPX-06", ps)
    assert v.status == "fail" and "User:control-center" in v.message  # info: reported as warn, waivable
    assert any("CREATE" in r for e in v.evidence for r in e["cluster_rights"])


def test_the_seed_blog_setup_fails_cpx03_and_cpx04():
    ps = principals(cx.drifted(["cpx-seed-blog-acls"]))
    v3 = decide("CPX-03", ps)
    assert v3.status == "fail"
    assert "User:connect-cluster" in v3.message and "prefix '*'" in v3.message and "Fix:" in v3.message
    v4 = decide("CPX-04", ps)
    assert v4.status == "fail"
    assert "User:connect-cluster" in v4.message and "3 Connect roles" in v4.message


def _worker(*acls: AclEntry, ctx=CONTEXT) -> KafkaPrincipal:
    return KafkaPrincipal("User:w", "User:w", "connect-worker", "target", tuple(acls), "", dict(ctx))


def test_broad_and_admin_grants_are_findings():
    a = lambda *args: AclEntry("User:w", *args)  # noqa: E731
    cases = {
        "wildcard": a("TOPIC", "*", "LITERAL", "READ"),
        "empty prefix": a("GROUP", "", "PREFIXED", "READ"),
        "one letter": a("TOPIC", "c", "PREFIXED", "WRITE"),
        "ALL": a("TOPIC", "connect-configs", "LITERAL", "ALL"),
        "DELETE": a("TOPIC", "connect-configs", "LITERAL", "DELETE"),
        "cluster alter": a("CLUSTER", "kafka-cluster", "LITERAL", "ALTER"),
        "another group": a("GROUP", "other", "LITERAL", "READ"),
    }
    for name, acl in cases.items():
        assert decide("CPX-03", [_worker(acl)]).status == "fail", name
    ok = [a("TOPIC", t, "LITERAL", op) for t in cx.INTERNAL_TOPICS.values() for op in ("READ", "WRITE")]
    assert decide("CPX-03", [_worker(*ok, a("GROUP", "connect", "LITERAL", "READ"),
                                     a("CLUSTER", "kafka-cluster", "LITERAL", "IDEMPOTENT_WRITE"))]).status == "pass"
    # a DENY is never a grant
    assert decide("CPX-03", [_worker(*ok, AclEntry("User:w", "TOPIC", "*", "LITERAL", "ALL", "DENY"))]).status == "pass"


def test_unknown_acls_and_missing_roles_are_errors():
    unknown = KafkaPrincipal("User:w", "User:w", "connect-worker", "target",
                             Unknown("the cluster refused DescribeAcls", "kafka 127.0.0.1:9093"))
    v = decide("CPX-03", [unknown])
    assert v.status == "error" and "DescribeAcls" in v.message
    # CPX-04: producer and consumer not named anywhere: not a pass
    v = decide("CPX-04", [_worker()])
    assert v.status == "error" and "connect-producer" in v.message
    # nothing at all
    assert decide("CPX-03", []).status == "error"
    assert decide("CPX-06", []).status == "error"
    # but a known violation beside an unknown still fails
    p = _worker(AclEntry("User:w", "TOPIC", "*", "PREFIXED", "READ"))
    other = KafkaPrincipal("User:p", "User:p", "connect-producer", "target", Unknown("timeout"))
    assert decide("CPX-03", [p, other]).status == "fail"


def test_control_center_without_admin_rights_passes_cpx06():
    cc = KafkaPrincipal("User:cc", "User:cc", "control-center", "target",
                        (AclEntry("User:cc", "CLUSTER", "kafka-cluster", "LITERAL", "DESCRIBE"),))
    assert decide("CPX-06", [cc]).status == "pass"


def test_cpx06_is_reported_as_warn_and_waived_by_the_example_waiver():
    from datetime import date

    from asbuilt.catalogue import load_catalogue
    from asbuilt.report.results import Selection, combine
    from asbuilt.waivers import apply_waivers, load_waivers
    from tests.helpers import ROOT

    v = decide("CPX-06", principals(cx.ComposexReference()))
    results = combine(load_catalogue(), PROFILE, [v], Selection(), {"CPX-06": {"live"}})
    r = next(x for x in results if x.id == "CPX-06")
    assert r.status == "warn"
    report = apply_waivers([r], load_waivers(ROOT / "examples" / "waivers.yaml"), "composex-ecs", date(2026, 12, 1))
    assert r.status == "waived" and any(w["control"] == "CPX-06" and w["state"] == "active" for w in report)
