"""HA-02: RDS automated backups are retained (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_backups; rule: asbuilt.rules.ha.
"""

from asbuilt.rules import ha
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "HA-02"

control_check(
    CONTROL, "RDS automated backups are retained",
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
    aws=facts.rds_backups,
    rule=lambda items, p, profile: ha.rds_backups(items, int(p["min_retention_days"]), int(p.get("reference_retention_days", 7))),
)
