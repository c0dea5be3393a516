"""SIZE-*: instance sizes are the profile's or larger. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import sizing
from asbuilt.static import facts


SIZE_01 = Unit("SIZE-01", sizing.eks_nodegroup_size, thresholds={"instance_type": str, "min_size": int},
               evidence=facts.nodegroup_sizes,
               terraform=("aws_eks_node_group",),
               cloudformation=("AWS::EKS::Nodegroup",))

SIZE_02 = Unit("SIZE-02", sizing.rds_instance_class, thresholds={"instance_class": str},
               evidence=facts.rds_classes,
               terraform=("aws_db_instance",),
               cloudformation=("AWS::RDS::DBInstance",))

SIZE_03 = Unit("SIZE-03", sizing.msk_broker_type, thresholds={"instance_type": str},
               evidence=facts.msk_broker_types,
               terraform=("aws_msk_cluster",),
               cloudformation=("AWS::MSK::Cluster",))
