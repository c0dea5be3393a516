"""NET-03: RDS and MSK admit nothing from the internet, no other port (Terraform and CloudFormation).

Anchors: "aws_db_instance", "aws_msk_cluster" / "AWS::RDS::DBInstance", "AWS::MSK::Cluster". Facts: asbuilt.static.facts.data_tier_exposure; rule: asbuilt.rules.network.

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_03.
"""

from asbuilt.controls.net import NET_03
from asbuilt.static.checkbase import control_check

CONTROL = "NET-03"

control_check(
    NET_03,
    terraform=["aws_db_instance", "aws_msk_cluster"],
    cloudformation=["AWS::RDS::DBInstance", "AWS::MSK::Cluster"],
)
