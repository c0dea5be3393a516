"""SIZE-02: RDS instance class meets the reference size (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_classes; rule: asbuilt.rules.sizing.

The control (rule, thresholds, judgement) is asbuilt/controls/size.py: SIZE_02.
"""

from asbuilt.controls.size import SIZE_02
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-02"

control_check(
    SIZE_02,
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
)
