"""``kreo-<env>-backup``: AWS Backup of the database and volumes, copied to the DR
region and (where the vaults are locked) to a logically air-gapped vault, and the
database's automated backups replicated to the DR region."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.db_instance_automated_backups_replication import (
    DbInstanceAutomatedBackupsReplication,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from kreo_infra.backup.drill_network import DrillNetwork
from kreo_infra.backup.vault import (
    AIR_GAPPED_MIN_RETENTION_DAYS,
    DAILY,
    HOURLY,
    AirGappedVault,
    BackupSchedule,
    EncryptedVault,
    Schedule,
    VaultLock,
    replica_key_alias,
)
from kreo_infra.config import EnvironmentConfig
from kreo_infra.security.iam import aws_managed_policy, service_trust
from kreo_infra.security.kms import RotatingKey
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import BackupOutputs, DataOutputs
from kreo_infra.tags import backup_tags

AIR_GAPPED_MAX_RETENTION_DAYS = 365
"""The air-gapped vault's lock ceiling: fixed, above every retention in config,
because CreateLogicallyAirGappedBackupVault is the only API that sets it (there is
no update), so tying it to ``backup.daily_retention_days`` would make a retention
change replace a vault that cannot be deleted while it holds recovery points.
Each copy's own retention is its schedule's."""

BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


DRILL_NETWORK_PREFIX = "kreo-drill-"
"""The drill network's subnet and security groups: ``kreo-drill-<env>`` (the drill
role, in the bootstrap, may restore into this subnet group only)."""


class BackupStack(KreoStack):
    """A vault per region, two plans and the RDS backup replication.

    * ``database`` plan: the PostgreSQL primary every hour (kept
      ``backup.hourly_retention_days``) and every day (kept
      ``backup.daily_retention_days``);
    * ``volumes`` plan: every EBS volume tagged for backup in this environment
      (the Prometheus and Alertmanager volumes: see ``kreo_infra.tags``), daily;
    * every recovery point copied to the vault in the DR region (config);
    * where the vaults are locked (``backup.vault_lock``: environments whose
      backups must outlive a compromised account), every daily recovery point
      also copied to the logically air-gapped vault ``<prefix>-air-gapped`` in
      the region, kept as long as in the vault (its lock: 7 days at least, as
      AWS requires, at most :data:`AIR_GAPPED_MAX_RETENTION_DAYS`); the hourly
      points (kept 2 days) are below that minimum and stay out;
    * every vault's recovery points deletable only by the break-glass role
      (vault access policy) and every key that encrypts recovery points
      guarded likewise (``guards_recovery``);
    * the primary's automated backups (point-in-time restore) replicated to the
      DR region, kept ``backup.rds_replication_retention_days``, and there the
      quarterly drill's closed network (:class:`DrillNetwork`), where it restores
      them.
    """

    layer = "backup"

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, data: DataOutputs) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        settings = config.backup
        aws = self.account
        lock = (
            VaultLock(
                min_retention_days=settings.vault_lock_min_retention_days,
                max_retention_days=settings.daily_retention_days,
                changeable_for_days=settings.vault_lock_changeable_for_days,
            )
            if settings.vault_lock
            else None
        )
        self.vault = EncryptedVault(self, "vault", name=name, account=aws, lock=lock)
        self.dr_vault = None
        if settings.copy_to_dr_region:
            self.dr_vault = EncryptedVault(
                self,
                "dr-vault",
                name=f"{name}-dr",
                account=aws,
                lock=lock,
                provider=self.dr_provider,
            )
        role = IamRole(
            self,
            "role",
            name=f"{name}-backup",
            description=f"AWS Backup backs up and restores the resources of {name}",
            assume_role_policy=service_trust("backup.amazonaws.com"),
        )
        for policy in BACKUP_POLICIES:
            IamRolePolicyAttachment(
                self,
                f"role-{policy.rsplit('/', 1)[1]}",
                role=role.name,
                policy_arn=aws_managed_policy(aws.partition, policy),
            )
        self.air_gapped_vault = None
        if settings.vault_lock:
            # Same region: cross-Region copies to or from a logically air-gapped
            # vault are not available for every resource type
            # (https://docs.aws.amazon.com/aws-backup/latest/devguide/logicallyairgappedvault.html,
            # "Considerations and limitations"); the DR region has its own copy.
            self.air_gapped_vault = AirGappedVault(
                self,
                "air-gapped-vault",
                name=f"{name}-air-gapped",
                min_retention_days=AIR_GAPPED_MIN_RETENTION_DAYS,
                max_retention_days=AIR_GAPPED_MAX_RETENTION_DAYS,
            )
        copy_to = self.dr_vault.arn if self.dr_vault else None
        self.database_plan = BackupSchedule(
            self,
            "database",
            name=f"{name}-database",
            vault_name=self.vault.name,
            role_arn=role.arn,
            schedules=[
                Schedule("hourly", HOURLY, settings.hourly_retention_days),
                Schedule("daily", DAILY, settings.daily_retention_days),
            ],
            resources=[data.database_primary_arn],
            copy_to=copy_to,
            air_gapped=self.air_gapped_vault,
        )
        self.volumes_plan = BackupSchedule(
            self,
            "volumes",
            name=f"{name}-volumes",
            vault_name=self.vault.name,
            role_arn=role.arn,
            schedules=[Schedule("daily", DAILY, settings.daily_retention_days)],
            resources=[f"arn:{aws.partition}:ec2:*:*:volume/*"],
            tags=backup_tags(config),
            copy_to=copy_to,
            air_gapped=self.air_gapped_vault,
        )
        self.replication = None
        if settings.copy_to_dr_region:
            replica_key = RotatingKey(
                self,
                "database-replica-key",
                alias=replica_key_alias(config.stack_prefix),
                description=f"Encrypts the replicated automated backups of {name}'s database",
                account=aws,
                provider=self.dr_provider,
                guards_recovery=True,
            )
            self.replication = DbInstanceAutomatedBackupsReplication(
                self,
                "database-backup-replication",
                source_db_instance_arn=data.database_primary_arn,
                kms_key_id=replica_key.arn,
                retention_period=settings.rds_replication_retention_days,
                provider=self.dr_provider,
            )

        # The quarterly drill restores into this network (docs/runbooks/
        # disaster-recovery.md, "Drill"): the recovery's own exists only in a disaster.
        self.drill_network = (
            DrillNetwork(
                self,
                "drill-network",
                name=f"{DRILL_NETWORK_PREFIX}{config.name}",
                cidr=settings.drill_network_cidr,
                zone_ids=settings.drill_zone_ids,
                provider=self.dr_provider,
            )
            if settings.copy_to_dr_region
            else None
        )
        drill = self.drill_network
        self.publish(
            BackupOutputs(
                vault_name=self.vault.name,
                dr_vault_name=self.dr_vault.name if self.dr_vault else "",
                air_gapped_vault_arn=self.air_gapped_vault.arn if self.air_gapped_vault else "",
                database_plan_id=self.database_plan.plan.id,
                # The replication resource's id is the replicated backups' ARN.
                replicated_backups_arn=self.replication.id if self.replication else "",
                drill_subnet_group=drill.subnet_group.name if drill else None,
                drill_security_group_id=drill.security_group.id if drill else None,
            )
        )
