"""AWS calls and time of the live AWS checks, against a minimal script that describes each resource once.

Runs against the sandbox (it must be up: `asbuilt sandbox up`) or any target file:

    python benchmarks/aws_calls.py [--target sandbox|FILE] [--repeat 3] [--write-readme]

1. `asbuilt run --target T --live-only` restricted to the live controls that read AWS (VER, SIZE,
   HA, NET, IAM, S3, ECR), with ASBUILT_AWS_CALL_LOG recording every operation;
2. the minimal script: one boto3 call per resource the same controls need (RDS instance, EKS
   cluster and node group, their subnets and security groups in one call each, the MSK cluster,
   the ALB with its listeners and the HTTP listener's rules, the installer and node roles with
   their policies, the cluster's OIDC provider, the bucket's three settings, the ECR repositories);
3. prints the ratio of calls (goal: at most 1.2x) and of wall time, and with --write-readme
   replaces the "AWS calls" section of benchmarks/README.md with the figures.

Only reads are made. The run's time includes pytest start-up, the Kubernetes and Kafka reads
and the TCP probes of NET-04/05 (5 s connect timeouts from the outside vantage point), which the
script does not do: the time ratio is reported, the goal is about calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTROLS = ("VER-01", "VER-02", "VER-03", "SIZE-01", "SIZE-02", "SIZE-03", "HA-01", "HA-02", "HA-03", "HA-04",
            "HA-06", "HA-07", "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "NET-08",
            "IAM-01", "IAM-02", "IAM-03", "IAM-04", "IAM-05", "IAM-06", "S3-01", "S3-02", "ECR-01")
BEGIN, END = "<!-- aws-calls:begin -->", "<!-- aws-calls:end -->"


def run_suite(target: str) -> tuple[Counter, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "calls.jsonl"
        args = [sys.executable, "-m", "asbuilt", "run", "--target", target, "--live-only", "--report-dir", tmp]
        for c in CONTROLS:
            args += ["--control", c]
        t0 = time.monotonic()
        res = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "ASBUILT_AWS_CALL_LOG": str(log)}, timeout=900)
        elapsed = time.monotonic() - t0
        if not (Path(tmp) / "results.json").exists():
            sys.exit(f"asbuilt run failed (exit {res.returncode}): {res.stderr.strip()[-300:]}")
        calls = Counter(json.loads(line)["op"] for line in log.read_text().splitlines())
        calls["sts:GetCallerIdentity"] -= 1  # pre-flight (the script makes none either)
        return +calls, elapsed, res.returncode


def minimal_script(target_path: str) -> tuple[Counter, float]:
    """Each resource described once, with plain boto3 (the floor a hand-written check would reach)."""
    import boto3

    from asbuilt.runner import resolve_target_path
    from asbuilt.target import load_target

    t = load_target(resolve_target_path(target_path))
    a = t.aws
    creds = {}
    if a.credentials and a.credentials.access_key_id:
        creds = {"aws_access_key_id": a.credentials.access_key_id.resolve(),
                 "aws_secret_access_key": a.credentials.secret_access_key.resolve()}
    calls: Counter = Counter()
    session = boto3.session.Session(region_name=a.region, **creds)

    def c(service):
        cl = session.client(service, endpoint_url=a.service_endpoints.get(service) or a.endpoint_url)
        cl.meta.events.register("before-call.*.*", lambda model=None, **_: calls.update(
            [f"{model.service_model.service_name}:{model.name}"]))
        return cl

    r = a.resources
    t0 = time.monotonic()
    rds, eks, ec2, kafka, elb, iam, s3, ecr = (c(s) for s in ("rds", "eks", "ec2", "kafka", "elbv2", "iam", "s3", "ecr"))
    db = rds.describe_db_instances(DBInstanceIdentifier=r.rds_instance)["DBInstances"][0]
    cluster = eks.describe_cluster(name=r.eks_cluster)["cluster"]
    ng = eks.describe_nodegroup(clusterName=r.eks_cluster, nodegroupName=r.eks_nodegroup)["nodegroup"]
    msk = kafka.describe_cluster(ClusterArn=r.msk_cluster)["ClusterInfo"]
    lb = elb.describe_load_balancers(Names=[r.alb])["LoadBalancers"][0]
    subnets = set(ng["subnets"]) | set(msk["BrokerNodeGroupInfo"]["ClientSubnets"])
    ec2.describe_subnets(SubnetIds=sorted(subnets))
    groups = {g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]} | set(msk["BrokerNodeGroupInfo"]["SecurityGroups"])
    groups |= set(lb["SecurityGroups"]) | set(cluster["resourcesVpcConfig"].get("securityGroupIds", []))
    ec2.describe_security_groups(GroupIds=sorted(groups))
    for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        if li["Protocol"] == "HTTP":
            elb.describe_rules(ListenerArn=li["ListenerArn"])
    policies = set()
    for role in (r.installer_role, r.node_role):
        iam.get_role(RoleName=role)
        policies |= {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
        iam.list_role_policies(RoleName=role)
    for arn in sorted(policies):
        pol = iam.get_policy(PolicyArn=arn)["Policy"]
        iam.get_policy_version(PolicyArn=arn, VersionId=pol["DefaultVersionId"])
    issuer = cluster["identity"]["oidc"]["issuer"].removeprefix("https://")
    account = cluster["arn"].split(":")[4]
    iam.get_open_id_connect_provider(OpenIDConnectProviderArn=f"arn:aws:iam::{account}:oidc-provider/{issuer}")
    s3.get_bucket_versioning(Bucket=r.bundle_bucket)
    s3.get_bucket_encryption(Bucket=r.bundle_bucket)
    s3.get_public_access_block(Bucket=r.bundle_bucket)
    ecr.describe_repositories()
    return calls, time.monotonic() - t0


def write_readme(text: str) -> None:
    readme = ROOT / "benchmarks" / "README.md"
    body = readme.read_text() if readme.exists() else "# Benchmarks\n"
    section = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in body and END in body:
        body = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, body, flags=re.S)
    else:
        body = body.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default="sandbox")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    import contextlib

    hold = contextlib.nullcontext()
    if args.target == "sandbox":  # nobody may switch the sandbox's drifts while we measure
        from asbuilt_sandbox import manager

        hold = manager.exclusive()
    with hold:
        if args.target == "sandbox":
            manager.up([])  # conforming (idempotent; switches off a drift a test left on)
        runs = [run_suite(args.target) for _ in range(args.repeat)]
        scripts = [minimal_script(args.target) for _ in range(args.repeat)]
    suite_calls, script_calls = runs[0][0], scripts[0][0]
    n_suite, n_script = sum(suite_calls.values()), sum(script_calls.values())
    t_suite = sorted(r[1] for r in runs)[len(runs) // 2]
    t_script = sorted(s[1] for s in scripts)[len(scripts) // 2]
    extra = {op: suite_calls[op] - script_calls.get(op, 0) for op in sorted(suite_calls)
             if suite_calls[op] > script_calls.get(op, 0)}
    ratio = n_suite / n_script
    lines = [
        "## AWS calls of the live checks (`benchmarks/aws_calls.py`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} cores), target "
        f"`{args.target}`, {len(CONTROLS)} live controls (VER, SIZE, HA, NET, IAM, S3, ECR), median of {args.repeat} runs.",
        "",
        "| | AWS calls | wall time |",
        "|---|---:|---:|",
        f"| `asbuilt run --live-only` (those controls) | {n_suite} | {t_suite:.1f} s |",
        f"| minimal boto3 script, each resource once | {n_script} | {t_script:.2f} s |",
        f"| ratio | **{ratio:.2f}x** (goal <= 1.2x) | {t_suite / t_script:.0f}x |",
        "",
        "Calls the suite makes beyond the script: "
        + (", ".join(f"`{op}` +{n}" for op, n in extra.items()) or "none") + ".",
        "",
        "Why: `kafka:ListNodes` and `iam:SimulatePrincipalPolicy` are tried first (the broker AZs and the "
        "effective permissions come from them where the endpoint implements them; moto answers both with an "
        "error page, and the suite falls back to the client subnets and to evaluating the policy documents); "
        "security groups are described in one call per batch of the resources read so far, so a second batch "
        "can follow when scenarios run in another order. The suite's time is dominated by pytest start-up, the "
        "Kubernetes and Kafka reads and the TCP probes of NET-04/NET-05 (5 s connect timeout from the "
        "outside vantage point), which the script does not do.",
        "",
        "Run it again with `python benchmarks/aws_calls.py --write-readme` (it takes the sandbox lock, brings the "
        "sandbox up conforming, and exits 1 above 1.2x).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_readme:
        write_readme(text)
    if ratio > 1.2:
        sys.exit(1)


if __name__ == "__main__":
    main()
