"""VER-02: RDS engine is PostgreSQL at the minimum version (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_engines; rule: asbuilt.rules.versions.

The control (rule, thresholds, judgement) is asbuilt/controls/ver.py: VER_02.
"""

from asbuilt.controls.ver import VER_02
from asbuilt.static.checkbase import control_check

CONTROL = "VER-02"

control_check(
    VER_02,
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
)
