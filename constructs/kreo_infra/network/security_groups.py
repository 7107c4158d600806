"""A security group that admits one port from named client groups, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from constructs import Construct

from kreo_infra.errors import PropsError


class ServiceSecurityGroup(Construct):
    """The group of a service listening on ``port``: TCP ``port`` from each group in
    ``clients`` (name -> security group id), by reference, never by CIDR; no
    egress rules (Terraform removes AWS's default allow-all egress).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        vpc_id: str,
        port: int,
        clients: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        if not clients:
            raise PropsError("ServiceSecurityGroup", "clients", {}, "admit at least one group")
        self.group = SecurityGroup(
            self, "group", name=name, description=description, vpc_id=vpc_id, tags={"Name": name}
        )
        for client, group_id in clients.items():
            VpcSecurityGroupIngressRule(
                self,
                f"from-{client}",
                security_group_id=self.group.id,
                description=f"{port}/tcp from {client}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=group_id,
            )

    @property
    def id(self) -> str:  # type: ignore[override]
        return self.group.id
