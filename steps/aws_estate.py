"""Steps about the AWS estate: EKS, RDS, MSK, ALB, S3, IAM, ECR. Model -> unit -> verdict.

The AWS API reader (asbuilt.readers.aws_api, the ``live_estate`` fixture) fills the estate
model the Terraform and CloudFormation readers fill; each ``Then`` is one line, the control's
unit judging its slice of that model (``decide("HA-04", live_estate.clusters())``), exactly as
its static check does. The ``Given`` steps read the resources first, so a resource that cannot
be read makes the scenario's controls ``error`` with the probe's reason.
"""

from __future__ import annotations

import time

import pytest
from pytest_bdd import given, then

from asbuilt.rules import iam
from asbuilt.probes import ProbeError
from asbuilt.probes import bundle_store

URL_CHECK_TIMEOUT = 10.0  # seconds for one GET of a bundle URL (a forged copy of it: an error answer)

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
def bundle_buckets(live_estate):
    return list(live_estate.buckets().buckets.values())  # the one the target names (else ProbeError)


@given("the ECR repositories of the deployment", target_fixture="ecr_repositories")
def ecr_repositories(live_estate):
    return list(live_estate.repositories().repositories.values())  # the target's, where it names them


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
def msk_spread(msk_clusters, live_estate, decide, verdict):
    verdict(decide("HA-03", live_estate.broker_spread()))


@then("its subnets span availability zones with enough nodes")
def nodegroup_spread(eks_nodegroups, live_estate, decide, verdict):
    verdict(decide("HA-04", live_estate.clusters()))


@then("it spans at least the profile's number of availability zones")
def alb_spread(albs, live_estate, decide, verdict):
    verdict(decide("HA-06", live_estate.load_balancers()))


# -- Then: networking ---------------------------------------------------------------------------
@then("its security group admits PostgreSQL from the EKS nodes")
def rds_admits_nodes(rds_instances, live_estate, decide, verdict):
    verdict(decide("NET-01", live_estate.database_network()))


@then("its security group admits the broker ports from the EKS nodes")
def msk_admits_nodes(msk_clusters, live_estate, decide, verdict):
    verdict(decide("NET-02", live_estate.msk_network()))


@then("their security groups admit nothing from the internet and no other port")
def data_groups_closed(rds_instances, msk_clusters, live_estate, decide, verdict):
    verdict(decide("NET-03", live_estate.data_tier()))


@then("it serves HTTPS with the declared scheme and HTTP only redirects")
def alb_posture(albs, live_estate, decide, verdict):
    verdict(decide("NET-06", live_estate.load_balancer_posture()))


@then("its clients reach the brokers over TLS only")
def msk_tls(msk_clusters, live_estate, decide, verdict):
    verdict(decide("NET-07", live_estate.msk()))


@given("the EKS cluster, the platform database and the MSK cluster", target_fixture="placement")
def placement(live_estate):
    return live_estate.placement()


@then("they share a VPC, or their VPCs are peered and routed")
def same_vpc(placement, decide, verdict):
    verdict(decide("NET-08", placement))


# -- Then: IAM -----------------------------------------------------------------------------------
@given("the installer's IAM role", target_fixture="installer_role")
def installer_role(live_estate):
    return live_estate.installer_role()


@then("its policies grant exactly the seed's bundle read access")
def installer_policy(installer_role, live_estate, decide, verdict):
    verdict(decide("IAM-01", live_estate.installer_policy()))


@then("its trust allows only the installer service account through the cluster's OIDC provider")
def installer_trust(installer_role, live_estate, target, decide, verdict):
    verdict(decide("IAM-03", live_estate.installer_trust(), namespace=_namespace(target),
                   service_account=INSTALLER_SERVICE_ACCOUNT, oidc_providers=live_estate.oidc_provider_arns()))


@then("the bundle policy is not attached to the EKS node role")
def node_role_clean(installer_role, live_estate, decide, verdict):
    verdict(decide("IAM-04", live_estate.node_roles(), irsa_configured=live_estate.irsa_configured()))


@then("it can read the bundles and cannot write, delete or read other buckets")
def installer_effective(installer_role, live_estate, decide, verdict):
    verdict(decide("IAM-05", live_estate.installer_access()))


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
def irsa_annotation(installer_service_accounts, target, asbuilt_run, decide, verdict):
    role_arns = None
    if target.aws is not None and target.aws.resources.installer_role:
        role_arns = [asbuilt_run.aws().role(target.aws.resources.installer_role)["Arn"]]
    verdict(decide("IAM-02", installer_service_accounts, namespace=_namespace(target), name=INSTALLER_SERVICE_ACCOUNT,
                   role_arns=role_arns))


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
    out = [{"resource": f"{where}: installer.customBundleUrls[{i}]", **iam.describe_url(str(u))}
           for i, u in enumerate(urls)]
    custom = target.aws.s3_is_custom_endpoint() if target.aws else False
    for item, url in zip(out, urls):
        if item["presigned"]:  # an expiry is only enforced where the signature is verified: ask with a forged one
            until = bundle_store.signed_until(str(url))
            expired = until is not None and until < time.time()  # a URL already past its expiry: ask with it too
            item["refusals"] = bundle_store.refusals(
                str(url), URL_CHECK_TIMEOUT, target.allowed_networks, str(url) if expired else None, until,
                custom_endpoint=custom,
                cafile=str(target.aws.ca_bundle) if target.aws and target.aws.ca_bundle else None)
    return out


@then("every pre-signed bundle URL expires within the profile's limit")
def presigned_expiry(bundle_urls, decide, verdict):
    verdict(decide("IAM-06", bundle_urls))


# -- Then: storage and registry ------------------------------------------------------------------
@then("it keeps every version of the bundles")
def bucket_versioning(bundle_buckets, live_estate, decide, verdict):
    verdict(decide("S3-01", live_estate.buckets()))


@then("it is encrypted with KMS and closed to the public")
def bucket_protection(bundle_buckets, live_estate, decide, verdict):
    verdict(decide("S3-02", live_estate.buckets()))


@then("there is one repository per platform image")
def ecr_per_image(ecr_repositories, live_estate, aws, decide, verdict):
    verdict(decide("ECR-01", live_estate.repositories(), named=aws.resources.ecr_repositories))


# -- helpers ------------------------------------------------------------------------------------
def _namespace(target) -> str:
    return target.kubernetes.namespace if target.kubernetes else DEFAULT_NAMESPACE


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
