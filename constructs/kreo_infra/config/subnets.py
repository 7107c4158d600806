"""Subnet ranges computed from the VPC range: the one function that decides them."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from kreo_infra.errors import PropsError

AWS_SMALLEST_SUBNET_PREFIX = 28
"""AWS allows subnets from /16 down to /28."""

SMALL_TIER_SHRINK = 4
"""Public and database subnets are 2**4 = 16 times smaller than private ones."""


@dataclass(frozen=True)
class SubnetPlan:
    """One CIDR per availability zone for each tier, index i in AZ i."""

    public: tuple[str, ...]
    private: tuple[str, ...]
    database: tuple[str, ...]


def plan_subnets(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Split ``vpc_cidr`` into public, private and database subnets for ``az_count`` AZs.

    Private subnets hold the EKS nodes *and* their pods (the VPC CNI gives every
    pod a VPC address), so they get almost all of the space: the VPC is cut
    into the smallest power-of-two number of equal blocks that leaves one
    block spare, one block per AZ goes to private subnets, and the spare block
    is cut 16 times finer for the public (load balancers, NAT) and database
    subnets. For a /16 over 3 AZs: private /18s (16 379 usable addresses each),
    public and database /22s (1 019 each), and 10.0.216.0/21 + 10.0.224.0/19
    left free for later tiers.
    """
    if az_count < 1:
        raise PropsError("plan_subnets", "az_count", az_count, "need at least one AZ")
    vpc = ipaddress.IPv4Network(vpc_cidr)
    split_bits = math.ceil(math.log2(az_count + 1))
    private_prefix = vpc.prefixlen + split_bits
    small_prefix = private_prefix + SMALL_TIER_SHRINK
    if small_prefix > AWS_SMALLEST_SUBNET_PREFIX or 2 * az_count > 2**SMALL_TIER_SHRINK:
        raise PropsError(
            "plan_subnets",
            "vpc_cidr",
            vpc_cidr,
            f"too small for {az_count} AZs x 3 tiers: public and database subnets would be "
            f"/{small_prefix}, AWS's smallest is /{AWS_SMALLEST_SUBNET_PREFIX}; "
            f"use a VPC of /{AWS_SMALLEST_SUBNET_PREFIX - SMALL_TIER_SHRINK - split_bits} "
            "or larger",
        )
    blocks = list(vpc.subnets(new_prefix=private_prefix))
    private = blocks[:az_count]
    small = list(blocks[az_count].subnets(new_prefix=small_prefix))
    return SubnetPlan(
        public=tuple(str(n) for n in small[:az_count]),
        private=tuple(str(n) for n in private),
        database=tuple(str(n) for n in small[az_count : 2 * az_count]),
    )
