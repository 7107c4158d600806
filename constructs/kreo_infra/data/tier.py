"""The scaffold every data store shares: where it runs (:class:`DataPlacement`) and the
children each store builds the same way (:class:`DataTier`): its KMS key, subnet group,
security group (:class:`ServiceSecurityGroup`) and encrypted log groups."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey
from kreo_infra.security.log_group import CLOUDWATCH_RETENTION_DAYS, EncryptedLogGroup

DATA_CLIENTS = "data-clients"
"""What every store's security group calls the client group (rule ``from-data-clients``)."""

SubnetGroup = TypeVar("SubnetGroup", bound=Construct)


MIN_SUBNETS = 2
"""Subnets (one per zone) a data store needs at least: RDS refuses a DB subnet group
in fewer than two Availability Zones."""


@dataclass(frozen=True)
class DataPlacement:
    """Where a data store runs and who reaches it: in ``subnet_ids`` of ``vpc_id``
    (the database subnets) of ``account``, reachable from the members of security
    group ``client_group_id``; its log groups keep ``log_retention_days``.
    """

    vpc_id: str
    subnet_ids: Sequence[str]
    client_group_id: str
    log_retention_days: int
    account: AwsAccount

    def __post_init__(self) -> None:
        # A DB subnet group must span at least two Availability Zones (RDS,
        # CreateDBSubnetGroup); the cache and search need two for Multi-AZ too.
        if len(self.subnet_ids) < MIN_SUBNETS:
            raise PropsError(
                "DataPlacement", "subnet_ids", list(self.subnet_ids),
                f"give at least {MIN_SUBNETS} subnets, in different zones",
            )  # fmt: skip
        # Checked here too, not only by EncryptedLogGroup: a store creates its
        # key and groups before its first log group.
        if self.log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
            raise PropsError(
                "DataPlacement", "log_retention_days", self.log_retention_days,
                f"use one of CloudWatch's periods {CLOUDWATCH_RETENTION_DAYS}",
            )  # fmt: skip


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


class DataTier:
    """Builds the children every data store has, the same way for each: store
    ``store`` of environment ``name`` on ``port`` at ``placement``. Its resources
    are named ``<name>-<store>`` (``kreo-production-postgres``).

    Not a construct, and on purpose: what it builds are children of ``scope``, the
    store itself, with the ids the store always had (``postgres/key``,
    ``cache/security-group``), because construct paths are Terraform addresses.
    The store decides the order in which they are created.
    """

    def __init__(
        self, scope: Construct, *, name: str, store: str, port: int, placement: DataPlacement
    ) -> None:
        self.scope = scope
        self.name = name
        self.resource_name = f"{name}-{store}"
        self.port = port
        self.placement = placement

    def key(self, *, description: str, guards_recovery: bool = False) -> RotatingKey:
        """Child ``key``: the store's rotating KMS key, alias ``alias/<name>-<store>``.
        ``guards_recovery`` (default off) when it also encrypts backups or snapshots
        that recovery depends on (:class:`RotatingKey`)."""
        return RotatingKey(
            self.scope,
            "key",
            alias=f"alias/{self.resource_name}",
            description=description,
            account=self.placement.account,
            guards_recovery=guards_recovery,
        )

    def subnet_group(self, kind: Callable[..., SubnetGroup]) -> SubnetGroup:
        """Child ``subnet-group``, a ``kind`` (``DbSubnetGroup``,
        ``ElasticacheSubnetGroup``: the services differ, the arguments do not) named
        ``<name>-<store>`` over the placement's subnets."""
        return kind(
            self.scope,
            "subnet-group",
            name=self.resource_name,
            description=f"Database subnets of {self.name}",
            subnet_ids=list(self.placement.subnet_ids),
        )

    def security_group(
        self,
        *,
        description: str,
        id: str = "security-group",
        name: str | None = None,
        also_admit: Mapping[str, str] | None = None,
    ) -> ServiceSecurityGroup:
        """Child ``id`` (default ``security-group``), a group named ``name`` (default
        ``<name>-<store>``) admitting ``port`` from the placement's client group and
        from each group in ``also_admit`` (name -> security group id; default none)."""
        return ServiceSecurityGroup(
            self.scope,
            id,
            name=name or self.resource_name,
            description=description,
            vpc_id=self.placement.vpc_id,
            port=self.port,
            clients={DATA_CLIENTS: self.placement.client_group_id, **(also_admit or {})},
        )

    def log_group(
        self, id: str, *, name: str, key_alias: str, description: str
    ) -> EncryptedLogGroup:
        """Child ``id``: log group ``name`` with a key of its own (``key_alias``),
        kept the placement's ``log_retention_days``."""
        return EncryptedLogGroup(
            self.scope,
            id,
            name=name,
            retention_days=self.placement.log_retention_days,
            key_alias=key_alias,
            description=description,
            account=self.placement.account,
        )
