"""``kreo-<env>-data``: everything stateful the marketplace keeps."""

from __future__ import annotations

from cdktf import Fn, TerraformLocal
from cdktf_cdktf_provider_aws.data_aws_kms_key import DataAwsKmsKey
from constructs import Construct

from kreo_infra.backup.vault import replica_key_alias
from kreo_infra.config import EnvironmentConfig
from kreo_infra.data.cache import ReplicatedCache
from kreo_infra.data.postgres import PointInTimeRestore, PostgresDatabase
from kreo_infra.data.search import SearchDomain
from kreo_infra.data.secrets import (
    DATABASE_MASTER_SECRET,
    ApplicationSecrets,
    GeneratedSecret,
    ReplicatedSecrets,
)
from kreo_infra.data.storage import MediaStorage
from kreo_infra.data.tier import DataPlacement
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import ClusterOutputs, DataOutputs, EdgeOutputs, NetworkOutputs
from kreo_infra.workloads import PRODUCT_SERVICE

GRAFANA_ADMIN_USER = "admin"
"""Grafana's admin login (the password is generated: :class:`GeneratedSecret`)."""


class DataStack(KreoStack):
    """PostgreSQL (primary, replicas, proxy), Valkey, OpenSearch, media buckets and
    application secrets, in the network stack's database subnets, reachable
    from the cluster's data-clients group only.

    A recovery environment's (``recovery_of``, decision 78) restores the database
    from the recovered environment's replicated automated backups (``restore`` in
    its config), reads that environment's secrets' replicas instead of making
    containers, and makes no bucket: its media are the recovered environment's DR
    copy (``storage.media_bucket``). Cache and search start empty.

    Later layers read :class:`DataOutputs` (``outputs``) only.
    """

    layer = "data"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        network: NetworkOutputs,
        edge: EdgeOutputs,
        cluster: ClusterOutputs,
    ) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        aws = self.account
        placement = DataPlacement(
            vpc_id=network.vpc_id,
            subnet_ids=network.database_subnet_ids,
            client_group_id=cluster.data_clients_security_group_id,
            log_retention_days=config.cluster.log_retention_days,
            account=aws,
        )
        secrets = config.secrets
        self.secrets: ApplicationSecrets | ReplicatedSecrets
        if config.recovery_of is None:
            self.secrets = ApplicationSecrets(
                self,
                "secrets",
                name=name,
                prefix=config.secrets_prefix,
                names=secrets.names,
                recovery_window_days=secrets.recovery_window_days,
                dr_region=config.dr_region,
                dr_provider=self.dr_provider if secrets.replicate_to_dr_region else None,
                account=aws,
                # config.generated_secrets: the preflight skips exactly these.
                generated={
                    config.platform.grafana_admin_secret: GeneratedSecret(
                        fields={"admin-user": GRAFANA_ADMIN_USER},
                        password_key="admin-password",  # noqa: S106 - a JSON key
                    )
                },
            )
        else:
            # The recovered environment's replicas, by the same names.
            self.secrets = ReplicatedSecrets(
                self, "secrets", prefix=config.secrets_prefix, names=secrets.names
            )
        master_secret_name = f"{config.secrets_prefix}{DATABASE_MASTER_SECRET}"
        restore = None
        if config.restore is not None:
            # The replicated backups keep the recovered database's key, which the
            # restored instance keeps too (PointInTimeRestore).
            backups_key = DataAwsKmsKey(
                self,
                "restored-backups-key",
                key_id=replica_key_alias(f"{config.project}-{config.recovery_of}"),
            )
            restore = PointInTimeRestore(
                automated_backups_arn=config.restore.automated_backups_arn,
                restore_time=config.restore.restore_time,
                key_arn=backups_key.arn,
                master_secret_name=master_secret_name,
            )
        replica_key = (
            self.secrets.replica_key if isinstance(self.secrets, ApplicationSecrets) else None
        )

        db_config = config.database
        self.database = PostgresDatabase(
            self,
            "postgres",
            name=name,
            placement=placement,
            engine_version=db_config.engine_version,
            instance_class=db_config.instance_class,
            allocated_storage_gb=db_config.allocated_storage_gb,
            max_allocated_storage_gb=db_config.max_allocated_storage_gb,
            database_name=db_config.database_name,
            master_username=db_config.master_username,
            master_secret_name=master_secret_name,
            restore=restore,
            proxy_users=[
                user
                for service in config.services
                for user in (database_user(service), database_reader(service))
            ],
            master_password_version=db_config.master_password_version,
            secret_replica=(config.dr_region, replica_key.arn) if replica_key else None,
            multi_az=db_config.multi_az,
            deletion_protection=db_config.deletion_protection,
            backup_retention_days=db_config.backup_retention_days,
            backup_window=db_config.backup_window,
            maintenance_window=db_config.maintenance_window,
            slow_query_ms=db_config.slow_query_ms,
            monitoring_interval_seconds=db_config.monitoring_interval_seconds,
            performance_insights_retention_days=db_config.performance_insights_retention_days,
            read_replicas=db_config.read_replicas,
            availability_zone_ids=config.network.availability_zone_ids,
        )
        cache_config = config.cache  # transit_encryption is always on: ReplicatedCache requires TLS
        self.cache = ReplicatedCache(
            self,
            "cache",
            name=name,
            placement=placement,
            engine=cache_config.engine,
            engine_version=cache_config.engine_version,
            node_type=cache_config.node_type,
            replicas_per_shard=cache_config.replicas_per_shard,
            snapshot_retention_days=cache_config.snapshot_retention_days,
            snapshot_window=cache_config.snapshot_window,
            maintenance_window=cache_config.maintenance_window,
        )
        search_config = config.search
        self.search = SearchDomain(
            self,
            "search",
            name=name,
            placement=placement,
            engine_version=search_config.engine_version,
            instance_type=search_config.instance_type,
            instance_count=search_config.instance_count,
            zone_awareness=search_config.zone_awareness,
            dedicated_master_type=search_config.dedicated_master_type,
            volume_size_gb=search_config.volume_size_gb,
            master_role_arn=self.iam_role_arn(config.cluster.admin_role_names[0]),
            client_role_arns=[cluster.role_arns[PRODUCT_SERVICE.name]],
        )
        storage = config.storage
        # A recovery serves media from the recovered environment's DR copy, as it
        # is: its bucket, key and policies stay the recovered environment's.
        self.storage = (
            MediaStorage(
                self,
                "storage",
                name=name,
                media_bucket=storage.media_bucket,
                access_logs_bucket=storage.access_logs_bucket,
                noncurrent_version_expiry_days=storage.noncurrent_version_expiry_days,
                dr_region=config.dr_region,
                dr_provider=self.dr_provider if storage.replicate_to_dr_region else None,
                account=aws,
                cdn_distribution_arn=edge.media_distribution_arn,
            )
            if config.recovery_of is None
            else None
        )

        # rds-db:connect names the proxy by its resource id (prx-...), the last
        # field of its ARN. A local, so other stacks read a plain value, not an
        # expression with quotes inside their JSON policy documents.
        proxy_resource_id = TerraformLocal(
            self,
            "proxy-resource-id",
            Fn.element(Fn.split(":", self.database.proxy.arn), 6),
        ).as_string
        self.cache_member_ids = self.cache.member_ids
        database, cache = self.database, self.cache
        self.publish(
            DataOutputs(
                database_proxy_endpoint=database.proxy.endpoint,
                database_proxy_resource_id=proxy_resource_id,
                database_reader_endpoints=[r.address for r in database.replicas],
                database_secret_arn=database.master_secret_arn,
                database_primary_host=database.primary.address,
                cache_endpoint=cache.replication_group.primary_endpoint_address,
                cache_reader_endpoint=cache.replication_group.reader_endpoint_address,
                cache_arn=cache.replication_group.arn,
                cache_user_arn=cache.app_user.arn,
                cache_user_name=cache.app_user.user_name,
                search_endpoint=self.search.domain.endpoint,
                secret_arns={n: s.arn for n, s in self.secrets.secrets.items()},
                secret_names={n: s.name for n, s in self.secrets.secrets.items()},
                media_bucket=self.storage.media.name if self.storage else storage.media_bucket,
                access_logs_bucket=self.storage.access_logs.name if self.storage else None,
                database_identifier=database.primary.identifier,
                database_replica_identifiers=[r.identifier for r in database.replicas],
                database_replica_resource_ids=[r.resource_id for r in database.replicas],
                database_primary_arn=database.primary.arn,
                database_proxy_name=database.proxy.name,
                database_master_secret_name=database.master_secret.name,
                cache_id=cache.replication_group.replication_group_id,
                cache_member_ids=self.cache_member_ids,
                search_domain_name=self.search.domain.domain_name,
            )
        )
