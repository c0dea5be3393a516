"""The sandbox's network: fixed addresses inside network namespaces that the sandbox creates.

All addresses are in 198.18.0.0/16 (RFC 2544 test range) and exist ONLY inside namespaces
created by ``asbuilt_sandbox.parts.network``; no namespace has a default route, so nothing
addressed here can leave the machine. The host reaches them through one veth link.

    host (the suite, the operator)      198.18.254.1  ── veth ──  198.18.254.2  asb-vpc
    asb-node   ("inside": EKS node)     198.18.1.10   ── veth ──  198.18.1.1    asb-vpc
    asb-outside("outside the VPC")      198.18.200.10 ── veth ──  198.18.200.1  asb-vpc

The data services (RDS = PostgreSQL, MSK = Kafka) run inside ``asb-vpc`` on their own
addresses; a packet filter in ``asb-vpc`` mirrors the RDS and MSK security groups read from
the AWS endpoint, so what the security groups say is what a TCP connect experiences.
"""

from __future__ import annotations

from dataclasses import dataclass

NET_CIDR = "198.18.0.0/16"

NS_VPC = "asb-vpc"
NS_NODE = "asb-node"
NS_OUTSIDE = "asb-outside"

HOST_ADDR = "198.18.254.1"
VPC_HOST_SIDE = "198.18.254.2"
NODE_ADDR = "198.18.1.10"
NODE_SUBNET = "198.18.1.0/24"
OUTSIDE_ADDR = "198.18.200.10"
OUTSIDE_SUBNET = "198.18.200.0/24"

RDS_ADDR = "198.18.10.10"
RDS_PORT = 5432
BROKER_ADDRS = ("198.18.20.11", "198.18.20.12", "198.18.20.13")
BROKER_PLAINTEXT_PORT = 9092
BROKER_TLS_PORT = 9094
BROKER_CONTROLLER_PORT = 9093
BROKER_SASL_PORT = 9096  # SASL_SSL with SCRAM-SHA-512, MSK's port for SASL/SCRAM


@dataclass(frozen=True)
class Vantage:
    """A place a reachability probe runs from."""

    name: str
    netns: str | None
    address: str


VANTAGE_INSIDE = Vantage("eks-node", NS_NODE, NODE_ADDR)
VANTAGE_OUTSIDE = Vantage("outside-vpc", NS_OUTSIDE, OUTSIDE_ADDR)


def in_sandbox_net(address: str) -> bool:
    """True for loopback and the sandbox's own namespace addresses: the only ones we connect to."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip in ipaddress.ip_network(NET_CIDR)
