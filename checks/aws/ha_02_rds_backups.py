"""HA-02: RDS automated backups are retained (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_backups; rule: asbuilt.rules.ha.

The control (rule, thresholds, judgement) is asbuilt/controls/ha.py: HA_02.
"""

from asbuilt.controls.ha import HA_02
from asbuilt.static.checkbase import control_check

CONTROL = "HA-02"

control_check(
    HA_02,
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
)
