"""kreo-<env>-backup, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-backup", config


def rules_of(synthesis: Synthesis, stack: str, plan: str) -> dict[str, dict]:
    body = synthesis.resources(stack, "aws_backup_plan")[f"{plan}/plan"]
    return {r["rule_name"]: r for r in body["rule"]}


def test_vault_per_region_encrypted_with_our_keys(env: Env) -> None:
    synthesis, stack, config = env
    vaults = synthesis.resources(stack, "aws_backup_vault")
    expected = {"vault/vault"} | ({"dr-vault/vault"} if config.backup.copy_to_dr_region else set())
    assert set(vaults) == expected
    for path, vault in vaults.items():
        key = path.replace("/vault", "/key/key")
        assert vault["kms_key_arn"] == synthesis.ref(stack, "aws_kms_key", key, "arn")
        assert vault["force_destroy"] is False
    if config.backup.copy_to_dr_region:
        assert vaults["dr-vault/vault"]["provider"] == "aws.dr"


def test_vaults_are_locked_when_configured(env: Env) -> None:
    synthesis, stack, config = env
    locks = synthesis.resources(stack, "aws_backup_vault_lock_configuration")
    if not config.backup.vault_lock:
        assert locks == {}
        return
    vaults = {"vault"} | ({"dr-vault"} if config.backup.copy_to_dr_region else set())
    assert set(locks) == {f"{vault}/lock" for vault in vaults}
    for path, lock in locks.items():
        vault = path.replace("/lock", "/vault")
        assert lock["backup_vault_name"] == synthesis.ref(stack, "aws_backup_vault", vault, "name")
        assert lock["changeable_for_days"] == config.backup.vault_lock_changeable_for_days >= 3
        assert lock["min_retention_days"] == config.backup.vault_lock_min_retention_days
        assert lock["min_retention_days"] <= config.backup.hourly_retention_days
        assert lock["max_retention_days"] == config.backup.daily_retention_days


def test_database_hourly_and_daily(env: Env) -> None:
    synthesis, stack, config = env
    rules = rules_of(synthesis, stack, "database")
    assert rules["hourly"]["schedule"] == "cron(0 * ? * * *)"
    assert rules["hourly"]["lifecycle"]["delete_after"] == config.backup.hourly_retention_days
    assert rules["daily"]["schedule"] == "cron(0 6 ? * * *)"
    assert rules["daily"]["lifecycle"]["delete_after"] == config.backup.daily_retention_days
    vault = synthesis.ref(stack, "aws_backup_vault", "vault/vault", "name")
    assert all(r["target_vault_name"] == vault for r in rules.values())


def test_every_recovery_point_is_copied_to_the_dr_vault(env: Env) -> None:
    synthesis, stack, config = env
    for plan in ("database", "volumes"):
        for rule in rules_of(synthesis, stack, plan).values():
            if not config.backup.copy_to_dr_region:
                # No copy to a vault of this stack (the air-gapped vault's copies,
                # where the vaults are locked, are another test's).
                vault_copies = [
                    c
                    for c in rule.get("copy_action", [])
                    if c["destination_vault_arn"].startswith("${aws_backup_vault.")
                ]
                assert vault_copies == []
                continue
            dr = synthesis.ref(stack, "aws_backup_vault", "dr-vault/vault", "arn")
            (copy,) = [c for c in rule["copy_action"] if c["destination_vault_arn"] == dr]
            assert copy["lifecycle"] == rule["lifecycle"]


def test_selections(env: Env) -> None:
    synthesis, stack, config = env
    selections = synthesis.resources(stack, "aws_backup_selection")
    role = synthesis.ref(stack, "aws_iam_role", "role", "arn")
    database = selections["database/selection"]
    (primary,) = database["resources"]
    assert primary.startswith(
        f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-data"
    )
    assert "postgres_primary" in primary
    assert database["iam_role_arn"] == role
    volumes = selections["volumes/selection"]
    assert volumes["resources"] == [
        "arn:${data.aws_partition.partition.partition}:ec2:*:*:volume/*"
    ]
    (condition,) = volumes["condition"]
    tags = {c["key"]: c["value"] for c in condition["string_equals"]}
    assert tags == {
        "aws:ResourceTag/kreo.com/backup": "daily",
        "aws:ResourceTag/Environment": config.name,
        "aws:ResourceTag/Project": config.project,
    }
    assert volumes["iam_role_arn"] == role


def test_volume_tags_match_the_storage_class(env: Env) -> None:
    """The selection finds exactly the volumes the platform's StorageClass tags."""
    import yaml

    synthesis, stack, config = env
    (release,) = [
        r
        for r in synthesis.resources(f"{config.stack_prefix}-platform", "helm_release").values()
        if r["name"] == "kreo-platform"
    ]
    volume_tags = yaml.safe_load(release["values"][0])["storageClass"]["volumeTags"]
    (condition,) = synthesis.resources(stack, "aws_backup_selection")["volumes/selection"][
        "condition"
    ]
    selected = {
        c["key"].removeprefix("aws:ResourceTag/"): c["value"] for c in condition["string_equals"]
    }
    assert selected == volume_tags


def test_backup_role_has_the_managed_backup_and_restore_policies(env: Env) -> None:
    import json

    synthesis, stack, _ = env
    role = synthesis.resources(stack, "aws_iam_role")["role"]
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    attached = {
        a["policy_arn"].rsplit("/", 1)[1]
        for a in synthesis.resources(stack, "aws_iam_role_policy_attachment").values()
    }
    assert attached == {
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
    }


def test_automated_backups_replicate_to_the_dr_region_when_copied(env: Env) -> None:
    synthesis, stack, config = env
    replications = synthesis.resources(stack, "aws_db_instance_automated_backups_replication")
    if not config.backup.copy_to_dr_region:
        assert replications == {}
        return
    replication = replications["database-backup-replication"]
    assert replication["provider"] == "aws.dr"
    assert replication["retention_period"] == config.backup.rds_replication_retention_days
    assert replication["kms_key_id"] == synthesis.ref(
        stack, "aws_kms_key", "database-replica-key/key", "arn"
    )
    assert "postgres_primary" in replication["source_db_instance_arn"]


def test_the_replicated_backups_arn_is_published(env: Env) -> None:
    """What a recovery restores from: the replication resource's id is that ARN."""
    synthesis, stack, config = env
    published = synthesis.stack(stack)["output"]["replicated-backups-arn"]["value"]
    if not config.backup.copy_to_dr_region:
        assert published == ""
        return
    assert published == synthesis.ref(
        stack, "aws_db_instance_automated_backups_replication", "database-backup-replication", "id"
    )


def test_daily_points_are_copied_to_the_air_gapped_vault_when_locked(env: Env) -> None:
    synthesis, stack, config = env
    vaults = synthesis.resources(stack, "aws_backup_logically_air_gapped_vault")
    if not config.backup.vault_lock:
        assert vaults == {}
        return
    vault = vaults["air-gapped-vault/vault"]
    assert vault["name"] == f"{config.stack_prefix}-air-gapped"
    assert vault["min_retention_days"] == 7
    # Fixed (no API changes it): a retention change must not replace the vault.
    assert vault["max_retention_days"] == 365 >= config.backup.daily_retention_days
    assert "encryption_key_arn" not in vault
    lag = synthesis.ref(
        stack, "aws_backup_logically_air_gapped_vault", "air-gapped-vault/vault", "arn"
    )
    for plan in ("database", "volumes"):
        for name, rule in rules_of(synthesis, stack, plan).items():
            copies = [c for c in rule.get("copy_action", []) if c["destination_vault_arn"] == lag]
            if name == "hourly":
                assert copies == []  # kept 2 days, under the vault's 7-day minimum
                continue
            (copy,) = copies
            assert copy["lifecycle"] == rule["lifecycle"]


def test_every_vault_has_the_break_glass_access_policy(env: Env) -> None:
    import json

    synthesis, stack, config = env
    policies = synthesis.resources(stack, "aws_backup_vault_policy")
    vaults = {"vault"} | ({"dr-vault"} if config.backup.copy_to_dr_region else set())
    assert set(policies) == {f"{vault}/policy" for vault in vaults}
    for path, policy in policies.items():
        vault = path.replace("/policy", "/vault")
        assert policy["backup_vault_name"] == synthesis.ref(
            stack, "aws_backup_vault", vault, "name"
        )
        (deny,) = json.loads(policy["policy"])["Statement"]
        assert deny["Effect"] == "Deny"
        assert "backup:DeleteRecoveryPoint" in deny["Action"]
        assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].endswith(
            ":role/kreo-break-glass"
        )


def test_keys_of_recovery_points_guard_recovery(env: Env) -> None:
    import json

    synthesis, stack, config = env
    keys = synthesis.resources(stack, "aws_kms_key")
    expected = {"vault/key/key"}
    if config.backup.copy_to_dr_region:
        expected |= {"dr-vault/key/key", "database-replica-key/key"}
    assert set(keys) == expected
    for key in keys.values():
        sids = {s["Sid"] for s in json.loads(key["policy"])["Statement"]}
        assert "OnlyBreakGlassDestroysRecovery" in sids
