"""SIZE-03: MSK broker instance type meets the reference size (Terraform and CloudFormation).

Anchors: "aws_msk_cluster" / "AWS::MSK::Cluster". Facts: asbuilt.static.facts.msk_broker_types; rule: asbuilt.rules.sizing.

The control (rule, thresholds, judgement) is asbuilt/controls/size.py: SIZE_03.
"""

from asbuilt.controls.size import SIZE_03
from asbuilt.static.checkbase import control_check

CONTROL = "SIZE-03"

control_check(
    SIZE_03,
    terraform=["aws_msk_cluster"],
    cloudformation=["AWS::MSK::Cluster"],
)
