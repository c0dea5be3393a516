"""SIZE-02: RDS instance class meets the reference size (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_classes; rule: asbuilt.rules.sizing.
"""

from asbuilt.rules import sizing
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-02"

control_check(
    CONTROL, "RDS instance class meets the reference size",
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
    aws=facts.rds_classes,
    rule=lambda items, p, profile: sizing.rds_instance_class(items, p["instance_class"]),
)
