"""HA-*: Multi-AZ, backups, broker and node spread. One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import ha, k8s_live, kafka_topics
from asbuilt.static import facts


HA_01 = Unit("HA-01", ha.rds_multi_az, evidence=facts.rds_multi_az,
             terraform=("aws_db_instance",),
             cloudformation=("AWS::RDS::DBInstance",))

HA_02 = Unit("HA-02", ha.rds_backups, thresholds={"min_retention_days": int, "reference_retention_days": (int, 7)},
             evidence=facts.rds_backups,
             terraform=("aws_db_instance",),
             cloudformation=("AWS::RDS::DBInstance",))

HA_03 = Unit("HA-03", ha.msk_broker_spread, thresholds={"brokers": int, "zones": int}, evidence=facts.msk_spread,
             terraform=("aws_msk_cluster",),
             cloudformation=("AWS::MSK::Cluster",))

HA_04 = Unit("HA-04", ha.eks_nodegroup_spread, thresholds={"min_zones": int, "min_nodes": int},
             evidence=facts.nodegroup_spread,
             terraform=("aws_eks_node_group",),
             cloudformation=("AWS::EKS::Nodegroup",))

HA_06 = Unit("HA-06", ha.alb_spread, thresholds={"min_zones": int}, evidence=facts.alb_spread,
             terraform=("aws_lb", "aws_alb"),
             cloudformation=("AWS::ElasticLoadBalancingV2::LoadBalancer",))

HA_05 = Unit("HA-05", k8s_live.ready_replicas, thresholds={"min_ready_replicas": int})  # context: namespace

HA_07 = Unit("HA-07", kafka_topics.topic_replication,
             thresholds={"min_replication_factor": int, "min_insync_replicas": int})
