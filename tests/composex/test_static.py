"""CPX-01/02/05 static: the reference project conforms; each broken copy fails exactly its
control, naming file:line (checked against the edited file) and the fix; a ${VAR} from the
shell in a credential is error, never pass."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from asbuilt import static
from asbuilt.catalogue import load_profile
from tests.helpers import ROOT

REFERENCE = ROOT / "examples" / "reference" / "composex"
JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required username=\\"connect-worker\\" '
        'password=\\"not-a-real-password-0000\\";')


def _copy(tmp: Path) -> Path:
    dst = tmp / "composex"
    shutil.copytree(REFERENCE, dst)
    return dst


def _scan(root: Path, tmp: Path) -> dict:
    result = static.scan([root], load_profile("composex-ecs"), [], tmp / "reports")
    return {v.control: v for v in result.verdicts}


def replace(rel: str, old: str, new: str):
    def edit(root: Path) -> None:
        p = root / rel
        text = p.read_text()
        assert old in text, f"{old!r} not in {rel}"
        p.write_text(text.replace(old, new, 1))
    return edit


def remove_block(rel: str, first: str, lines: int):
    def edit(root: Path) -> None:
        p = root / rel
        text = p.read_text().splitlines(keepends=True)
        i = next(n for n, line in enumerate(text) if first in line)
        p.write_text("".join(text[:i] + text[i + lines:]))
    return edit


def write(rel: str, text: str):
    def edit(root: Path) -> None:
        (root / rel).write_text(text)
    return edit


def _one_file(root: Path) -> None:
    """Everything in docker-compose.yml (the secrets too), no envs/: one file for every environment."""
    dev = (root / "envs" / "dev.yml").read_text()
    secrets = dev[dev.index("\nsecrets:\n"):dev.index("\nx-cluster:")]
    (root / "docker-compose.yml").write_text((root / "docker-compose.yml").read_text() + secrets)
    shutil.rmtree(root / "envs")


# (id, control, expected status, edits, file the message names, text on that line, words in the message)
VARIANTS = [
    ("cpx01-invalid-merge", "CPX-01", "fail", [replace("envs/dev.yml", "replicas: 1", "replicas: one")],
     "envs/dev.yml", "replicas: one", ["not valid compose", "replicas"]),
    ("cpx01-no-overrides", "CPX-01", "fail", [_one_file],
     "docker-compose.yml", "---", ["no envs/<env>.yml override"]),
    ("cpx02-jaas-in-override", "CPX-02", "fail",
     [replace("envs/dev.yml", "  connect:\n", f'  connect:\n    environment:\n      CONNECT_SASL_JAAS_CONFIG: "{JAAS}"\n')],
     "envs/dev.yml", "CONNECT_SASL_JAAS_CONFIG", ["CONNECT_SASL_JAAS_CONFIG is written in environment", "override"]),
    ("cpx02-override-drops-secret", "CPX-02", "fail", [remove_block("envs/dev.yml", "CONNECT_PRODUCER_CREDS:", 6)],
     "docker-compose.yml", "- CONNECT_PRODUCER_CREDS", ["CONNECT_PRODUCER_CREDS", "does not declare"]),
    ("cpx02-env-file", "CPX-02", "fail",
     [write("connect.env", f"CONNECT_CONSUMER_SASL_JAAS_CONFIG={JAAS.replace(chr(92), '')}\n"),
      replace("docker-compose.yml", "    ports:\n      - 8083:8083\n", "    ports:\n      - 8083:8083\n    env_file: connect.env\n")],
     "connect.env", "CONNECT_CONSUMER_SASL_JAAS_CONFIG", ["in an env_file"]),
    ("cpx02-secret-from-file", "CPX-02", "fail",
     [replace("envs/stg.yml", "  CC_CREDS:\n    x-secrets:\n      Name: /kafka/${CLUSTER_ID}/controlcenter\n"
                              "      JsonKeys:\n        - SecretKey: sasl.jaas.config\n"
                              "          VarName: CONTROL_CENTER_STREAMS_SASL_JAAS_CONFIG\n",
              "  CC_CREDS:\n    file: ./cc-creds.json\n")],
     "envs/stg.yml", "CC_CREDS:", ["comes from file, not AWS Secrets Manager"]),
    ("cpx02-shell-var", "CPX-02", "error",
     [replace("docker-compose.yml", "      TZ: \"Europe/London\"\n",
              "      TZ: \"Europe/London\"\n      CONNECT_SASL_JAAS_CONFIG: ${CONNECT_JAAS}\n")],
     None, None, ["interpolated from the shell", "${CONNECT_JAAS}"]),
    ("cpx02-literal-default", "CPX-02", "fail",
     [replace("docker-compose.yml", "      TZ: \"Europe/London\"\n",
              f"      TZ: \"Europe/London\"\n      CONNECT_PRODUCER_SASL_JAAS_CONFIG: \"${{PRODUCER_JAAS:-{JAAS}}}\"\n")],
     "docker-compose.yml", "CONNECT_PRODUCER_SASL_JAAS_CONFIG", ["literal default"]),
    ("cpx01-shell-var", "CPX-01", "error", [replace("envs/dev.yml", "replicas: 1", "replicas: ${REPLICAS}")],
     None, None, ["${REPLICAS}", "only the shell gives"]),
    ("cpx05-shell-tag", "CPX-05", "error", [replace("docker-compose.yml", "cp-kafka-connect:7.6.1",
                                                    "cp-kafka-connect:${CONNECT_VERSION}")],
     None, None, ["interpolated from the shell"]),
    ("cpx05-latest", "CPX-05", "fail", [replace("docker-compose.yml", "cp-kafka-connect:7.6.1", "cp-kafka-connect:latest")],
     "docker-compose.yml", "cp-kafka-connect:latest", ["uses the tag latest"]),
    ("cpx05-docker-hub", "CPX-05", "fail",
     [replace("docker-compose.yml",
              "${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_DEFAULT_REGION}.amazonaws.com/confluentinc/cp-enterprise-control-center:7.6.1",
              "confluentinc/cp-enterprise-control-center:7.6.1")],
     "docker-compose.yml", "image: confluentinc/cp-enterprise-control-center", ["not from a private ECR registry"]),
    ("cpx05-from-unpinned", "CPX-05", "fail",
     [write("connect-cluster/Dockerfile", "FROM confluentinc/cp-kafka-connect\nUSER appuser\n")],
     "connect-cluster/Dockerfile", "FROM confluentinc/cp-kafka-connect", ["has no tag"]),
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("cpx-base")
    found = _scan(_copy(tmp), tmp)
    return {c: v.status for c, v in found.items()}


def test_the_reference_conforms(baseline):
    assert {c: s for c, s in baseline.items() if c.startswith("CPX")} == {"CPX-01": "pass", "CPX-02": "pass",
                                                                        "CPX-05": "pass"}


def test_the_static_target_judges_the_reference(tmp_path):
    from asbuilt.static.engine import Scan, discover_target
    from asbuilt.target import load_target

    target = load_target(ROOT / "examples" / "targets" / "composex-static.yaml")
    result = Scan(discover_target(target), load_profile("composex-ecs")).run()
    assert {v.control: v.status for v in result.verdicts} == {"CPX-01": "pass", "CPX-02": "pass", "CPX-05": "pass"}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_fails_only_its_control(variant, baseline, tmp_path):
    name, control, status, edits, file, anchor, words = variant
    root = _copy(tmp_path)
    for edit in edits:
        edit(root)
    found = _scan(root, tmp_path)
    v = found[control]
    assert v.status == status, (v.status, v.message)
    for w in words:
        assert w in v.message, (w, v.message)
    if status == "fail":
        assert "Fix:" in v.message
        hits = re.findall(rf"([^\s(;,]*{re.escape(file)}):(\d+)", v.message)
        assert hits, f"no {file}:<line> in {v.message}"
        assert any(anchor in (root / file).read_text().splitlines()[int(n) - 1] for _, n in hits), (hits, v.message)
    others = {c: s.status for c, s in found.items() if c != control}
    assert others == {c: s for c, s in baseline.items() if c != control}
    import json

    assert "not-a-real-password" not in json.dumps([x.to_json() for x in found.values()], default=str)
