"""RDS PostgreSQL: a protected primary, read replicas and an RDS Proxy in front."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.data_aws_availability_zone import DataAwsAvailabilityZone
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret import DataAwsSecretsmanagerSecret
from cdktf_cdktf_provider_aws.db_instance import (
    DbInstance,
    DbInstanceRestoreToPointInTime,
    DbInstanceTimeouts,
)
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

from kreo_infra.config.models import INSIGHTS_RETENTION_DAYS
from kreo_infra.data.tier import DataPlacement, DataTier
from kreo_infra.errors import PropsError
from kreo_infra.security.generated import GeneratedPassword, WriteOnlySecretValue, json_with
from kreo_infra.security.iam import aws_managed_policy, policy_document, service_trust

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
MAJOR_VERSION = re.compile(r"^\d+$")
MAX_BACKUP_RETENTION_DAYS = 35
"""RDS's longest automated-backup retention."""
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
"""The enhanced-monitoring intervals RDS accepts, in seconds (0, off, is not offered:
the construct always creates the monitoring role)."""


AUTOMATED_BACKUPS_ARN = re.compile(
    r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:ab-[a-z0-9]+$"
)
RESTORE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$")


@dataclass(frozen=True)
class PointInTimeRestore:
    """Start the primary from a point-in-time restore of replicated automated backups
    (a region's recovery) instead of an empty database.

    ``automated_backups_arn`` (``arn:aws:rds:<region>:<account>:auto-backup:ab-...``,
    the ``id`` of the source's DbInstanceAutomatedBackupsReplication) names the
    backups; ``restore_time`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ``; default None: the
    latest restorable time) the moment. ``key_arn`` is the KMS key the backups are
    encrypted with: RestoreDBInstanceToPointInTime takes no key, the instance keeps
    that one, and any other key in config would plan a replacement for ever.
    ``master_secret_name`` is the master secret's existing copy in this region (a
    replica of the source's): the restore keeps the source's master password, so
    nothing here generates or writes one. ``create_timeout`` (default ``3h``):
    the restore replays up to a day of transaction logs (the provider's default,
    40 minutes, would taint the instance), yet Terraform must give up (and record
    the instance, tainted) before the deploy job's 4-hour session ends; a slower
    restore is resumed by the runbook (``terraform untaint``, apply again).

    The provider forces a new instance when the ``restore_to_point_in_time`` block
    or the key changes or goes away (hashicorp/terraform-provider-aws#34522), so
    the instance ignores both after it exists (an imported one has neither), behind
    deletion protection.
    """

    automated_backups_arn: str
    key_arn: str
    master_secret_name: str
    restore_time: str | None = None
    create_timeout: str = "3h"

    def __post_init__(self) -> None:
        def refused(prop: str, value: object, allowed: str) -> PropsError:
            return PropsError("PointInTimeRestore", prop, value, allowed)

        if not AUTOMATED_BACKUPS_ARN.match(self.automated_backups_arn):
            raise refused(
                "automated_backups_arn", self.automated_backups_arn,
                "give the replicated automated backups' ARN (arn:aws:rds:<region>:"
                "<account>:auto-backup:ab-...)",
            )  # fmt: skip
        # A token is the key read in the restoring stack (its ARN, resolved at plan).
        if not Token.is_unresolved(self.key_arn) and not KMS_KEY_ARN.match(self.key_arn):
            raise refused("key_arn", self.key_arn, "give the backups' KMS key ARN (…:key/<id>)")
        if self.restore_time is not None and not RESTORE_TIME.match(self.restore_time):
            raise refused(
                "restore_time", self.restore_time,
                "give a UTC time YYYY-MM-DDTHH:MM:SSZ, or None for the latest restorable time",
            )  # fmt: skip
        if not re.match(r"^\d+[mh]$", self.create_timeout):
            raise refused("create_timeout", self.create_timeout, "give minutes or hours (6h)")


class PostgresDatabase(Construct):
    """PostgreSQL for the marketplace, nothing lost by default.

    * PostgreSQL ``engine_version``, the major version only (``"17"``): RDS
      applies minor versions itself, so a pinned minor would make every later
      plan a failing downgrade; on ``instance_class``;
    * storage gp3, ``allocated_storage_gb`` autoscaling up to
      ``max_allocated_storage_gb``, encrypted with a rotating key that also
      encrypts Performance Insights and the master secret;
    * database ``database_name`` with master user ``master_username``, whose
      password is generated at apply time (Secrets Manager's GetRandomPassword,
      an ephemeral resource) and written with write-only arguments to the
      instance and to secret ``master_secret_name``: never in config, JSON or
      state. Not RDS's managed master password, because RDS refuses read
      replicas of an instance that has one (``InvalidParameterValue: …
      ManageMasterUserPassword is enabled is not supported``;
      terraform-aws-modules/terraform-aws-rds#512, #532). A new
      ``master_password_version`` (default 1) rotates it. The master user is
      for administration; IAM database authentication is on for everyone else.
      ``secret_replica`` (region, KMS key ARN; default none) replicates the
      secret to that region;
    * a ``multi_az`` standby (default on); ``deletion_protection`` (default
      on); backups kept ``backup_retention_days`` (default 7) in
      ``backup_window``, maintenance in ``maintenance_window`` (both default to
      windows RDS picks), tags copied to snapshots, a final snapshot on delete;
    * the parameter group forces SSL and logs connections, disconnections and
      statements slower than ``slow_query_ms`` (default 1000); the logs go to
      encrypted log groups created here;
    * enhanced monitoring every ``monitoring_interval_seconds`` (default 60);
      Performance Insights kept ``performance_insights_retention_days``
      (default 7, the free tier);
    * ``read_replicas`` replicas (default none), each in a different zone of
      ``availability_zone_ids`` (required with replicas) from the last;
    * an RDS Proxy (TLS required, end-to-end IAM authentication: clients and
      the proxy itself log in with IAM, no secret) in front of the primary: the
      pooling the seed wanted from PgBouncer; its role may connect as
      ``proxy_users`` only;
    * in the ``placement``'s subnets, reachable on 5432 from its client group
      (and the proxy) only.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        placement: DataPlacement,
        engine_version: str,
        instance_class: str,
        allocated_storage_gb: int,
        max_allocated_storage_gb: int,
        database_name: str,
        master_username: str,
        master_secret_name: str,
        proxy_users: Sequence[str],
        master_password_version: int = 1,
        secret_replica: tuple[str, str] | None = None,
        multi_az: bool = True,
        deletion_protection: bool = True,
        backup_retention_days: int = 7,
        backup_window: str | None = None,
        maintenance_window: str | None = None,
        slow_query_ms: int = 1000,
        monitoring_interval_seconds: int = 60,
        performance_insights_retention_days: int = 7,
        read_replicas: int = 0,
        availability_zone_ids: Sequence[str] = (),
        restore: PointInTimeRestore | None = None,
    ) -> None:
        def refused(prop: str, value: object, allowed: str) -> PropsError:
            return PropsError("PostgresDatabase", prop, value, allowed)

        if restore is not None and not deletion_protection:
            raise refused(
                "deletion_protection", False,
                "keep it on for a restored instance: any change to its restore block replaces it",
            )  # fmt: skip

        if not proxy_users or master_username in proxy_users:
            raise refused(
                "proxy_users", list(proxy_users),
                f"name the application roles (not the master user {master_username!r})",
            )  # fmt: skip
        if not MAJOR_VERSION.match(engine_version):
            raise refused(
                "engine_version", engine_version,
                "give the major version only (e.g. '17'): RDS applies minor versions itself",
            )  # fmt: skip
        if max_allocated_storage_gb < allocated_storage_gb:
            raise refused(
                "max_allocated_storage_gb", max_allocated_storage_gb,
                f"use at least allocated_storage_gb ({allocated_storage_gb})",
            )  # fmt: skip
        if not 1 <= backup_retention_days <= MAX_BACKUP_RETENTION_DAYS:
            raise refused(
                "backup_retention_days", backup_retention_days,
                f"use 1 to {MAX_BACKUP_RETENTION_DAYS} (0 would turn automated backups off)",
            )  # fmt: skip
        if monitoring_interval_seconds not in MONITORING_INTERVALS:
            raise refused(
                "monitoring_interval_seconds", monitoring_interval_seconds,
                f"use one of {MONITORING_INTERVALS}",
            )  # fmt: skip
        if performance_insights_retention_days not in INSIGHTS_RETENTION_DAYS:
            raise refused(
                "performance_insights_retention_days", performance_insights_retention_days,
                "use 7, a multiple of 31 up to 713, or 731",
            )  # fmt: skip
        if read_replicas and not availability_zone_ids:
            raise refused(
                "availability_zone_ids", list(availability_zone_ids),
                f"give the zones to spread the {read_replicas} read replicas over",
            )  # fmt: skip
        super().__init__(scope, id)
        account = placement.account
        region, partition = account.region, account.partition
        tier = DataTier(self, name=name, store="postgres", port=PORT, placement=placement)
        self.key = tier.key(
            description=f"Encrypts the PostgreSQL storage, insights and master secret of {name}",
            # It also encrypts the automated backups and snapshots: recovery.
            guards_recovery=True,
        )
        self.subnet_group = tier.subnet_group(DbSubnetGroup)
        self.proxy_security_group = tier.security_group(
            id="proxy-security-group",
            name=f"{name}-postgres-proxy",
            description="RDS Proxy: PostgreSQL from the data clients",
        )
        self.security_group = tier.security_group(
            description="PostgreSQL: from the data clients and the proxy",
            also_admit={"proxy": self.proxy_security_group.id},
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
        major = engine_version
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
                    ("log_min_duration_statement", str(slow_query_ms)),
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

        # A restored instance keeps its backups' key (the restore API takes none).
        storage_key = restore.key_arn if restore else self.key.arn
        common = {
            "instance_class": instance_class,
            "storage_encrypted": True,
            "kms_key_id": storage_key,
            "vpc_security_group_ids": [self.security_group.id],
            "parameter_group_name": self.parameter_group.name,
            "publicly_accessible": False,
            "ca_cert_identifier": CA_CERTIFICATE,
            "iam_database_authentication_enabled": True,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "deletion_protection": deletion_protection,
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": self.key.arn,
            "performance_insights_retention_period": performance_insights_retention_days,
            "monitoring_interval": monitoring_interval_seconds,
            "monitoring_role_arn": self.monitoring_role.arn,
            "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
            "maintenance_window": maintenance_window,
        }
        self.identifier = f"{name}-postgres"
        if restore is None:
            self.master_secret = SecretsmanagerSecret(
                self,
                "master-secret",
                name=master_secret_name,
                description=f"Master user of {self.identifier} (administration only); "
                "value written by Terraform, write-only",
                kms_key_id=self.key.arn,
                recovery_window_in_days=30,
                replica=[
                    SecretsmanagerSecretReplica(
                        region=secret_replica[0], kms_key_id=secret_replica[1]
                    )
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
                        "username": master_username,
                        "dbname": database_name,
                    },
                    secret_key="password",  # noqa: S106 - a JSON key
                    password=password,
                ),
                version=master_password_version,
            )
            self.master_secret_arn = self.master_secret.arn
            credentials = {
                "db_name": database_name,
                "username": master_username,
                "password_wo": password.value,
                "password_wo_version": master_password_version,
            }
            restored = {}
        else:
            # The source's master secret, replicated here: read, never written.
            existing = DataAwsSecretsmanagerSecret(
                self, "master-secret", name=restore.master_secret_name
            )
            self.master_secret = existing
            self.master_secret_arn = existing.arn
            credentials = {}
            restored = {
                "restore_to_point_in_time": DbInstanceRestoreToPointInTime(
                    source_db_instance_automated_backups_arn=restore.automated_backups_arn,
                    restore_time=restore.restore_time,
                    use_latest_restorable_time=True if restore.restore_time is None else None,
                ),
                "timeouts": DbInstanceTimeouts(create=restore.create_timeout),
                # The restore's source and key are facts of how the instance began,
                # not settings: an instance restored some other way and imported
                # (from a vault's recovery point, or after a timed-out apply) has no
                # restore block in state and another key, and both force a new
                # instance (hashicorp/terraform-provider-aws#34522).
                "lifecycle": TerraformResourceLifecycle(
                    ignore_changes=["restore_to_point_in_time", "kms_key_id"]
                ),
            }
        log_groups = self._exported_logs(tier, self.identifier)
        self.primary = DbInstance(
            self,
            "primary",
            identifier=self.identifier,
            engine="postgres",
            engine_version=engine_version,
            allocated_storage=allocated_storage_gb,
            max_allocated_storage=max_allocated_storage_gb,
            storage_type="gp3",
            multi_az=multi_az,
            db_subnet_group_name=self.subnet_group.name,
            backup_retention_period=backup_retention_days,
            backup_window=backup_window,
            delete_automated_backups=False,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self.identifier}-final",
            depends_on=log_groups,
            **credentials,
            **restored,
            **common,
        )
        self.replicas = []
        for index in range(read_replicas):
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
                    backup_retention_period=backup_retention_days,
                    # A replica is rebuilt from the primary; its snapshot holds nothing new.
                    skip_final_snapshot=True,
                    depends_on=self._exported_logs(tier, replica_id, prefix=f"replica-{index}-"),
                    **common,
                )
            )

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
            vpc_subnet_ids=list(placement.subnet_ids),
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

    def _exported_logs(
        self, tier: DataTier, identifier: str, *, prefix: str = ""
    ) -> list[Construct]:
        """The log groups instance ``identifier`` exports ``LOG_EXPORTS`` to, for the
        instance to depend on: RDS would otherwise create them itself, unencrypted
        and kept forever."""
        return [
            tier.log_group(
                f"{prefix}{log}-logs",
                name=f"/aws/rds/instance/{identifier}/{log}",
                key_alias=f"alias/{identifier}-{log}-logs",
                description=f"the {log} log of {identifier}",
            ).group
            for log in LOG_EXPORTS
        ]
