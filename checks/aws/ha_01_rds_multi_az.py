"""HA-01: RDS Multi-AZ is enabled (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_multi_az; rule: asbuilt.rules.ha.
"""

from asbuilt.rules import ha
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HA-01"

control_check(
    CONTROL, "RDS Multi-AZ is enabled",
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
    aws=facts.rds_multi_az,
    rule=lambda items, p, profile: ha.rds_multi_az(items),
)
