"""VER-02: RDS engine is PostgreSQL at the minimum version (Terraform and CloudFormation).

Anchors: "aws_db_instance" / "AWS::RDS::DBInstance". Facts: asbuilt.static.facts.rds_engines; rule: asbuilt.rules.versions.
"""

from asbuilt.rules import versions
from asbuilt.static import facts
from asbuilt.static.checkbase import control_check

CONTROL = "VER-02"

control_check(
    CONTROL, "RDS engine is PostgreSQL at the minimum version",
    terraform=["aws_db_instance"],
    cloudformation=["AWS::RDS::DBInstance"],
    aws=facts.rds_engines,
    rule=lambda items, p, profile: versions.rds_engine(items, p["engine"], p["min_version"]),
)
