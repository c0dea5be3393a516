"""SIZE-03: MSK broker instance type meets the reference size (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_broker_types; rule: asbuilt.rules.sizing.
"""

from asbuilt.rules import sizing
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-03"

control_check(
    CONTROL, "MSK broker instance type meets the reference size",
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
    aws=facts.msk_broker_types,
    rule=lambda items, p, profile: sizing.msk_broker_type(items, p["instance_type"]),
)
