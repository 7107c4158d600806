"""VPC endpoints: nodes reach AWS APIs without going through the NAT gateways."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from constructs import Construct

from kreo_infra.errors import PropsError

DEFAULT_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager", "ec2")
"""What nodes call on every start and every image pull: ECR (API and registry),
STS (workload identity), CloudWatch Logs, Secrets Manager (external-secrets) and
EC2 (the VPC CNI and the EBS CSI driver)."""


class PrivateEndpoints(Construct):
    """An S3 gateway endpoint on the given route tables and interface endpoints.

    Interface endpoints sit in the given subnets with private DNS, so the usual
    service host names resolve to them; their security group admits HTTPS from
    the VPC's range and nothing else (and has no egress: endpoints only answer).
    The S3 gateway endpoint also serves ECR's image layers, which live in S3.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        region: str,
        vpc_id: str,
        vpc_cidr: str,
        subnet_ids: Sequence[str],
        route_table_ids: Sequence[str],
        interface_services: Sequence[str] = DEFAULT_INTERFACE_SERVICES,
    ) -> None:
        super().__init__(scope, id)
        if len(set(interface_services)) != len(interface_services):
            raise PropsError(
                "PrivateEndpoints", "interface_services", interface_services, "list each once"
            )
        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=f"{name}-vpc-endpoints",
            description="VPC interface endpoints: HTTPS from inside the VPC only",
            vpc_id=vpc_id,
            tags={"Name": f"{name}-vpc-endpoints"},
        )
        VpcSecurityGroupIngressRule(
            self,
            "https-from-vpc",
            security_group_id=self.security_group.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=vpc_cidr,
        )
        self.gateway_endpoints = {
            "s3": VpcEndpoint(
                self,
                "s3",
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=list(route_table_ids),
                tags={"Name": f"{name}-s3"},
            )
        }
        self.interface_endpoints = {
            service: VpcEndpoint(
                self,
                service.replace(".", "-"),
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(subnet_ids),
                security_group_ids=[self.security_group.id],
                tags={"Name": f"{name}-{service}"},
            )
            for service in interface_services
        }
