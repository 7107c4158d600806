"""ElastiCache (Valkey): a replicated, encrypted, IAM-authenticated cache."""

from __future__ import annotations

from collections.abc import Sequence

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

from kreo_infra.aws import AwsAccount
from kreo_infra.config.models import Cache
from kreo_infra.network.security_groups import ServiceSecurityGroup
from kreo_infra.security.kms import RotatingKey
from kreo_infra.security.log_group import EncryptedLogGroup

PORT = 6379
LOG_TYPES = ("slow-log", "engine-log")
APP_ACCESS = "on ~* +@all -@dangerous"
"""The application user: every key and command except the dangerous ones
(FLUSHALL, CONFIG, DEBUG, ...)."""


class ReplicatedCache(Construct):
    """A Valkey (or Redis OSS) replication group for sessions and caches.

    * one primary and ``replicas_per_shard`` replicas spread over the subnets'
      zones, automatic failover and multi-AZ when there is a replica;
    * TLS in transit *required*, at-rest encryption with a rotating key;
    * authentication by RBAC users: the default user is disabled, and the
      application user authenticates with IAM (no password or token exists,
      so none can leak into state);
    * daily snapshots kept ``snapshot_retention_days``, a final snapshot on
      delete; slow and engine logs to encrypted log groups;
    * reachable on 6379 from ``client_group_id`` only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        settings: Cache,
        vpc_id: str,
        subnet_ids: Sequence[str],
        client_group_id: str,
        log_retention_days: int,
        account: AwsAccount,
    ) -> None:
        super().__init__(scope, id)
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-cache",
            description=f"Encrypts the cache data and snapshots of {name}",
            account=account,
        )
        subnet_group = ElasticacheSubnetGroup(
            self,
            "subnet-group",
            name=f"{name}-cache",
            description=f"Database subnets of {name}",
            subnet_ids=list(subnet_ids),
        )
        self.security_group = ServiceSecurityGroup(
            self,
            "security-group",
            name=f"{name}-cache",
            description="Cache: from the data clients",
            vpc_id=vpc_id,
            port=PORT,
            clients={"data-clients": client_group_id},
        )
        engine = settings.engine
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
            log: EncryptedLogGroup(
                self,
                f"{log}s",
                name=f"/aws/elasticache/{name}/{log}",
                retention_days=log_retention_days,
                key_alias=f"alias/{name}-cache-{log}s",
                description=f"the cache {log}s of {name}",
                account=account,
            )
            for log in LOG_TYPES
        }
        replicated = settings.replicas_per_shard > 0
        self.replication_group = ElasticacheReplicationGroup(
            self,
            "replication-group",
            replication_group_id=f"{name}-cache",
            description=f"Sessions and caches of {name}",
            engine=engine,
            engine_version=settings.engine_version,
            node_type=settings.node_type,
            num_cache_clusters=1 + settings.replicas_per_shard,
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
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window=settings.snapshot_window,
            maintenance_window=settings.maintenance_window,
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
