"""VER-04: the rule passes, fails and refuses to guess as the release record allows."""

from asbuilt.rules.versions import helm_release_writer

REL = "helm release conncentric/conncentric revision 3"


def test_helm_3_release_fails_with_the_fix():
    v = helm_release_writer([{"resource": REL, "helm_major": 3}], "4.1")
    assert v.status == "fail" and REL in v.message and "Helm 3" in v.message and "Fix:" in v.message


def test_helm_4_release_cannot_prove_a_minor_minimum():
    v = helm_release_writer([{"resource": REL, "helm_major": 4}], "4.1")
    assert v.status == "skipped" and "cannot be proven" in v.message


def test_helm_4_release_meets_a_major_minimum_and_a_full_version_decides():
    assert helm_release_writer([{"resource": REL, "helm_major": 4}], "4.0").status == "pass"
    assert helm_release_writer([{"resource": REL, "helm_version": "4.3.1"}], "4.1").status == "pass"
    assert helm_release_writer([{"resource": REL, "helm_version": "4.0.2"}], "4.1").status == "fail"
    assert helm_release_writer([], "4.1").status == "error"
