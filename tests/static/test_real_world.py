"""Terraform written the way module ecosystems write it: count = 0 and conditional counts,
for_each maps keyed by availability zone, null defaults. A resource that is not created is not
judged; each instance that is created is judged on its own."""

from __future__ import annotations

from pathlib import Path

from tests.static.helpers import scan

DB = '''
resource "aws_db_instance" "{name}" {{
  {meta}
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "{cls}"
  multi_az                = {multi_az}
  backup_retention_period = 7
}}
'''


def _root(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (root / "main.tf").write_text(text)
    return root


def _verdicts(tmp_path: Path, text: str) -> dict:
    return {v.control: v for v in scan([_root(tmp_path, text)], [], tmp_path / "r").verdicts}


def test_a_resource_with_count_zero_is_not_judged(tmp_path):
    text = ('variable "create_replica" {\n  type    = bool\n  default = false\n}\n'
            + DB.format(name="main", meta="", cls="db.r6g.large", multi_az="true")
            + DB.format(name="replica", meta="count = var.create_replica ? 1 : 0", cls="db.t3.micro", multi_az="false")
            + DB.format(name="never", meta="count = 0", cls="db.t3.micro", multi_az="false"))
    by = _verdicts(tmp_path, text)
    assert by["HA-01"].status == "pass", by["HA-01"].message
    assert "replica" not in by["HA-01"].message and "never" not in by["HA-01"].message
    assert by["SIZE-02"].status == "pass"


def test_a_created_count_instance_is_judged(tmp_path):
    text = ('variable "create_replica" {\n  type    = bool\n  default = true\n}\n'
            + DB.format(name="main", meta="", cls="db.r6g.large", multi_az="true")
            + DB.format(name="replica", meta="count = var.create_replica ? 1 : 0", cls="db.r6g.large",
                        multi_az="false"))
    by = _verdicts(tmp_path, text)
    assert by["HA-01"].status == "fail", by["HA-01"].message
    assert "aws_db_instance.replica" in by["HA-01"].message and "MultiAZ is false" in by["HA-01"].message


def test_for_each_subnets_keyed_by_zone_span_their_zones(tmp_path):
    text = '''
variable "zones" {
  type    = map(string)
  default = { a = "us-east-1a", b = "us-east-1b" }
}
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "private" {
  for_each          = var.zones
  vpc_id            = aws_vpc.main.id
  availability_zone = each.value
  cidr_block        = "10.0.${index(keys(var.zones), each.key)}.0/24"
}
resource "aws_lb" "main" {
  name               = "platform"
  internal           = true
  load_balancer_type = "application"
  subnets            = [for s in aws_subnet.private : s.id]
}
'''
    by = _verdicts(tmp_path, text)
    v = by["HA-06"]
    assert v.status == "pass" and "2 AZs" in v.message, v.message


def test_an_unreadable_file_met_by_a_walk_is_a_note_not_the_end_of_the_run(tmp_path):
    """Ordinary repository files (.env.template, a YAML file PyYAML refuses) are one note each;
    a CloudFormation template named .template in YAML (as AWS's samples are) is read."""
    root = _root(tmp_path, DB.format(name="main", meta="", cls="db.r6g.large", multi_az="true"))
    (root / ".env.template").write_text("DB_HOST=localhost\nDB_PORT=5432\n")
    (root / "settings.template").write_text("{ region: [eu-west-1\n")  # neither JSON nor YAML
    (root / "broken.yaml").write_text("a: 1\n\tb: 2\n")
    (root / "bucket.template").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bundles:\n    Type: AWS::S3::Bucket\n"
        "    Properties:\n      BucketName: platform-bundles\n")
    result = scan([root], [], tmp_path / "r")
    by = {v.control: v for v in result.verdicts}
    assert by["HA-01"].status == "pass"
    assert by["S3-01"].status == "fail" and "bucket.template" in by["S3-01"].message  # the YAML .template was read
    notes = " ".join(result.notes)
    assert "settings.template" in notes and "broken.yaml" in notes


def test_var_and_var_file_give_variables_their_values(tmp_path):
    """asbuilt static --var NAME=VALUE / --var-file FILE, as terraform plan takes them: a variable
    without a default is unknown (error) until it is given, then judged on its value."""
    from tests.helpers import asbuilt

    root = _root(tmp_path, 'variable "multi_az" { type = bool }\nvariable "engine_version" { type = string }\n'
                 + DB.format(name="main", meta="", cls="db.r6g.large", multi_az="var.multi_az")
                 .replace('"16.3"', "var.engine_version"))
    (tmp_path / "prod.tfvars").write_text('engine_version = "16.3"\n')
    import json

    def messages(report_dir):
        return {c["id"]: c["message"] for c in json.loads((report_dir / "results.json").read_text())["controls"]}

    res = asbuilt("static", root, "--report-dir", tmp_path / "a")
    assert res.code == 2, res.stdout[-1500:]
    assert "variable multi_az has no value" in messages(tmp_path / "a")["HA-01"]
    res = asbuilt("static", root, "--var", "multi_az=false", "--var-file", tmp_path / "prod.tfvars",
                  "--report-dir", tmp_path / "b")
    assert res.code == 1, res.stdout[-1500:] + res.stderr
    got = messages(tmp_path / "b")
    assert "MultiAZ is false" in got["HA-01"] and "postgres 16.3" in got["VER-02"]
    bad = asbuilt("static", root, "--var", "not an assignment", "--report-dir", tmp_path / "c")
    assert bad.code == 2 and "expected NAME=VALUE" in bad.stderr


import pytest  # noqa: E402


@pytest.mark.parametrize("key, value, credential", [
    # settings about credentials, and names of the keys that hold them: not credentials
    ("CONNECT_REST_BASIC_AUTH_CREDENTIALS_SOURCE", "USER_INFO", False),
    ("ALLOW_EMPTY_PASSWORD", "yes", False),
    ("mainAdminSecretKeys.password", "GATEWAY_ADMIN_PASSWORD", False),
    ("DB_PASSWORD", "${DB_PASSWORD}", False),
    ("SSL_KEYSTORE_PASSWORD_FILE", "/run/secrets/keystore-password", False),
    ("existingSecret", "conduktor-console", False),
    ("API_KEY_HEADER", "X-Api-Key", False),
    ("auth.tokenPrefix", "Bearer", False),
    ("OIDC_TOKEN_ISSUER", "https://login.example.com/realms/platform", False),
    ("JWT_SECRET_ALGORITHM", "HS256", False),
    # credentials written down
    ("DB_PASSWORD", "hunter2-hunter2", True),
    ("admin.password", "admin", True),
    ("API_TOKEN", "changeme123", True),
    ("SASL_JAAS_CONFIG", 'org.apache.kafka.common.security.scram.ScramLoginModule required username="c" '
                         'password="s3cr3t-pass";', True),
    ("ANY_SETTING", "postgres://app:Sup3rS3cret@db:5432/app", True),
    ("KAFKA_OPTS", 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p4ss";',
     True),
    ("KAFKA_OPTS", 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" '
                   'password="${file:/secrets/kafka:password}";', False),
])
def test_credentials_are_told_from_settings_about_credentials(key, value, credential):
    from asbuilt.rules.k8s import classify_value, no_literal_credentials

    item = {"resource": "Deployment ns/x container c env " + key, "where": "env", "key": key,
            "value_kind": classify_value(value)}
    v = no_literal_credentials([item])
    assert v.status == ("fail" if credential else "pass"), (key, item["value_kind"], v.message)


def _chart(tmp_path: Path) -> Path:
    chart = tmp_path / "web"
    (chart / "templates" / "tests").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    (chart / "templates" / "deployment.yaml").write_text('''apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example/web:1.0
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
''')
    # chart tests, as `helm create` writes them: run by `helm test`, not part of the deployment
    (chart / "templates" / "tests" / "test-connection.yaml").write_text('''apiVersion: v1
kind: Pod
metadata:
  name: "{{ .Release.Name }}-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      command: ['wget']
      args: ['{{ .Release.Name }}:80']
  restartPolicy: Never
''')
    return chart


def test_chart_test_hooks_are_not_workloads_and_the_release_is_the_charts_name(tmp_path):
    result = scan([_chart(tmp_path)], [], tmp_path / "r")
    by = {v.control: v for v in result.verdicts}
    assert by["K8S-03"].status == "pass", by["K8S-03"].message  # the test Pod sets no resources: not judged
    assert "1 container(s)" in by["K8S-03"].message  # the Deployment's only; the test Pod is not judged
    resources = [e["resource"] for e in by["K8S-03"].evidence]
    assert resources and all("(Deployment web/web)" in r for r in resources), resources  # release web, namespace web


def test_a_bucket_nothing_ties_to_the_platform_is_not_judged_as_the_bundle_bucket(tmp_path):
    root = _root(tmp_path, 'resource "aws_s3_bucket" "logs" {\n  bucket = "platform-access-logs"\n}\n'
                           + DB.format(name="main", meta="", cls="db.r6g.large", multi_az="true"))
    result = scan([root], [], tmp_path / "r")
    by = {v.control: v for v in result.verdicts}
    assert "S3-01" not in by or by["S3-01"].status != "fail", by["S3-01"].message  # not failed as the bundle bucket
    assert any("aws_s3_bucket.logs" in n and "not judged" in n for n in result.notes), result.notes


def test_a_database_without_security_groups_is_in_the_vpcs_default_group_whose_rules_are_unknown(tmp_path):
    # aws_db_instance without vpc_security_group_ids (VPCSecurityGroups left out in CloudFormation):
    # AWS attaches the VPC's default security group; "only 5432, nothing from the internet" is not known
    by = _verdicts(tmp_path, DB.format(name="main", meta="", cls="db.r6g.large", multi_az="true"))
    v = by["NET-03"]
    assert v.status == "error" and "default security group" in v.message, v.message
    assert "aws_db_instance.main" in v.message


GATEWAY = '''apiVersion: apps/v1
kind: Deployment
metadata:
  name: gateway
spec:
  replicas: 2
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers:
        - name: gateway
          image: conduktor/conduktor-gateway:3.9.0
'''


def _kustomize(tmp_path: Path, overlay: str | None) -> Path:
    root = tmp_path / "deploy"
    (root / "base").mkdir(parents=True)
    (root / "base" / "gateway.yaml").write_text(GATEWAY)
    (root / "base" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gateway.yaml]\n")
    if overlay is not None:
        (root / "overlays" / "prod").mkdir(parents=True)
        (root / "overlays" / "prod" / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\n" + overlay)
    return root


def test_manifests_a_kustomization_patches_are_not_judged_as_written(tmp_path):
    # the prod overlay sets the Gateway to 3 replicas: the base's 2 is not what is deployed
    root = _kustomize(tmp_path, "replicas:\n  - {name: gateway, count: 3}\n")
    by = {v.control: v for v in scan([root], [], tmp_path / "r", "conduktor-k8s").verdicts}
    v = by["CDK-HA-02"]
    assert v.status == "error", v.message
    assert "overlays/prod/kustomization.yaml" in v.message and "replicas" in v.message and "kubectl kustomize" in v.message


def test_a_kustomization_that_only_lists_its_files_is_judged_on_them(tmp_path):
    by = {v.control: v for v in scan([_kustomize(tmp_path, None)], [], tmp_path / "r", "conduktor-k8s").verdicts}
    v = by["CDK-HA-02"]
    assert v.status == "fail" and "gateway.yaml:2 (Deployment default/gateway)" in v.message, v.message
