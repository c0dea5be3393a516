"""Named drifts: each injects one violation into the sandbox and lists the controls it breaks.

A drift changes facts of the reference before the sandbox is provisioned: the AWS estate
(``aws`` = fields of ``aws_reference.Reference``), the platform topics (``kafka``), the helm
values and Kubernetes objects (``kube``), the reference installer (``installer_fault``). The
project's tests bring the sandbox up with one drift and assert that exactly ``controls`` fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asbuilt.errors import InputError
from asbuilt_sandbox.topology import BROKER_ADDRS as _BROKERS


@dataclass(frozen=True)
class Drift:
    name: str
    controls: tuple[str, ...]
    description: str
    aws: dict[str, Any] = field(default_factory=dict)
    kafka: dict[str, Any] = field(default_factory=dict)
    kube: dict[str, Any] = field(default_factory=dict)
    postgres: dict[str, Any] = field(default_factory=dict)
    composex: dict[str, Any] = field(default_factory=dict)  # fields of composex_reference.ComposexReference
    installer_fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "controls": list(self.controls), "description": self.description}


def _tcp(port: int, cidr: str | None = None, v6: str | None = None) -> dict:
    perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        perm["IpRanges"] = [{"CidrIp": cidr, "Description": "drift"}]
    if v6:
        perm["Ipv6Ranges"] = [{"CidrIpv6": v6, "Description": "drift"}]
    return perm


DRIFTS: list[Drift] = [
    # versions and sizing
    Drift("eks-old-version", ("VER-01",), "EKS control plane on Kubernetes 1.29", aws={"eks_version": "1.29"}),
    Drift("rds-old-postgres", ("VER-02",), "RDS PostgreSQL 14", aws={"rds_version": "14.10"}),
    Drift("rds-mysql", ("VER-02",), "the platform database is MySQL, not PostgreSQL",
          aws={"rds_engine": "mysql", "rds_version": "8.0.35"}),
    Drift("release-written-by-helm-3", ("VER-04",), "the helm release record is one Helm 3 wrote (no apply_method)",
          kube={"helm3_record": True}),
    Drift("msk-old-kafka", ("VER-03",), "MSK on Apache Kafka 3.4", aws={"msk_version": "3.4.0"}),
    Drift("nodegroup-small-instances", ("SIZE-01",), "node group on m6i.large (below m6i.xlarge)",
          aws={"nodegroup_instance_types": ["m6i.large"]}),
    Drift("rds-small-class", ("SIZE-02",), "RDS on db.t3.medium (below db.r6g.large)", aws={"rds_class": "db.t3.medium"}),
    Drift("msk-small-brokers", ("SIZE-03",), "MSK brokers kafka.t3.small", aws={"msk_broker_type": "kafka.t3.small"}),
    # high availability
    # the Console database lives on the same RDS instance (asbuilt_sandbox.manager.write_target):
    # in a conduktor-k8s run these fail CDK-DB-02, in a conncentric-aws run HA-01 / HA-02
    Drift("rds-single-az", ("HA-01", "CDK-DB-02"), "RDS MultiAZ off", aws={"rds_multi_az": False}),
    Drift("rds-no-backups", ("HA-02", "CDK-DB-02"), "RDS automated backups off (retention 0)",
          aws={"rds_backup_days": 0}),
    Drift("msk-two-zones", ("HA-03",), "MSK with 2 brokers in 2 availability zones",
          aws={"msk_brokers": 2, "msk_zones": ("us-east-1a", "us-east-1b")}),
    Drift("nodegroup-single-az", ("HA-04",), "node group subnets all in us-east-1a",
          aws={"nodegroup_zones": ("us-east-1a",)}),
    Drift("nodegroup-one-node", ("HA-04", "SIZE-01"), "node group min/desired size 1",
          aws={"nodegroup_scaling": {"minSize": 1, "maxSize": 3, "desiredSize": 1}}),
    Drift("alb-single-az", ("HA-06",), "ALB in one availability zone", aws={"alb_zones": ("us-east-1a",)}),
    Drift("topics-replication-2", ("HA-07",), "platform topics created with replication factor 2",
          kafka={"replication_factor": 2}),
    Drift("topics-min-isr-1", ("HA-07",), "platform topics with min.insync.replicas 1",
          kafka={"min_insync_replicas": 1}),
    # networking
    Drift("sg-rds-open-world", ("NET-03", "NET-05"), "RDS security group admits 5432 from 0.0.0.0/0",
          aws={"rds_sg_extra": [_tcp(5432, "0.0.0.0/0")]}),
    Drift("sg-msk-open-world-v6", ("NET-03",), "MSK security group admits 9094 from ::/0",
          aws={"msk_sg_extra": [_tcp(9094, v6="::/0")]}),
    Drift("sg-rds-no-node-access", ("NET-01", "NET-04"), "RDS security group no longer admits the EKS nodes",
          aws={"rds_sg_admits_nodes": False}),
    Drift("sg-msk-no-node-access", ("NET-02", "NET-04"), "MSK security group no longer admits the EKS nodes",
          aws={"msk_sg_admits_nodes": False}),
    Drift("sg-msk-extra-port", ("NET-03",), "MSK security group also admits TCP 22 from the node subnet",
          aws={"msk_sg_extra": [_tcp(22, "10.0.1.0/24")]}),
    Drift("alb-internet-facing", ("NET-06",), "ALB scheme internet-facing (declared posture: internal)",
          aws={"alb_scheme": "internet-facing"}),
    Drift("alb-http-forwards", ("NET-06",), "ALB port 80 forwards instead of redirecting to HTTPS",
          aws={"alb_http_redirects": False}),
    Drift("msk-plaintext", ("NET-07",), "MSK client-broker encryption TLS_PLAINTEXT",
          aws={"msk_client_broker": "TLS_PLAINTEXT"}),
    Drift("rds-other-vpc", ("NET-08", "NET-01"), "RDS in a second VPC that is not peered with the cluster's",
          aws={"rds_in_own_vpc": True}),
    # IAM
    Drift("installer-policy-wildcard", ("IAM-01", "IAM-05"), "installer policy grants s3:* on *",
          aws={"installer_policy_statements": [
              {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    Drift("installer-trust-any-sa", ("IAM-03",), "installer trust allows any service account of the namespace",
          aws={"installer_trust_operator": "StringLike",
               "installer_trust_sub": "system:serviceaccount:conncentric:*"}),
    Drift("sa-no-irsa-annotation", ("IAM-02",), "the installer service account lost its eks.amazonaws.com/role-arn "
          "annotation (edited after the release)",
          kube={"patches": [{"kind": "ServiceAccount", "namespace": "conncentric", "name": "conncentric-installer",
                             "patch": {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": None}}}}]}),
    Drift("presigned-url-14-days", ("IAM-06",), "the release's bundle URL is pre-signed for 14 days (1209600 s)",
          kube={"presign_seconds": 1209600}),
    Drift("bundle-policy-on-node-role", ("IAM-04",), "bundle policy also attached to the EKS node role",
          aws={"bundle_policy_on_node_role": True}),
    Drift("installer-can-write", ("IAM-05",), "a second policy lets the installer role write and delete bundles",
          aws={"installer_extra_policy_statements": [
              {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
               "Resource": "arn:aws:s3:::{bucket}/*"}]}),
    # storage and registry
    Drift("bucket-unversioned", ("S3-01", "BNDL-02"), "bundle bucket versioning not enabled", aws={"bucket_versioning": False}),
    # with SSE-S3 the seed's policy drops its KMS statement ("you can remove the AllowKMSDecrypt
    # statement"), so only S3-02 changes (a kms:Decrypt grant would be IAM-01's finding)
    Drift("bucket-sse-s3", ("S3-02",), "bundle bucket default encryption SSE-S3 (AES256)",
          aws={"bucket_encryption": "AES256", "installer_policy_statements": [
              {"Sid": "AllowBundleDownload", "Effect": "Allow", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::{bucket}/*"},
              {"Sid": "AllowBucketListing", "Effect": "Allow", "Action": "s3:ListBucket",
               "Resource": "arn:aws:s3:::{bucket}"}]}),
    Drift("bucket-public-access", ("S3-02",), "bundle bucket without a public access block",
          aws={"bucket_public_access_block": False}),
    Drift("ecr-missing-portal", ("ECR-01",), "no ECR repository for portal",
          aws={"ecr_repositories": ("orchestrator", "adapter")}),
    # Kubernetes workloads and the helm release (values given to helm, or objects edited after it)
    Drift("orchestrator-single-replica", ("HA-05",), "orchestrator.replicas 1 in the release values",
          kube={"values": {"orchestrator": {"replicas": 1}}}),
    Drift("portal-deployment-deleted", ("K8S-01", "HA-05"), "the portal Deployment deleted after the release",
          kube={"delete": [{"kind": "Deployment", "namespace": "conncentric", "name": "portal"}]}),
    Drift("ingress-without-tls", ("K8S-02",), "the Ingress edited to plain HTTP: no spec.tls, no certificate, "
          "listen-ports HTTP 80 only",
          kube={"patches": [{"kind": "Ingress", "namespace": "conncentric", "name": "conncentric", "patch": {
              "metadata": {"annotations": {"alb.ingress.kubernetes.io/certificate-arn": None,
                                           "alb.ingress.kubernetes.io/ssl-redirect": None,
                                           "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}]'}},
              "spec": {"tls": None}}}]}),
    Drift("portal-no-limits", ("K8S-03",), "the portal container lost its resource limits (edited after the release)",
          kube={"patches": [{"kind": "Deployment", "namespace": "conncentric", "name": "portal", "patch": {
              "spec": {"template": {"spec": {"containers": [{"name": "portal", "resources": {"limits": None}}]}}}}}]}),
    Drift("adapter-privileged", ("K8S-04",), "the adapter container runs privileged, with privilege escalation",
          kube={"patches": [{"kind": "Deployment", "namespace": "conncentric", "name": "adapter", "patch": {
              "spec": {"template": {"spec": {"containers": [{"name": "adapter", "securityContext": {
                  "privileged": True, "allowPrivilegeEscalation": True}}]}}}}}]}),
    Drift("literal-password-env", ("K8S-05",), "a password written as a literal in the release values "
          "(env.ADMIN_PASSWORD, so in every container's env)",
          kube={"values": {"env": {"ADMIN_PASSWORD": "sandbox-literal-" + "drift"}}}),
    Drift("no-lb-controller", ("K8S-06",), "the AWS Load Balancer Controller is not installed",
          kube={"lb_controller": False}),
    Drift("bootstrap-wrong-port", ("HELM-01",), "env.KAFKA_BOOTSTRAP_SERVERS names the brokers' controller port 9093",
          kube={"values": {"env": {"KAFKA_BOOTSTRAP_SERVERS": ",".join(f"{a}:9093" for a in _BROKERS)}}}),
    Drift("bundle-url-plain-http", ("HELM-01",), "installer.customBundleUrls is a plain http pre-signed URL",
          kube={"bundle_url_scheme": "http"}),
    # the two-pass installer (its faulty modes) and where the platform keeps its state
    Drift("installer-not-idempotent", ("INST-02", "INST-03"), "the installer rewrites every item on every run "
          "(versions and timestamps bumped even when nothing changed)", installer_fault="not-idempotent"),
    Drift("installer-skips-pass-2", ("INST-01", "INST-03", "BNDL-03"), "the installer never runs Pass 2 yet "
          "reports success", installer_fault="skip-pass-2"),
    Drift("installer-ignores-modified", ("INST-03",), "the installer creates new manifests but leaves modified ones "
          "as they were", installer_fault="ignore-modified"),
    Drift("platform-recreates-schema", ("INST-04",), "the platform pods start with SPRING_JPA_HIBERNATE_DDL_AUTO=create: "
          "every start empties the platform tables",
          kube={"values": {"env": {"SPRING_JPA_HIBERNATE_DDL_AUTO": "create"}}}),
    # messaging
    Drift("kafka-client-read-only", ("MSG-01",), "the target's Kafka identity (User:conncentric-app) may read and "
          "describe the platform topics but not write them",
          kube={"kafka_client": "conncentric-app"}),
]


def _gw_acl(resource_type: str, name: str, operation: str, pattern: str = "LITERAL"):
    from asbuilt.model.kafka import AclEntry

    return AclEntry("User:conduktor-gateway", resource_type, name, pattern, operation)


_CDK = "conduktor_values"
# The Conduktor reference (namespace conduktor, asbuilt_sandbox.conduktor_platform): values given to
# helm over the reference's, the Console database's TLS rule, the Gateway principal's ACLs.
DRIFTS += [
    Drift("console-single-replica", ("CDK-HA-01",), "Console at the chart default of 1 replica",
          kube={_CDK: {"console": {"platform": {"replicaCount": 1}}}}),
    Drift("gateway-two-replicas", ("CDK-HA-02",), "Gateway at the chart default of 2 replicas",
          kube={_CDK: {"conduktor-gateway": {"gateway": {"replicas": 2}}}}),
    Drift("cortex-two-replicas", ("CDK-HA-03",), "Cortex scaled to 2 replicas (more than one is unsupported)",
          kube={_CDK: {"console": {"platformCortex": {"replicaCount": 2}}}}),
    Drift("console-data-unbounded", ("CDK-ST-01",), "Console data volume an emptyDir without sizeLimit and "
          "no ephemeral-storage request (the chart default)",
          kube={_CDK: {"console": {"platform": {"dataVolume": {"emptyDir": {"sizeLimit": None}},
                                                "resources": {"requests": {"ephemeral-storage": None},
                                                              "limits": {"ephemeral-storage": None}}}}}}),
    Drift("console-db-without-tls", ("CDK-DB-01",), "the Console database admits the Console's user without TLS "
          "(a hostnossl pg_hba line)", postgres={"conduktor_tls": False}),
    Drift("gateway-internal-plaintext", ("CDK-SEC-01",), "the Gateway's internal listener at its "
          "PLAINTEXT default (clients inside the cluster talk to it unencrypted)",
          kube={_CDK: {"conduktor-gateway": {"gateway": {"listeners": {"internal": {
              "securityProtocol": "PLAINTEXT", "routing": "port"}}}}}}),
    # The real-world case as it is: the JAAS config also written in gateway.env (the env ConfigMap),
    # the Gateway's Secret still holding the key and overriding it at runtime (envFrom order). The
    # literal in the ConfigMap is the leak CDK-SEC-02 reports (asbuilt.model.conduktor keeps the
    # overridden setting aside as Component.shadowed), so the Secret is left as the sandbox makes it.
    Drift("gateway-jaas-in-env", ("CDK-SEC-02",), "a JAAS config with a password in gateway.env (renders into a "
          "ConfigMap) beside the Gateway's Secret",
          kube={_CDK: {"conduktor-gateway": {"gateway": {"env": {"KAFKA_SASL_JAAS_CONFIG":
              'org.apache.kafka.common.security.scram.ScramLoginModule required username="conduktor-gateway" '
              'password="sandbox-literal-' + 'drift";'}}}}}),
    Drift("console-oidc-secret-in-config", ("CDK-SEC-02",), "the OIDC client secret written in the Console config "
          "(lands in the ConfigMap)",
          kube={_CDK: {"console": {"config": {"sso": {"oauth2": [{
              "name": "corporate-oidc", "default": True, "client-id": "conduktor-console",
              "client-secret": "sandbox-literal-oidc-" + "drift",
              "openid": {"issuer": "https://sso.example.internal/realms/platform"}}]}}}}}),
    Drift("console-no-sso", ("CDK-SEC-03",), "the Console without OIDC: local accounts only",
          kube={_CDK: {"console": {"config": {"sso": None}}}}),
    Drift("gateway-default-security-context", ("CDK-SEC-04",), "the Gateway's securityContext: {} default "
          "(renders nothing: root allowed, writable root filesystem)",
          kube={_CDK: {"conduktor-gateway": {"gateway": {"securityContext": None, "podSecurityContext": None}}}}),
    Drift("gateway-principal-all-on-cluster", ("CDK-SEC-05",), "the Gateway principal is granted All on the cluster",
          kafka={"principal_acls": {"gateway": [_gw_acl("CLUSTER", "kafka-cluster", "ALL")]}}),
    Drift("gateway-principal-no-group-read", ("CDK-SEC-05",), "the Gateway principal lost Read (no offset "
          "commits, no reading its internal topics)",
          kafka={"principal_acls_drop": {"gateway": ["READ"]}}),
    Drift("console-no-limits", ("CDK-OPS-01",), "the Console container without resource limits",
          kube={_CDK: {"console": {"platform": {"resources": {"limits": None}}}}}),
    Drift("gateway-no-alerts", ("CDK-OPS-02",), "the Gateway's PrometheusRule switched off",
          kube={_CDK: {"conduktor-gateway": {"metrics": {"alerts": {"enable": False}}}}}),
    Drift("console-plain-logs", ("CDK-OPS-03",), "the Console logs in plain text (CDK_ROOT_LOG_FORMAT not JSON)",
          kube={_CDK: {"console": {"platform": {"extraEnvVars": [
              {"name": "OIDC_CLIENT_SECRET",
               "valueFrom": {"secretKeyRef": {"name": "conduktor-console-oidc", "key": "client-secret"}}}]}}}}),
    Drift("gateway-port-routing", ("CDK-NET-01",), "the Gateway routes by port, not SNI",
          kube={_CDK: {"conduktor-gateway": {"gateway": {"listeners": {
              "internal": {"routing": "port"}, "external": {"routing": "port"}}}}}}),
]


def _composex_drifts() -> list[Drift]:
    """The ComposeX reference's drifts, as its module names them (asbuilt_sandbox.composex_reference)."""
    try:
        from asbuilt_sandbox.composex_reference import DRIFTS as CPX
    except ImportError:
        return []
    return [Drift(name, tuple(controls), description, composex=dict(fields))
            for name, controls, description, fields in CPX]


DRIFTS += _composex_drifts()

BY_NAME = {d.name: d for d in DRIFTS}


def resolve(names: list[str]) -> list[Drift]:
    out = []
    for name in names:
        if name not in BY_NAME:
            raise InputError(f"unknown drift {name!r} (see `asbuilt sandbox drifts`)")
        out.append(BY_NAME[name])
    return out
