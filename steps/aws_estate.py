"""Steps about the AWS estate: EKS, RDS, MSK, ALB, S3, IAM, ECR. Probe -> rule -> verdict.

The probes (asbuilt.probes.aws) return facts; the ``*_evidence`` helpers below put them in the
neutral shapes the shared rules (asbuilt.rules.*, also fed by the static checks) take, so a
control means the same thing live and static.
"""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from asbuilt.rules import ha, iam, iam_effective, network, storage
from asbuilt.rules.iam_eval import normalise
from asbuilt.probes import ProbeError

# The seed's installer identity: "the installer's service account in the conncentric namespace".
INSTALLER_SERVICE_ACCOUNT = "conncentric-installer"
DEFAULT_NAMESPACE = "conncentric"


# -- Given: the resources, read once per run (the probe caches every object) -------------------
@given("the EKS cluster of the deployment", target_fixture="eks_clusters")
def eks_clusters(aws):
    return aws.eks_clusters()


@given("the EKS managed node group of the deployment", target_fixture="eks_nodegroups")
def eks_nodegroups(aws):
    return aws.eks_nodegroups()


@given("the platform database", target_fixture="rds_instances")
def rds_instances(aws):
    return aws.rds_instances()


@given("the MSK cluster of the deployment", target_fixture="msk_clusters")
def msk_clusters(aws):
    return aws.msk_clusters()


@given("the application load balancer in front of Portal and the Orchestrator API", target_fixture="albs")
def albs(aws):
    return aws.albs(with_listeners=True)


@given("the bundle bucket", target_fixture="bundle_buckets")
def bundle_buckets(aws, target):
    name = aws.resources.bundle_bucket
    if not name:
        raise ProbeError("the target names no bundle bucket (aws.resources.bundle_bucket)")
    return [bucket_evidence(aws.bucket(name))]


@given("the ECR repositories of the deployment", target_fixture="ecr_repositories")
def ecr_repositories(aws):
    wanted = aws.resources.ecr_repositories
    repos = [{"resource": r["repositoryArn"], "name": r["repositoryName"], "uri": r.get("repositoryUri"),
              "tag_mutability": r.get("imageTagMutability")} for r in aws.ecr_repositories_raw]
    if wanted is not None:  # the target names the platform's repositories: judge only those
        repos = [r for r in repos if r["name"] in wanted or r["name"].rsplit("/", 1)[-1] in wanted]
    return repos


# -- Then: versions and sizing --------------------------------------------------------------------
@then("its Kubernetes version is at least the profile minimum")
def eks_version_at_least(eks_clusters, live_estate, decide, verdict):
    verdict(decide("VER-01", live_estate.clusters()))


@then("it runs PostgreSQL at least at the profile minimum")
def rds_version_at_least(rds_instances, live_estate, decide, verdict):
    verdict(decide("VER-02", live_estate.databases()))


@then("it runs Apache Kafka at least at the profile minimum")
def msk_version_at_least(msk_clusters, live_estate, decide, verdict):
    verdict(decide("VER-03", live_estate.msk()))


@then("its instance type and minimum size meet the profile")
def nodegroup_size(eks_nodegroups, live_estate, decide, verdict):
    verdict(decide("SIZE-01", live_estate.clusters()))


@then("its instance class is the profile's or larger")
def rds_class(rds_instances, live_estate, decide, verdict):
    verdict(decide("SIZE-02", live_estate.databases()))


@then("its broker type is the profile's or larger")
def msk_broker_type(msk_clusters, live_estate, decide, verdict):
    verdict(decide("SIZE-03", live_estate.msk()))


# -- Then: high availability ---------------------------------------------------------------------
@then("it survives the loss of an availability zone")
def rds_is_multi_az(rds_instances, live_estate, decide, verdict):
    verdict(decide("HA-01", live_estate.databases()))


@then("its automated backups are kept at least the profile's number of days")
def rds_backups(rds_instances, live_estate, decide, verdict):
    verdict(decide("HA-02", live_estate.databases()))


@then("its brokers are spread over the profile's number of availability zones")
def msk_spread(aws, params, verdict):
    clusters = []
    for c in aws.msk_broker_spread():
        per_broker = [n["az"] for n in c.get("broker_nodes", [])]
        clusters.append({"resource": c["resource"], "broker_count": c["brokers"],
                         "zones": per_broker or [aws.subnets([s]).get(s, {}).get("az") for s in c["client_subnets"]],
                         "zones_from": c["zones_from"], "client_subnets": c["client_subnets"],
                         **({"broker_nodes": c["broker_nodes"]} if c.get("broker_nodes") else {})})
    verdict(ha.msk_broker_spread(clusters, **params("HA-03")))


@then("its subnets span availability zones with enough nodes")
def nodegroup_spread(aws, eks_nodegroups, params, verdict):
    groups = []
    for g in eks_nodegroups:
        subnets = aws.subnets(g["subnets"])
        groups.append({**g, "zones": [subnets.get(s, {}).get("az") for s in g["subnets"]],
                       "zones_distinct": g["zones"]})
    verdict(ha.eks_nodegroup_spread(groups, **params("HA-04")))


@then("it spans at least the profile's number of availability zones")
def alb_spread(albs, params, verdict):
    verdict(ha.alb_spread([{"resource": b["resource"], "zones": b["zones"], "subnets": b["subnets"],
                            "scheme": b["scheme"]} for b in albs], **params("HA-06")))


# -- Then: networking ---------------------------------------------------------------------------
@then("its security group admits PostgreSQL from the EKS nodes")
def rds_admits_nodes(aws, rds_instances, params, verdict):
    items = []
    for db in rds_instances:
        items.append({"resource": db["resource"], "vpc_id": db["vpc_id"],
                      "security_groups": security_group_evidence(aws, db["security_groups"]),
                      "node_security_groups": aws.node_security_groups(),
                      "node_cidrs": node_cidrs(aws, db["vpc_id"])})
    verdict(network.rds_admits_nodes(items, **params("NET-01")))


@then("its security group admits the broker ports from the EKS nodes")
def msk_admits_nodes(aws, msk_clusters, params, verdict):
    items = []
    for c in msk_clusters:
        items.append({"resource": c["resource"], "vpc_id": c["vpc_id"],
                      "security_groups": security_group_evidence(aws, c["security_groups"]),
                      "node_security_groups": aws.node_security_groups(),
                      "node_cidrs": node_cidrs(aws, c["vpc_id"])})
    verdict(network.msk_admits_nodes(items, **params("NET-02")))


@then("their security groups admit nothing from the internet and no other port")
def data_groups_closed(aws, rds_instances, msk_clusters, params, verdict):
    db_port = params("NET-01")["port"]
    broker_ports = list(params("NET-02")["ports"])
    items = [{"resource": db["resource"], "allowed_ports": [db_port],
              "security_groups": security_group_evidence(aws, db["security_groups"])} for db in rds_instances]
    items += [{"resource": c["resource"], "allowed_ports": broker_ports,
               "security_groups": security_group_evidence(aws, c["security_groups"])} for c in msk_clusters]
    verdict(network.no_open_ingress(items))


@then("it serves HTTPS with the declared scheme and HTTP only redirects")
def alb_posture(aws, albs, params, verdict):
    verdict(network.alb_posture([alb_posture_evidence(aws, b) for b in albs], **params("NET-06")))


@then("its clients reach the brokers over TLS only")
def msk_tls(msk_clusters, verdict):
    verdict(network.msk_client_tls([{"resource": c["resource"], "client_broker": c["client_broker"],
                                     "in_cluster": c["in_cluster"]} for c in msk_clusters]))


@given("the EKS cluster, the platform database and the MSK cluster", target_fixture="placement")
def placement(aws):
    members = []
    for c in aws.eks_clusters():
        members.append({"resource": c["resource"], "kind": "eks", "vpc": cluster_vpc(aws, c)})
    for db in aws.rds_instances():
        members.append({"resource": db["resource"], "kind": "rds", "vpc": db["vpc_id"]})
    for m in aws.msk_clusters():
        members.append({"resource": m["resource"], "kind": "msk", "vpc": m["vpc_id"]})
    vpcs = sorted({m["vpc"] for m in members if m["vpc"]})
    for m in members:
        m["peered_vpcs"] = peered_vpcs(aws, m["vpc"], vpcs) if len(vpcs) > 1 and m["vpc"] else []
    return members


@then("they share a VPC, or their VPCs are peered and routed")
def same_vpc(placement, verdict):
    verdict(network.same_vpc(placement))


# -- Then: IAM -----------------------------------------------------------------------------------
def _installer_role(aws):
    name = aws.resources.installer_role
    if not name:
        raise ProbeError("the target names no installer role (aws.resources.installer_role)")
    return aws.role_facts(name)


@given("the installer's IAM role", target_fixture="installer_role")
def installer_role(aws):
    return _installer_role(aws)


@then("its policies grant exactly the seed's bundle read access")
def installer_policy(aws, installer_role, verdict):
    bucket = None
    if aws.resources.bundle_bucket:
        b = aws.bucket(aws.resources.bundle_bucket)
        bucket = {"arn": b["resource"], "sse": b["sse_algorithm"], "kms_key_arn": b["kms_key_arn"]}
    # "The installer policy": the one the target names (other grants of the role are IAM-05's
    # business), else every policy of the role.
    named = aws.resources.installer_policy
    policies = installer_role["policies"]
    if named:
        policies = [p for p in policies if p["arn"] == named or p.get("name") == named]
        if not policies:
            policies = [{"kind": "managed", **aws.managed_policy(named)}] if named.startswith("arn:") else []
            attached = False
        else:
            attached = True
        if not policies:
            raise ProbeError(f"the installer policy {named!r} is neither attached to {installer_role['resource']} "
                             "nor a policy ARN")
    statements = [s for p in policies for s in normalise(p["document"], p["arn"])]
    verdict(iam.installer_policy([{
        "resource": installer_role["resource"], "statements": statements, "bucket": bucket,
        "judged": (f"the installer policy named by the target ({named})" + ("" if attached else
                   ", NOT attached to the role") if named else "every policy attached to or inline in the role"),
        "policies": [{"kind": p["kind"], "arn": p["arn"]} for p in policies],
    }]))


@then("its trust allows only the installer service account through the cluster's OIDC provider")
def installer_trust(aws, installer_role, target, verdict):
    providers, found = [], []
    for c in aws.eks_clusters():
        if c["oidc_issuer"] and c["account"]:
            arn = f"arn:{c['partition']}:iam::{c['account']}:oidc-provider/{c['oidc_issuer'].removeprefix('https://')}"
            providers.append(arn)
            found.append({"cluster": c["resource"], "provider": arn, "exists_in_iam": aws.oidc_provider(arn) is not None})
    statements = normalise(installer_role["trust"], f"{installer_role['resource']} trust policy")
    v = iam.installer_trust([{"resource": installer_role["resource"], "statements": statements,
                              "cluster_oidc_providers": found}],
                            _namespace(target), INSTALLER_SERVICE_ACCOUNT, providers or None)
    verdict(v)


@then("the bundle policy is not attached to the EKS node role")
def node_role_clean(aws, installer_role, verdict):
    names = [aws.resources.node_role] if aws.resources.node_role else sorted(
        {g["node_role"] for g in aws.eks_nodegroups() if g.get("node_role")})
    bundle_arns = {p["arn"] for p in installer_role["policies"] if p["kind"] == "managed"}
    if aws.resources.installer_policy:
        bundle_arns.add(aws.resources.installer_policy)
    bucket = aws.resources.bundle_bucket
    irsa = any(s for s in normalise(installer_role["trust"])
               if any(a.lower() == "sts:assumerolewithwebidentity" for a in s["actions"]) and s["principals"].get("Federated"))
    nodes = []
    for name in names:
        role = aws.role_facts(name)
        attached = [p["arn"] for p in role["policies"] if p["arn"] in bundle_arns]
        reads = False
        decided = None
        if bucket:
            statements = [s for p in role["policies"] for s in normalise(p["document"], p["arn"])]
            check = iam_effective.bundle_access_checks(bucket)[0]  # s3:GetObject on a bundle object
            decided = iam_effective.decide_from_documents([check], statements)[0]
            reads = decided["decision"] in ("allowed", "conditional")
        nodes.append({"resource": role["resource"], "bundle_policies": attached, "reads_bundles": reads,
                      "policies": [p["arn"] for p in role["policies"]],
                      **({"bundle_read_decision": decided} if decided else {})})
    verdict(iam_effective.node_role_bundle_access(nodes, irsa_configured=bool(irsa)))


@then("it can read the bundles and cannot write, delete or read other buckets")
def installer_effective(aws, installer_role, verdict):
    bucket = aws.resources.bundle_bucket
    if not bucket:
        raise ProbeError("the target names no bundle bucket (aws.resources.bundle_bucket)")
    b = aws.bucket(bucket)
    checks = iam_effective.bundle_access_checks(bucket, b["kms_key_arn"] if str(b["sse_algorithm"]).startswith("aws:kms") else None)
    actions = sorted({c["action"] for c in checks})
    resources = sorted({c["resource"] for c in checks})
    results, why = aws.simulate(installer_role["resource"], actions, resources)
    if results is not None:
        decided = iam_effective.decide_from_simulation(checks, results)
        method = "iam:SimulatePrincipalPolicy"
    else:
        statements = [s for p in installer_role["policies"] for s in normalise(p["document"], p["arn"])]
        boundary = (normalise(installer_role["permissions_boundary"]["document"],
                              installer_role["permissions_boundary"]["arn"])
                    if installer_role.get("permissions_boundary") else None)
        decided = iam_effective.decide_from_documents(checks, statements, boundary)
        method = ("policy documents evaluated by asbuilt.rules.iam_eval (identity policies"
                  + (" within the permissions boundary" if boundary is not None else "")
                  + f"; resource policies and SCPs not included) because {why}")
    verdict(iam_effective.installer_effective_access([{
        "resource": installer_role["resource"], "method": method, "checks": decided,
    }]))


# -- Then: IAM on the Kubernetes side (IRSA annotation, pre-signed bundle URLs) -------------------
@given("the installer's Kubernetes service account", target_fixture="installer_service_accounts")
def installer_service_accounts(target, kube_iam):
    ns = _namespace(target)
    accounts = kube_iam._list("serviceaccounts", ns)
    mine = [a for a in accounts if (a.get("metadata") or {}).get("name") == INSTALLER_SERVICE_ACCOUNT]
    if not mine:
        raise ProbeError(f"service account {ns}/{INSTALLER_SERVICE_ACCOUNT} not found in the cluster "
                         "(is the conncentric release installed?)")
    return [{"resource": f"ServiceAccount {ns}/{INSTALLER_SERVICE_ACCOUNT}", "namespace": ns,
             "name": INSTALLER_SERVICE_ACCOUNT,
             "role_arn": ((a.get("metadata") or {}).get("annotations") or {}).get("eks.amazonaws.com/role-arn")}
            for a in mine]


@then("it is annotated with the installer's IAM role")
def irsa_annotation(installer_service_accounts, target, asbuilt_run, verdict):
    role_arns = None
    if target.aws is not None and target.aws.resources.installer_role:
        role_arns = [asbuilt_run.aws().role(target.aws.resources.installer_role)["Arn"]]
    verdict(iam.irsa_service_account(installer_service_accounts, _namespace(target), INSTALLER_SERVICE_ACCOUNT,
                                     role_arns))


@given("the bundle URLs of the helm release", target_fixture="bundle_urls")
def bundle_urls(target, kube_iam):
    from asbuilt.probes.k8s import release_values

    releases = kube_iam.helm_releases()
    if not releases:  # the target names the release: not reading it is not evidence of short-lived URLs
        raise ProbeError(f"helm release {_namespace(target)}/{target.kubernetes.release} cannot be read "
                         "(no release Secret labelled owner=helm): the bundle URLs are unknown")
    release = kube_iam.current_release()
    urls = ((release_values(release).get("installer") or {}).get("customBundleUrls")) or []
    where = f"helm release {release.get('namespace')}/{release.get('name')} revision {release.get('version')}"
    return [{"resource": f"{where}: installer.customBundleUrls[{i}]", **iam.describe_url(str(u))}
            for i, u in enumerate(urls)]


@then("every pre-signed bundle URL expires within the profile's limit")
def presigned_expiry(bundle_urls, decide, verdict):
    verdict(decide("IAM-06", bundle_urls))


# -- Then: storage and registry ------------------------------------------------------------------
@then("it keeps every version of the bundles")
def bucket_versioning(bundle_buckets, verdict):
    verdict(storage.bucket_versioning(bundle_buckets))


@then("it is encrypted with KMS and closed to the public")
def bucket_protection(bundle_buckets, verdict):
    verdict(storage.bucket_protection(bundle_buckets))


@then("there is one repository per platform image")
def ecr_per_image(ecr_repositories, aws, verdict):
    verdict(storage.ecr_repositories(ecr_repositories, named=aws.resources.ecr_repositories))


# -- evidence shaping: live facts -> the shared rules' neutral forms -----------------------------
def _namespace(target) -> str:
    return target.kubernetes.namespace if target.kubernetes else DEFAULT_NAMESPACE


def security_group_evidence(aws, ids: list[str]) -> list[dict]:
    """EC2 security groups -> the neutral form of asbuilt.rules.network, as AWS evaluates them:
    prefix lists are resolved to their CIDRs (kept by id too), "-1" is all traffic."""
    groups = aws.security_groups(ids)
    missing = [i for i in ids if i not in groups]
    if missing:
        raise ProbeError(f"ec2.describe_security_groups: {', '.join(missing)} not found")
    from asbuilt.readers.aws_api import neutral_rules  # the one shaping of EC2 rules

    return [{"id": gid, "resource": groups[gid].get("SecurityGroupArn") or gid, "name": groups[gid].get("GroupName"),
             "vpc_id": groups[gid].get("VpcId"), "ingress": neutral_rules(aws, groups[gid])} for gid in ids]


def cluster_vpc(aws, cluster: dict) -> str | None:
    if cluster.get("vpc_id"):
        return cluster["vpc_id"]
    subnets = aws.subnets(cluster.get("subnets") or [])
    return next((s["vpc_id"] for s in subnets.values() if s.get("vpc_id")), None)


def peered_vpcs(aws, vpc: str, vpcs: list[str]) -> list[str]:
    """The VPCs of ``vpcs`` with an active peering to ``vpc`` that both sides route through."""
    others = [v for v in vpcs if v != vpc]
    if not others:
        return []
    links = aws.vpc_links(sorted({vpc, *others}))
    out = []
    for p in links["peerings"]:
        if p["status"] != "active" or vpc not in (p["requester"], p["accepter"]):
            continue
        other = p["accepter"] if p["requester"] == vpc else p["requester"]
        if other not in others:
            continue
        routed = {r["vpc_id"] for r in links["routes"] if r.get("peering") == p["id"] and r.get("state") != "blackhole"}
        if {vpc, other} <= routed:
            out.append(other)
    return out


def node_cidrs(aws, data_vpc: str | None) -> list[str]:
    """The EKS node subnets' CIDRs, when the nodes are in ``data_vpc`` or a peered, routed VPC
    (a CIDR rule admits the nodes only then)."""
    groups = aws.eks_nodegroups()
    subnets = aws.subnets([s for g in groups for s in g["subnets"]])
    node_vpcs = {s["vpc_id"] for s in subnets.values() if s.get("vpc_id")}
    if data_vpc and not (data_vpc in node_vpcs
                         or any(data_vpc in peered_vpcs(aws, v, [v, data_vpc]) for v in node_vpcs)):
        return []
    return [c for s in subnets.values() for c in ([s["cidr"]] if s.get("cidr") else []) + s.get("ipv6_cidrs", [])]


def alb_posture_evidence(aws, b: dict) -> dict:
    listeners = []
    for li in b.get("listeners", []):
        actions = li["default_actions"]
        first = actions[0] if actions else {}
        action, redirect = first.get("type"), (first.get("redirect") or {}).get("protocol")
        if li["protocol"] == "HTTP":  # a rule that forwards means port 80 does not only redirect
            for a in [a for r in li["rules"] for a in r["actions"]]:
                if a["type"] != "redirect" or (a.get("redirect") or {}).get("protocol") != "HTTPS":
                    action, redirect = a["type"], (a.get("redirect") or {}).get("protocol")
                    break
        listeners.append({"resource": li["arn"], "port": li["port"], "protocol": li["protocol"], "action": action,
                          "redirect_protocol": redirect, "certificates": li["certificates"],
                          "rules": len(li["rules"])})
    sources = None
    if b.get("security_groups"):
        sources = [src for g in security_group_evidence(aws, b["security_groups"]) for r in g["ingress"]
                   if network.admits_port(r, 443)
                   for src in r["cidrs_v4"] + r["cidrs_v6"] + r["groups"] + r["prefix_lists"]]
    return {"resource": b["resource"], "scheme": b["scheme"], "dns_name": b["dns_name"], "listeners": listeners,
            "https_sources": sources,
            "reachability": "TCP 443 not probed: the target names no vantage point in the users' network; "
                            "https_sources lists what the load balancer's security groups admit on 443"}


def bucket_evidence(b: dict) -> dict:
    pab = b.get("public_access_block")
    keys = {"BlockPublicAcls": "block_public_acls", "BlockPublicPolicy": "block_public_policy",
            "IgnorePublicAcls": "ignore_public_acls", "RestrictPublicBuckets": "restrict_public_buckets"}
    return {"resource": b["resource"], "name": b["bucket"], "versioning": b["versioning"],
            "sse": b["sse_algorithm"], "kms_key_arn": b["kms_key_arn"],
            "public_access_block": {v: pab.get(k) for k, v in keys.items()} if pab is not None else None}


# -- Kubernetes access for the IAM controls (read-only; the API server address is checked) ---------
@pytest.fixture(scope="session")
def kube_iam(target, asbuilt_run):
    """The run's Kubernetes probe (asbuilt.probes.k8s.KubeProbe): the run context's shared one
    where it offers one, else one for these steps."""
    if target.kubernetes is None:
        pytest.skip("the target file has no kubernetes section")
    shared = getattr(asbuilt_run, "kube", None)
    if callable(shared):
        return shared()
    from asbuilt.probes.k8s import KubeProbe

    return KubeProbe(target.kubernetes, target)
