"""``kreo-<env>-data``: everything stateful the marketplace keeps."""

from __future__ import annotations

from cdktf import Fn, TerraformLocal, TerraformOutput
from constructs import Construct

from kreo_infra.cluster.workload_identity import PRODUCT_SERVICE
from kreo_infra.config import EnvironmentConfig
from kreo_infra.data.cache import ReplicatedCache
from kreo_infra.data.postgres import PostgresDatabase
from kreo_infra.data.search import SearchDomain
from kreo_infra.data.secrets import DATABASE_MASTER_SECRET, ApplicationSecrets, GeneratedSecret
from kreo_infra.data.storage import MediaStorage
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.stacks.cluster import ClusterStack
from kreo_infra.stacks.edge import EdgeStack
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.network import NetworkStack

GRAFANA_ADMIN_USER = "admin"
"""Grafana's admin login (the password is generated: :class:`GeneratedSecret`)."""


class DataStack(KreoStack):
    """PostgreSQL (primary, replicas, proxy), Valkey, OpenSearch, media buckets and
    application secrets, in the network stack's database subnets, reachable
    from the cluster's data-clients group only.

    Attributes for the app layer: ``database_proxy_endpoint``,
    ``database_proxy_resource_id``, ``database_reader_endpoints``,
    ``cache_endpoint``, ``cache_arn``, ``cache_user_arn``, ``cache_user_name``,
    ``search_endpoint``, ``search_domain_name``, ``database_identifier``,
    ``database_replica_identifiers``, ``database_primary_arn``, ``database_proxy_name``,
    ``cache_id``, ``cache_member_ids``,
    ``secret_arns`` / ``secret_names``, ``media_bucket``.
    """

    layer = "data"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        network: NetworkStack,
        edge: EdgeStack,
        cluster: ClusterStack,
    ) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        aws = self.account
        placement = {
            "vpc_id": network.vpc_id,
            "subnet_ids": network.database_subnet_ids,
            "client_group_id": cluster.data_clients_security_group_id,
            "log_retention_days": config.cluster.log_retention_days,
            "account": aws,
        }
        secrets = config.secrets
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

        self.database = PostgresDatabase(
            self,
            "postgres",
            name=name,
            settings=config.database,
            availability_zone_ids=config.network.availability_zone_ids,
            master_secret_name=f"{config.secrets_prefix}{DATABASE_MASTER_SECRET}",
            proxy_users=[
                user
                for service in config.services
                for user in (database_user(service), database_reader(service))
            ],
            secret_replica=(
                (config.dr_region, self.secrets.replica_key.arn)
                if self.secrets.replica_key
                else None
            ),
            **placement,
        )
        self.cache = ReplicatedCache(self, "cache", name=name, settings=config.cache, **placement)
        self.search = SearchDomain(
            self,
            "search",
            name=name,
            settings=config.search,
            master_role_arn=self.iam_role_arn(config.cluster.admin_role_names[0]),
            client_role_arns=[cluster.role_arns[PRODUCT_SERVICE.name]],
            **placement,
        )
        storage = config.storage
        self.storage = MediaStorage(
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

        self.database_proxy_endpoint = self.database.proxy.endpoint
        # rds-db:connect names the proxy by its resource id (prx-...), the last
        # field of its ARN. A local, so other stacks read a plain value, not an
        # expression with quotes inside their JSON policy documents.
        self.database_proxy_resource_id = TerraformLocal(
            self,
            "proxy-resource-id",
            Fn.element(Fn.split(":", self.database.proxy.arn), 6),
        ).as_string
        self.database_reader_endpoints = [r.address for r in self.database.replicas]
        self.database_replica_resource_ids = [r.resource_id for r in self.database.replicas]
        self.database_primary_host = self.database.primary.address
        self.database_secret_arn = self.database.master_secret_arn
        self.database_master_secret_name = self.database.master_secret.name
        self.cache_endpoint = self.cache.replication_group.primary_endpoint_address
        self.cache_reader_endpoint = self.cache.replication_group.reader_endpoint_address
        self.cache_arn = self.cache.replication_group.arn
        self.cache_id = self.cache.replication_group.replication_group_id
        # Members of a non-clustered replication group are <id>-001, -002, ...
        self.cache_member_ids = [
            f"{name}-cache-{index:03d}" for index in range(1, 2 + config.cache.replicas_per_shard)
        ]
        self.database_identifier = self.database.primary.identifier
        self.database_replica_identifiers = [r.identifier for r in self.database.replicas]
        self.database_primary_arn = self.database.primary.arn
        self.database_proxy_name = self.database.proxy.name
        self.search_domain_name = self.search.domain.domain_name
        self.cache_user_arn = self.cache.app_user.arn
        self.cache_user_name = self.cache.app_user.user_name
        self.search_endpoint = self.search.domain.endpoint
        self.secret_arns = {n: s.arn for n, s in self.secrets.secrets.items()}
        self.secret_names = {n: s.name for n, s in self.secrets.secrets.items()}
        self.media_bucket = self.storage.media.name

        outputs = {
            "database-proxy-endpoint": self.database_proxy_endpoint,
            "database-proxy-resource-id": self.database_proxy_resource_id,
            "database-reader-endpoints": self.database_reader_endpoints,
            "database-master-secret-arn": self.database_secret_arn,
            "database-primary-host": self.database_primary_host,
            "cache-endpoint": self.cache_endpoint,
            "cache-reader-endpoint": self.cache_reader_endpoint,
            "cache-arn": self.cache_arn,
            "cache-user-arn": self.cache_user_arn,
            "cache-user-name": self.cache_user_name,
            "search-endpoint": self.search_endpoint,
            "secret-arns": self.secret_arns,
            "secret-names": self.secret_names,
            "media-bucket": self.media_bucket,
            "access-logs-bucket": self.storage.access_logs.name,
        }
        for output_id, value in outputs.items():
            TerraformOutput(self, output_id, value=value)
