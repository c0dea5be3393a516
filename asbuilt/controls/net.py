"""NET-*: security groups, load balancer posture, in-transit encryption, VPC placement.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import network, reachability
from asbuilt.static import facts


NET_01 = Unit("NET-01", network.rds_admits_nodes, thresholds={"port": int}, evidence=facts.rds_ingress,
              terraform=("aws_db_instance",),
              cloudformation=("AWS::RDS::DBInstance",))

NET_02 = Unit("NET-02", network.msk_admits_nodes, thresholds={"ports": int}, evidence=facts.msk_ingress,
              terraform=("aws_msk_cluster",),
              cloudformation=("AWS::MSK::Cluster",))

NET_03 = Unit("NET-03", network.no_open_ingress, evidence=facts.data_tier_exposure,
              terraform=("aws_db_instance", "aws_msk_cluster"),
              cloudformation=("AWS::RDS::DBInstance", "AWS::MSK::Cluster"))

NET_06 = Unit("NET-06", network.alb_posture, thresholds={"scheme": str}, evidence=facts.alb_posture,
              terraform=("aws_lb", "aws_alb"),
              cloudformation=("AWS::ElasticLoadBalancingV2::LoadBalancer",),
              kubernetes=("Ingress",),
              k8s=facts.ingress_posture)

NET_07 = Unit("NET-07", network.msk_client_tls, evidence=facts.msk_tls,
              terraform=("aws_msk_cluster",),
              cloudformation=("AWS::MSK::Cluster",))

NET_08 = Unit("NET-08", network.same_vpc, evidence=facts.vpc_placement,
              scope="stack",
              terraform=("aws_eks_cluster", "aws_db_instance", "aws_msk_cluster"),
              cloudformation=("AWS::EKS::Cluster", "AWS::RDS::DBInstance", "AWS::MSK::Cluster"))

# NET-04/05: TCP connects from the target's vantage points (asbuilt.probes.network); the timeout
# is the control's own connect_timeout_seconds.
NET_04 = Unit("NET-04", reachability.reachable_from_inside,
              bind=lambda profile: {"timeout": float(profile.params("NET-04")["connect_timeout_seconds"])})

NET_05 = Unit("NET-05", reachability.unreachable_from_outside,
              bind=lambda profile: {"timeout": float(profile.params("NET-05")["connect_timeout_seconds"])})
