"""RDS PostgreSQL: a protected primary, read replicas and an RDS Proxy in front."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.data_aws_availability_zone import DataAwsAvailabilityZone
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import (
    DbParameterGroup,
    DbParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.db_proxy import DbProxy, DbProxyAuth
from cdktf_cdktf_provider_aws.db_proxy_default_target_group import (
    DbProxyDefaultTargetGroup,
    DbProxyDefaultTargetGroupConnectionPoolConfig,
)
from cdktf_cdktf_provider_aws.db_proxy_target import DbProxyTarget
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import (
    VpcSecurityGroupEgressRule,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.config.models import Database
from kreo_infra.network.security_groups import ServiceSecurityGroup
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
    * the master password generated and rotated by RDS in Secrets Manager
      (``manage_master_user_password``): never in config, JSON or state;
      IAM database authentication on;
    * backups kept ``backup_retention_days`` in their window, tags copied to
      snapshots, a final snapshot on delete, deletion protection per config;
    * the parameter group forces SSL and logs connections, disconnections and
      statements slower than ``slow_query_ms``; the logs go to encrypted log
      groups created here with ``log_retention_days``;
    * ``read_replicas`` replicas, each in a different zone from the last;
    * an RDS Proxy (TLS required, IAM authentication, the managed secret) in
      front of the primary: the pooling the seed wanted from PgBouncer;
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
        vpc_cidr: str,
        subnet_ids: Sequence[str],
        availability_zone_ids: Sequence[str],
        client_group_id: str,
        log_retention_days: int,
        account: AwsAccount,
    ) -> None:
        super().__init__(scope, id)
        region, partition = account.region, account.partition
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}-postgres",
            description=f"Encrypts the PostgreSQL storage, insights and master secret of {name}",
            account=account,
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
        VpcSecurityGroupEgressRule(
            self,
            "proxy-to-secrets-manager",
            security_group_id=self.proxy_security_group.id,
            description="The proxy reads the master secret through the VPC endpoint",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=vpc_cidr,
        )
        major = settings.engine_version.split(".")[0]
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
            manage_master_user_password=True,
            master_user_secret_kms_key_id=self.key.arn,
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

        self.master_secret_arn = self.primary.master_user_secret.get(0).secret_arn
        self.proxy_role = IamRole(
            self,
            "proxy-role",
            name=f"{name}-postgres-proxy",
            description=f"RDS Proxy of {name}: reads the master secret",
            assume_role_policy=service_trust("rds.amazonaws.com"),
        )
        IamRolePolicy(
            self,
            "proxy-role-policy",
            name="read-master-secret",
            role=self.proxy_role.id,
            policy=policy_document(
                [
                    {
                        "Sid": "ReadTheMasterSecret",
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue"],
                        "Resource": self.master_secret_arn,
                    },
                    {
                        "Sid": "DecryptItThroughSecretsManager",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt"],
                        "Resource": self.key.arn,
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com"
                            }
                        },
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
            auth=[
                DbProxyAuth(
                    auth_scheme="SECRETS",
                    iam_auth="REQUIRED",
                    client_password_auth_type="POSTGRES_SCRAM_SHA_256",  # noqa: S106 - a method
                    secret_arn=self.master_secret_arn,
                    description="The RDS-managed master secret",
                )
            ],
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
