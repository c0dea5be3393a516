"""NET-01: RDS security group admits PostgreSQL from the EKS nodes (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_ingress; rule: asbuilt.rules.network.
"""

from asbuilt.rules import network
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "NET-01"

control_check(
    CONTROL, "RDS security group admits PostgreSQL from the EKS nodes",
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
    aws=facts.rds_ingress,
    rule=lambda items, p, profile: network.rds_admits_nodes(items, int(p["port"])),
)
