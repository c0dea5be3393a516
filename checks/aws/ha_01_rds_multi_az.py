"""HA-01: RDS Multi-AZ is enabled (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_multi_az; rule: asbuilt.rules.ha.

The control (rule, thresholds, judgement) is asbuilt/controls/ha.py: HA_01.
"""

from asbuilt.controls.ha import HA_01
from asbuilt.static.checkbase import control_check

CONTROL = "HA-01"

control_check(
    HA_01,
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
)
