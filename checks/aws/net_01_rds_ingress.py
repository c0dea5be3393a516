"""NET-01: RDS security group admits PostgreSQL from the EKS nodes (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_ingress; rule: asbuilt.rules.network.

The control (rule, thresholds, judgement) is asbuilt/controls/net.py: NET_01.
"""

from asbuilt.controls.net import NET_01
from asbuilt.static.checkbase import control_check

CONTROL = "NET-01"

control_check(
    NET_01,
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
)
