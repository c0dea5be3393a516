"""NET-03: RDS and MSK admit nothing from the internet, no other port (Terraform and CloudFormation).

Anchors: "aws_db_instance", "aws_msk_cluster" / "AWS::RDS::DBInstance", "AWS::MSK::Cluster". Facts: asbuilt.static.facts.data_tier_exposure; rule: asbuilt.rules.network.
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-03"

control_check(
    CONTROL, "RDS and MSK admit nothing from the internet, no other port",
    terraform=["aws_db_instance", "aws_msk_cluster"],
    cloudformation=["AWS::RDS::DBInstance", "AWS::MSK::Cluster"],
    aws=facts.data_tier_exposure,
    rule=lambda items, p, profile: network.no_open_ingress(items),
)
