"""An Aurora instance read from the API (a real moto server): its own MultiAZ is false whatever
its cluster, so HA-01 is error naming the cluster, never a fail on that flag."""

from __future__ import annotations

import os

from asbuilt.catalogue import load_profile
from asbuilt.controls import unit
from asbuilt.probes.aws import AwsProbe
from asbuilt.readers.aws_api import AwsApiReader
from asbuilt.target import AwsResources, AwsSection
from asbuilt_sandbox import aws_reference
from tests.helpers import reset_moto


def test_an_aurora_instance_s_multi_az_is_its_cluster_s(moto_endpoint):
    reset_moto(moto_endpoint)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # moto's: never real ones
    rds = aws_reference.client("rds", moto_endpoint)
    rds.create_db_cluster(DBClusterIdentifier="platform", Engine="aurora-postgresql", EngineVersion="16.3",
                          MasterUsername="admin", MasterUserPassword="not-a-real-password-1")
    rds.create_db_instance(DBInstanceIdentifier="platform-1", DBClusterIdentifier="platform",
                           Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    section = AwsSection(region="us-east-1", endpoint_url=moto_endpoint,
                         resources=AwsResources(rds_instance="platform-1"))
    reader = AwsApiReader(AwsProbe(section, allowed_networks=["127.0.0.0/8"]))
    u = unit("HA-01")
    v = u.decide(u.evidence(reader.databases(), None), load_profile("conncentric-aws"))
    assert v.status == "error", v.message
    assert "DB cluster platform" in v.message and "Multi-AZ is the cluster's" in v.message, v.message
