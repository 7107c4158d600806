"""ElastiCache (Valkey): a replicated, encrypted, IAM-authenticated cache."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from cdktf_cdktf_provider_aws.elasticache_user import (
    ElasticacheUser,
    ElasticacheUserAuthenticationMode,
)
from cdktf_cdktf_provider_aws.elasticache_user_group import ElasticacheUserGroup
from constructs import Construct

from kreo_infra.data.tier import DataPlacement, DataTier
from kreo_infra.errors import PropsError

PORT = 6379
LOG_TYPES = ("slow-log", "engine-log")
APP_ACCESS = "on ~* +@all -@dangerous"
"""The application user: every key and command except the dangerous ones
(FLUSHALL, CONFIG, DEBUG, ...)."""
ENGINES = ("valkey", "redis")
MAX_REPLICAS = 5
"""A shard holds a primary and at most 5 replicas (CreateReplicationGroup's
NumCacheClusters is at most 6)."""
MAX_SNAPSHOT_RETENTION_DAYS = 35
"""ElastiCache's longest automatic-snapshot retention."""


class ReplicatedCache(Construct):
    """A Valkey (or Redis OSS) replication group for sessions and caches.

    * ``engine`` (default ``valkey``) ``engine_version`` on ``node_type``
      nodes: one primary and ``replicas_per_shard`` replicas (default 1)
      spread over the subnets' zones, automatic failover and multi-AZ when
      there is a replica; ``member_ids`` names them;
    * TLS in transit *required*, at-rest encryption with a rotating key;
    * authentication by RBAC users: the default user is disabled, and the
      application user authenticates with IAM (no password or token exists,
      so none can leak into state);
    * daily snapshots in ``snapshot_window`` kept ``snapshot_retention_days``
      (default 7), a final snapshot on delete; maintenance in
      ``maintenance_window`` (both windows default to ones ElastiCache picks);
      slow and engine logs to encrypted log groups;
    * in the ``placement``'s subnets, reachable on 6379 from its client group
      only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        placement: DataPlacement,
        engine_version: str,
        node_type: str,
        engine: str = "valkey",
        replicas_per_shard: int = 1,
        snapshot_retention_days: int = 7,
        snapshot_window: str | None = None,
        maintenance_window: str | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise PropsError("ReplicatedCache", "engine", engine, f"use one of {ENGINES}")
        if not 0 <= replicas_per_shard <= MAX_REPLICAS:
            raise PropsError(
                "ReplicatedCache", "replicas_per_shard", replicas_per_shard,
                f"use 0 to {MAX_REPLICAS} (ElastiCache's replicas per shard)",
            )  # fmt: skip
        if not 1 <= snapshot_retention_days <= MAX_SNAPSHOT_RETENTION_DAYS:
            raise PropsError(
                "ReplicatedCache", "snapshot_retention_days", snapshot_retention_days,
                f"use 1 to {MAX_SNAPSHOT_RETENTION_DAYS} (0 would turn snapshots off)",
            )  # fmt: skip
        super().__init__(scope, id)
        tier = DataTier(self, name=name, store="cache", port=PORT, placement=placement)
        self.key = tier.key(description=f"Encrypts the cache data and snapshots of {name}")
        subnet_group = tier.subnet_group(ElasticacheSubnetGroup)
        self.security_group = tier.security_group(description="Cache: from the data clients")
        default_user = ElasticacheUser(
            self,
            "default-user",
            user_id=f"{name}-default",
            user_name="default",
            engine=engine,
            access_string="off -@all",
            authentication_mode=ElasticacheUserAuthenticationMode(type="no-password-required"),
        )
        # With IAM authentication the user id and the user name must be equal.
        self.app_user = ElasticacheUser(
            self,
            "app-user",
            user_id=f"{name}-app",
            user_name=f"{name}-app",
            engine=engine,
            access_string=APP_ACCESS,
            authentication_mode=ElasticacheUserAuthenticationMode(type="iam"),
        )
        self.user_group = ElasticacheUserGroup(
            self,
            "user-group",
            user_group_id=f"{name}-cache",
            engine=engine,
            user_ids=[default_user.user_id, self.app_user.user_id],
        )
        logs = {
            log: tier.log_group(
                f"{log}s",
                name=f"/aws/elasticache/{name}/{log}",
                key_alias=f"alias/{name}-cache-{log}s",
                description=f"the cache {log}s of {name}",
            )
            for log in LOG_TYPES
        }
        replicated = replicas_per_shard > 0
        group_id = f"{name}-cache"
        self.replication_group = ElasticacheReplicationGroup(
            self,
            "replication-group",
            replication_group_id=group_id,
            description=f"Sessions and caches of {name}",
            engine=engine,
            engine_version=engine_version,
            node_type=node_type,
            num_cache_clusters=1 + replicas_per_shard,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=PORT,
            subnet_group_name=subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled="true",
            kms_key_id=self.key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[self.user_group.user_group_id],
            snapshot_retention_limit=snapshot_retention_days,
            snapshot_window=snapshot_window,
            maintenance_window=maintenance_window,
            final_snapshot_identifier=f"{name}-cache-final",
            auto_minor_version_upgrade="true",
            apply_immediately=False,
            log_delivery_configuration=[
                ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=group.group.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=log,
                )
                for log, group in logs.items()
            ],
        )
        # ElastiCache names the member clusters of a replication group without
        # cluster mode after the group: <group id>-001 (the first primary), -002,
        # ... one per NumCacheClusters. The provider's member_clusters is an
        # unordered set known only after apply; alarms need the names now.
        self.member_ids = [f"{group_id}-{index:03d}" for index in range(1, 2 + replicas_per_shard)]
