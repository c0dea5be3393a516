"""NET-*: security groups, load balancer posture, in-transit encryption, VPC placement.
One unit per control (see asbuilt.controls)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.rules import network
from asbuilt.static import facts


NET_01 = Unit("NET-01", network.rds_admits_nodes, thresholds={"port": int}, evidence=facts.rds_ingress)

NET_02 = Unit("NET-02", network.msk_admits_nodes, thresholds={"ports": int}, evidence=facts.msk_ingress)

NET_03 = Unit("NET-03", network.no_open_ingress, evidence=facts.data_tier_exposure)

NET_06 = Unit("NET-06", network.alb_posture, thresholds={"scheme": str}, evidence=facts.alb_posture)

NET_07 = Unit("NET-07", network.msk_client_tls, evidence=facts.msk_tls)

NET_08 = Unit("NET-08", network.same_vpc, evidence=facts.vpc_placement)
