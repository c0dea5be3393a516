"""The live AWS reader fills the model objects the IaC readers fill: the sandbox's estate, read
from its API (moto, provisioned from the reference definition), equals the reference Terraform's
(and so CloudFormation's, tests/static/test_one_model.py) for the RDS instance, the security
group rules on it and on MSK, the EKS node group and the MSK cluster."""

from __future__ import annotations

import pytest

from tests.static.test_one_model import _estates, _rules

pytestmark = pytest.mark.sandbox


def test_the_api_gives_the_model_objects_the_reference_terraform_gives(sandbox, tmp_path):
    from asbuilt.probes.aws import AwsProbe
    from asbuilt.readers.aws_api import AwsApiReader
    from asbuilt.target import load_target

    target = load_target(sandbox())
    reader = AwsApiReader(AwsProbe(target.aws, allowed_networks=target.allowed_networks))
    reader.databases(), reader.clusters(), reader.msk()
    api = reader.estate
    tf, _ = _estates(tmp_path)

    (db_api,), (db_tf,) = api.databases.values(), tf.databases.values()
    # the sandbox runs a minor version of PostgreSQL 16 other than the code's; both conform
    fields = ("engine", "instance_class", "multi_az", "backup_retention_days")
    assert {f: getattr(db_api, f) for f in fields} == {f: getattr(db_tf, f) for f in fields}
    assert db_api.version.split(".")[0] == db_tf.version.split(".")[0]
    assert _rules(api, db_api.security_groups) == _rules(tf, db_tf.security_groups)
    assert str(db_api.loc).startswith("arn:aws:rds:")  # an API object is located by its ARN

    (ng_api,), (ng_tf,) = api.nodegroups.values(), tf.nodegroups.values()
    assert (ng_api.instance_types, ng_api.min_size, ng_api.desired_size) == \
        (ng_tf.instance_types, ng_tf.min_size, ng_tf.desired_size)
    assert len({api.zone_of(s) for s in ng_api.subnets}) == len({tf.zone_of(s) for s in ng_tf.subnets}) == 3

    (msk_api,), (msk_tf,) = api.msk.values(), tf.msk.values()
    fields = ("version", "broker_count", "instance_type", "client_broker")
    assert {f: getattr(msk_api, f) for f in fields} == {f: getattr(msk_tf, f) for f in fields}
    assert _rules(api, msk_api.security_groups) == _rules(tf, msk_tf.security_groups)
