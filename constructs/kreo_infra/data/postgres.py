"""RDS PostgreSQL: a protected primary, read replicas and an RDS Proxy in front."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.data_aws_availability_zone import DataAwsAvailabilityZone
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import (
    DbParameterGroup,
    DbParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.db_proxy import DbProxy
from cdktf_cdktf_provider_aws.db_proxy_default_target_group import (
    DbProxyDefaultTargetGroup,
    DbProxyDefaultTargetGroupConnectionPoolConfig,
)
from cdktf_cdktf_provider_aws.db_proxy_target import DbProxyTarget
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.secretsmanager_secret import (
    SecretsmanagerSecret,
    SecretsmanagerSecretReplica,
)
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import (
    VpcSecurityGroupEgressRule,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.config.models import Database
from kreo_infra.errors import PropsError
from kreo_infra.network.security_groups import ServiceSecurityGroup
from kreo_infra.security.generated import GeneratedPassword, WriteOnlySecretValue, json_with
from kreo_infra.security.iam import aws_managed_policy, policy_document, service_trust
from kreo_infra.security.kms import RotatingKey
from kreo_infra.security.log_group import EncryptedLogGroup

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
CA_CERTIFICATE = "rds-ca-rsa2048-g1"


class PostgresDatabase(Construct):
    """PostgreSQL for the marketplace, nothing lost by default.

    * storage gp3, autoscaling up to ``max_allocated_storage_gb``, encrypted
      with a rotating key that also encrypts Performance Insights and the
      master secret;
    * the engine's major version only, minor versions applied by RDS;
    * the master password generated at apply time (Secrets Manager's
      GetRandomPassword, an ephemeral resource) and written with write-only
      arguments to the instance and to secret ``master_secret_name``: never in
      config, JSON or state. Not RDS's managed master password, because RDS
      refuses read replicas of an instance that has one (``InvalidParameterValue:
      … ManageMasterUserPassword is enabled is not supported``;
      terraform-aws-modules/terraform-aws-rds#512, #532). A new
      ``master_password_version`` rotates it. The master user is for
      administration; IAM database authentication is on for everyone else;
    * backups kept ``backup_retention_days`` in their window, tags copied to
      snapshots, a final snapshot on delete, deletion protection per config;
    * the parameter group forces SSL and logs connections, disconnections and
      statements slower than ``slow_query_ms``; the logs go to encrypted log
      groups created here with ``log_retention_days``;
    * ``read_replicas`` replicas, each in a different zone from the last;
    * an RDS Proxy (TLS required, end-to-end IAM authentication: clients and
      the proxy itself log in with IAM, no secret) in front of the primary: the
      pooling the seed wanted from PgBouncer; its role may connect as
      ``proxy_users`` only;
    * reachable on 5432 from ``client_group_id`` (and the proxy) only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        settings: Database,
        vpc_id: str,
        subnet_ids: Sequence[str],
        availability_zone_ids: Sequence[str],
        client_group_id: str,
        log_retention_days: int,
        account: AwsAccount,
        master_secret_name: str,
        proxy_users: Sequence[str],
        secret_replica: tuple[str, str] | None = None,
    ) -> None:
        if not proxy_users or settings.master_username in proxy_users:
            raise PropsError(
                "PostgresDatabase", "proxy_users", list(proxy_users),
                f"name the application roles (not the master user {settings.master_username!r})",
            )  # fmt: skip
        super().__init__(scope, id)
        region, partition = account.region, account.partition
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-postgres",
            description=f"Encrypts the PostgreSQL storage, insights and master secret of {name}",
            account=account,
            # It also encrypts the automated backups and snapshots: recovery.
            guards_recovery=True,
        )
        self.subnet_group = DbSubnetGroup(
            self,
            "subnet-group",
            name=f"{name}-postgres",
            description=f"Database subnets of {name}",
            subnet_ids=list(subnet_ids),
        )
        self.proxy_security_group = ServiceSecurityGroup(
            self,
            "proxy-security-group",
            name=f"{name}-postgres-proxy",
            description="RDS Proxy: PostgreSQL from the data clients",
            vpc_id=vpc_id,
            port=PORT,
            clients={"data-clients": client_group_id},
        )
        self.security_group = ServiceSecurityGroup(
            self,
            "security-group",
            name=f"{name}-postgres",
            description="PostgreSQL: from the data clients and the proxy",
            vpc_id=vpc_id,
            port=PORT,
            clients={"data-clients": client_group_id, "proxy": self.proxy_security_group.id},
        )
        VpcSecurityGroupEgressRule(
            self,
            "proxy-to-database",
            security_group_id=self.proxy_security_group.id,
            description="The proxy reaches the database",
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=self.security_group.id,
        )
        major = settings.engine_version
        self.parameter_group = DbParameterGroup(
            self,
            "parameters",
            name=f"{name}-postgres{major}",
            family=f"postgres{major}",
            description=f"PostgreSQL {major} settings of {name}",
            parameter=[
                DbParameterGroupParameter(name=key, value=value, apply_method="pending-reboot")
                for key, value in (
                    ("rds.force_ssl", "1"),
                    ("log_connections", "1"),
                    ("log_disconnections", "1"),
                    ("log_min_duration_statement", str(settings.slow_query_ms)),
                )
            ],
        )
        self.monitoring_role = IamRole(
            self,
            "monitoring-role",
            name=f"{name}-rds-monitoring",
            description=f"Enhanced monitoring of the PostgreSQL instances of {name}",
            assume_role_policy=service_trust("monitoring.rds.amazonaws.com"),
        )
        IamRolePolicyAttachment(
            self,
            "monitoring-role-policy",
            role=self.monitoring_role.name,
            policy_arn=aws_managed_policy(
                partition, "service-role/AmazonRDSEnhancedMonitoringRole"
            ),
        )

        common = {
            "instance_class": settings.instance_class,
            "storage_encrypted": True,
            "kms_key_id": self.key.arn,
            "vpc_security_group_ids": [self.security_group.id],
            "parameter_group_name": self.parameter_group.name,
            "publicly_accessible": False,
            "ca_cert_identifier": CA_CERTIFICATE,
            "iam_database_authentication_enabled": True,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "deletion_protection": settings.deletion_protection,
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": self.key.arn,
            "performance_insights_retention_period": settings.performance_insights_retention_days,
            "monitoring_interval": settings.monitoring_interval_seconds,
            "monitoring_role_arn": self.monitoring_role.arn,
            "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
            "maintenance_window": settings.maintenance_window,
        }
        self.identifier = f"{name}-postgres"
        self.master_secret = SecretsmanagerSecret(
            self,
            "master-secret",
            name=master_secret_name,
            description=f"Master user of {self.identifier} (administration only); "
            "value written by Terraform, write-only",
            kms_key_id=self.key.arn,
            recovery_window_in_days=30,
            replica=[
                SecretsmanagerSecretReplica(region=secret_replica[0], kms_key_id=secret_replica[1])
            ]
            if secret_replica
            else None,
        )
        password = GeneratedPassword(self, "master-password")
        WriteOnlySecretValue(
            self,
            "master-secret-value",
            secret_id=self.master_secret.id,
            value=json_with(
                {
                    "engine": "postgres",
                    "username": settings.master_username,
                    "dbname": settings.database_name,
                },
                secret_key="password",  # noqa: S106 - a JSON key
                password=password,
            ),
            version=settings.master_password_version,
        )
        log_groups = self._log_groups([self.identifier], log_retention_days, account=account)
        self.primary = DbInstance(
            self,
            "primary",
            identifier=self.identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            db_name=settings.database_name,
            username=settings.master_username,
            password_wo=password.value,
            password_wo_version=settings.master_password_version,
            multi_az=settings.multi_az,
            db_subnet_group_name=self.subnet_group.name,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window,
            delete_automated_backups=False,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self.identifier}-final",
            depends_on=log_groups,
            **common,
        )
        self.replicas = []
        for index in range(settings.read_replicas):
            replica_id = f"{self.identifier}-replica-{index}"
            zone = DataAwsAvailabilityZone(
                self,
                f"replica-{index}-zone",
                zone_id=availability_zone_ids[(index + 1) % len(availability_zone_ids)],
            )
            self.replicas.append(
                DbInstance(
                    self,
                    f"replica-{index}",
                    identifier=replica_id,
                    replicate_source_db=self.primary.identifier,
                    availability_zone=zone.name,
                    backup_retention_period=settings.backup_retention_days,
                    # A replica is rebuilt from the primary; its snapshot holds nothing new.
                    skip_final_snapshot=True,
                    depends_on=self._log_groups(
                        [replica_id],
                        log_retention_days,
                        account=account,
                        prefix=f"replica-{index}-",
                    ),
                    **common,
                )
            )

        self.master_secret_arn = self.master_secret.arn
        self.proxy_users = list(proxy_users)
        self.proxy_role = IamRole(
            self,
            "proxy-role",
            name=f"{name}-postgres-proxy",
            description=f"RDS Proxy of {name}: connects to the database with IAM",
            assume_role_policy=service_trust("rds.amazonaws.com"),
        )
        IamRolePolicy(
            self,
            "proxy-role-policy",
            name="connect-as-the-application-roles",
            role=self.proxy_role.id,
            policy=policy_document(
                [
                    {
                        # End-to-end IAM: the proxy logs in to the instance
                        # (its DbiResourceId) as the user the client named.
                        "Sid": "ConnectAsTheApplicationRoles",
                        "Effect": "Allow",
                        "Action": ["rds-db:connect"],
                        "Resource": [
                            f"arn:{partition}:rds-db:{region}:{account.account_id}:dbuser:"
                            f"{self.primary.resource_id}/{user}"
                            for user in self.proxy_users
                        ],
                    },
                ]
            ),
        )
        self.proxy = DbProxy(
            self,
            "proxy",
            name=f"{name}-postgres",
            engine_family="POSTGRESQL",
            require_tls=True,
            role_arn=self.proxy_role.arn,
            vpc_subnet_ids=list(subnet_ids),
            vpc_security_group_ids=[self.proxy_security_group.id],
            idle_client_timeout=1800,
            debug_logging=False,
            # Clients authenticate with IAM and so does the proxy to the
            # database: no secret to read, rotate or leak.
            default_auth_scheme="IAM_AUTH",
        )
        DbProxyDefaultTargetGroup(
            self,
            "proxy-target-group",
            db_proxy_name=self.proxy.name,
            connection_pool_config=DbProxyDefaultTargetGroupConnectionPoolConfig(
                max_connections_percent=90,
                max_idle_connections_percent=50,
                connection_borrow_timeout=120,
            ),
        )
        DbProxyTarget(
            self,
            "proxy-target",
            db_proxy_name=self.proxy.name,
            target_group_name="default",
            db_instance_identifier=self.primary.identifier,
        )

    def _log_groups(
        self,
        identifiers: Sequence[str],
        retention_days: int,
        *,
        account: AwsAccount,
        prefix: str = "",
    ) -> list[Construct]:
        groups = []
        for identifier in identifiers:
            for log in LOG_EXPORTS:
                logs = EncryptedLogGroup(
                    self,
                    f"{prefix}{log}-logs",
                    name=f"/aws/rds/instance/{identifier}/{log}",
                    retention_days=retention_days,
                    key_alias=f"alias/{identifier}-{log}-logs",
                    description=f"the {log} log of {identifier}",
                    account=account,
                )
                groups.append(logs.group)
        return groups
