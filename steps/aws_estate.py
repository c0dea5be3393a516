"""Steps about the AWS estate: EKS, RDS, MSK, ALB, S3, IAM, ECR. Probe -> rule -> verdict."""

from __future__ import annotations

from pytest_bdd import given, then

from asbuilt.rules import ha, versions


@given("the EKS cluster of the deployment", target_fixture="eks_clusters")
def eks_clusters(aws):
    return aws.eks_clusters()


@given("the platform database", target_fixture="rds_instances")
def rds_instances(aws):
    return aws.rds_instances()


@then("its Kubernetes version is at least the profile minimum")
def eks_version_at_least(eks_clusters, params, verdict):
    verdict(versions.eks_version(eks_clusters, **params("VER-01")))


@then("it runs PostgreSQL at least at the profile minimum")
def rds_version_at_least(rds_instances, params, verdict):
    verdict(versions.rds_engine(rds_instances, **params("VER-02")))


@then("it survives the loss of an availability zone")
def rds_is_multi_az(rds_instances, verdict):
    verdict(ha.rds_multi_az(rds_instances))
