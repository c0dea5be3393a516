"""The ComposeX reader on the forms compose files are written in: list-form environment,
env_file, $$ escapes, ${VAR:-default}, build as a string, multi-stage Dockerfiles with ARG;
the merge is compose_x_render's (override wins, lists concatenate), and our shell's
environment never leaks into what is read."""

from __future__ import annotations

import os
from pathlib import Path

from asbuilt.model.facts import is_unknown
from asbuilt.static.compose import dockerfile_bases, find_projects, read_project, shell_vars, with_defaults


def _project(tmp: Path, base: str, **files: str) -> Path:
    (tmp / "envs").mkdir(exist_ok=True)
    (tmp / "docker-compose.yml").write_text(base)
    for name, text in files.items():
        p = tmp / name.replace("__", "/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp / "docker-compose.yml"


BASE = """services:
  connect:
    build: app
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/connect:1.2.3
    environment:
      - CONNECT_SECURITY_PROTOCOL=SASL_SSL
      - CONNECT_SASL_JAAS_CONFIG=${JAAS}
      - PRICE=$$5
    env_file: connect.env
"""


def test_forms_and_kinds(tmp_path, monkeypatch):
    monkeypatch.setenv("JAAS", "would-be-a-value-from-our-shell")  # must not be read
    base = _project(tmp_path, BASE, envs__dev_yml="services:\n  connect:\n    environment:\n      - TZ=UTC\n",
                    **{"connect.env": "# comment\nCONNECT_CONSUMER_SASL_JAAS_CONFIG=x required username=\"u\" password=\"p\";\n",
                       "app__Dockerfile": "ARG BASE=confluentinc/cp-kafka-connect:7.6.1\nFROM ${BASE} AS build\n"
                                          "FROM build\nFROM ${OTHER}\n"})
    (tmp_path / "envs" / "dev_yml").rename(tmp_path / "envs" / "dev.yml")
    [(b, overrides)] = find_projects([base])
    project = read_project(b, overrides)
    [env] = project.environments
    assert env.problems == []
    [w] = env.services
    kinds = {v.name: v for v in w.environment}
    assert is_unknown(kinds["CONNECT_SASL_JAAS_CONFIG"].kind)
    assert "${JAAS}" in kinds["CONNECT_SASL_JAAS_CONFIG"].kind.reason
    assert kinds["TZ"].where.endswith("envs/dev.yml:4")
    assert kinds["CONNECT_CONSUMER_SASL_JAAS_CONFIG"].source == "env_file"
    assert kinds["CONNECT_CONSUMER_SASL_JAAS_CONFIG"].where.endswith("connect.env:2")
    assert w.context["sasl"] is True
    froms = w.base_images
    assert [str(f.ref) if not is_unknown(f.ref) else "?" for f in froms] == \
        ["confluentinc/cp-kafka-connect:7.6.1", "build", "?"]
    assert froms[1].stage and "OTHER" in froms[2].ref.reason
    assert os.environ["JAAS"] == "would-be-a-value-from-our-shell"


def test_interpolation_helpers():
    assert shell_vars("a ${X} ${Y:-d} $Z $$W ${V:?err}") == ["X", "Z", "V"]
    assert with_defaults("${A:-1}-${B-2}-${C}") == "1-2-${C}"


def test_dockerfile_digest_and_platform(tmp_path):
    p = tmp_path / "Dockerfile"
    p.write_text("# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 confluentinc/cp-server@sha256:"
                 + "a" * 64 + " AS x\n")
    [b] = dockerfile_bases(p)
    assert b.ref.endswith("a" * 64) and b.where.endswith("Dockerfile:2")


def test_yaml_merge_keys_and_anchors(tmp_path):
    base = _project(tmp_path, """x-kafka: &kafka
  CONNECT_SECURITY_PROTOCOL: SASL_SSL
  CONNECT_SASL_JAAS_CONFIG: "x required username=\\"u\\" password=\\"p\\";"
services:
  connect:
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/connect:1.2.3
    environment:
      <<: *kafka
      TZ: UTC
""")
    project = read_project(base, [])
    [env] = project.environments
    assert env.problems == [], env.problems
    [w] = env.services
    jaas = next(v for v in w.environment if v.name == "CONNECT_SASL_JAAS_CONFIG")
    assert jaas.kind in ("literal", "secret-pattern") and jaas.where.endswith("docker-compose.yml:3")


def test_store_passwords_and_credential_formats_count(tmp_path):
    from asbuilt.static.compose import workload_credentials

    base = _project(tmp_path, """services:
  connect:
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/connect:1.2.3
    environment:
      CONNECT_SSL_KEYSTORE_PASSWORD: hunter2hunter2
      SOME_SETTING: AKIAABCDEFGHIJKLMNOP
      CONNECT_GROUP_ID: connect
""")
    [w] = read_project(base, []).environments[0].services
    names = {c["name"] for c in workload_credentials(w)["credentials"]}
    assert names == {"CONNECT_SSL_KEYSTORE_PASSWORD", "SOME_SETTING"}
