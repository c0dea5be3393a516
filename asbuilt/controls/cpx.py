"""CPX-*: Confluent Connect and Control Center on ECS, deployed with ECS ComposeX (composex-ecs).
One unit per control (see asbuilt.controls).

* CPX-01, CPX-05: static only, over a ComposeX project (``static: {compose: [project]}``, read by
  ``asbuilt.static.compose``: base + ``envs/<env>.yml``, merged with compose_x_render).
* CPX-02: static over the same project, live over the ECS task definitions of the target's
  ``ecs:`` section (``asbuilt.readers.ecs_api``): the same item shape, one rule.
* CPX-03/04/06: live only, over ``asbuilt.model.kafka.KafkaPrincipal`` objects (the ACLs read
  from the cluster by ``asbuilt.readers.kafka_acls.read_principals``). Which principal plays
  which role: the target's ``ecs.principals`` when it names them, else the usernames of the JAAS
  configs the task definitions pass (``asbuilt.readers.ecs_api.roles_from_task_definitions``:
  only when the JAAS text is visible, which it is not when it comes from Secrets Manager; asbuilt
  never reads a secret's value, so a conforming deployment names its principals in the target).
"""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import composex
from asbuilt.static import compose

CPX_01 = Unit("CPX-01", composex.merge_valid, partial=("problems",),
              files={"composex": compose.merge_facts})

CPX_02 = Unit("CPX-02", composex.credentials_from_secrets, partial=("credentials", "secrets"),
              files={"composex": compose.credential_facts})

CPX_03 = Unit("CPX-03", composex.least_privilege_acls, partial=())

CPX_04 = Unit("CPX-04", composex.distinct_principals, partial=())

CPX_05 = Unit("CPX-05", composex.private_pinned_images, partial=("image", "dockerfile", "base_images"),
              files={"composex": compose.image_facts})

CPX_06 = Unit("CPX-06", composex.control_center_admin, partial=())
