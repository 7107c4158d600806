"""``kreo-<env>-network``: the VPC every other layer runs in."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.network.endpoints import PrivateEndpoints
from kreo_infra.network.flow_logs import EncryptedFlowLogs
from kreo_infra.network.vpc import TieredVpc
from kreo_infra.stacks.kreo_stack import KreoStack


class NetworkStack(KreoStack):
    """VPC over the configured availability zones with public, private and database subnets, NAT,
    flow logs and VPC endpoints.

    Later stacks take the attributes below (``vpc_id``, ``private_subnet_ids``,
    ...) as cross-stack references; cdktf turns each use into an output here
    and a remote-state lookup there. The same values are also plain outputs
    for operators (``terraform output``).
    """

    layer = "network"

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        network = config.network
        plan = network.subnet_plan()
        self.network = TieredVpc(
            self,
            "vpc",
            name=name,
            cidr=network.vpc_cidr,
            subnets=plan,
            availability_zone_ids=network.availability_zone_ids,
            cluster_name=config.cluster_name,
            single_nat_gateway=network.single_nat_gateway,
        )
        self.flow_logs = EncryptedFlowLogs(
            self,
            "flow-logs",
            name=name,
            vpc_id=self.network.vpc.id,
            retention_days=network.flow_log_retention_days,
            account=self.account,
        )
        self.endpoints = PrivateEndpoints(
            self,
            "endpoints",
            name=name,
            region=config.region,
            vpc_id=self.network.vpc.id,
            vpc_cidr=network.vpc_cidr,
            subnet_ids=[s.id for s in self.network.private_subnets],
            route_table_ids=[t.id for t in self.network.private_route_tables],
        )

        self.vpc_id = self.network.vpc.id
        self.vpc_cidr = network.vpc_cidr
        self.public_subnet_ids = [s.id for s in self.network.public_subnets]
        self.private_subnet_ids = [s.id for s in self.network.private_subnets]
        self.private_subnet_ids_by_zone = dict(
            zip(network.availability_zone_ids, self.private_subnet_ids, strict=True)
        )
        """Zone id to private subnet id (the subnets follow the configured zone order)."""
        self.database_subnet_ids = [s.id for s in self.network.database_subnets]
        self.subnet_cidrs = plan
        self.endpoint_security_group_id = self.endpoints.security_group.id

        outputs = {
            "vpc-id": self.vpc_id,
            "vpc-cidr": self.vpc_cidr,
            "public-subnet-ids": self.public_subnet_ids,
            "private-subnet-ids": self.private_subnet_ids,
            "database-subnet-ids": self.database_subnet_ids,
            "public-subnet-cidrs": list(plan.public),
            "private-subnet-cidrs": list(plan.private),
            "database-subnet-cidrs": list(plan.database),
            "endpoint-security-group-id": self.endpoint_security_group_id,
            "availability-zone-ids": network.availability_zone_ids,
        }
        for output_id, value in outputs.items():
            TerraformOutput(self, output_id, value=value)
