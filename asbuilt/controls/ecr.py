"""ECR-*: one repository per image. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import storage
from asbuilt.static import facts


ECR_01 = Unit("ECR-01", storage.ecr_repositories, evidence=facts.ecr_repositories,
              scope="stack",
              terraform=("aws_ecr_repository",),
              cloudformation=("AWS::ECR::Repository",))
