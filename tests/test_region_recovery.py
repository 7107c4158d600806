"""A recovery environment (``recovery_of``): the recovered environment rebuilt in its DR
region from what it replicates there (issue 22, decision 78,
docs/runbooks/disaster-recovery.md "Region loss").

Each test runs over every recovery environment of config/ (``recovery_name``) and
reads the session's synthesis: the stacks exist, all in the DR region, with state
there; the database is a restore; nothing global the recovered environment owns is
made again; no name collides with the recovered environment's; the runbook's
order is the stacks' and its budget stays under the seed's RTO.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from kreo_infra.backup.vault import replica_key_alias
from kreo_infra.config import EnvironmentConfig
from kreo_infra.data.secrets import DATABASE_MASTER_SECRET
from kreo_infra.layers import ENVIRONMENT_LAYERS, account_layers, environment_stacks
from kreo_infra.recovery.budget import (
    BEGIN,
    END,
    REGION_LOSS_STEPS,
    RTO_MINUTES,
    budget,
    drilled_restore_minutes,
    render_region_loss,
)
from tests.conftest import PROJECT_ROOT, Synthesis

RUNBOOK = PROJECT_ROOT / "docs" / "runbooks" / "disaster-recovery.md"
DRILLS = PROJECT_ROOT / "docs" / "runbooks" / "drills.md"

GLOBAL_TYPES = (
    "aws_route53_zone",
    "aws_route53_record",
    "aws_acm_certificate",
    "aws_cloudfront_distribution",
    "aws_cloudfront_origin_access_control",
    "aws_cloudfront_response_headers_policy",
    "aws_s3_bucket_replication_configuration",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
    "aws_db_instance_automated_backups_replication",
    "aws_ecr_repository",
    "aws_ecr_replication_configuration",
)
"""What a recovery never makes: the recovered environment's zone, records,
certificates and distributions (global; their control planes are in us-east-1;
CloudFront aliases are unique), its replication, its secrets (the replicas are
read) and its registry."""


def recovery(synthesis: Synthesis, name: str) -> tuple[EnvironmentConfig, EnvironmentConfig]:
    config = synthesis.environment(name)
    assert config.recovery_of is not None
    return config, synthesis.environment(config.recovery_of)


def stacks(synthesis: Synthesis, config: EnvironmentConfig) -> list[str]:
    return [n for n in synthesis.stack_names if n.startswith(f"{config.stack_prefix}-")]


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_every_layer_and_no_bootstrap(synthesis: Synthesis, recovery_name: str) -> None:
    config, _ = recovery(synthesis, recovery_name)
    assert account_layers(config) == ()
    assert stacks(synthesis, config) == sorted(environment_stacks(config))
    assert len(environment_stacks(config)) == len(ENVIRONMENT_LAYERS)


def test_every_stack_acts_and_keeps_state_in_the_dr_region_only(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """Nothing reads or writes the lost region: every provider and every resource's
    own ``region`` is the recovery's, and so are the backend and every remote
    state it reads (its own stacks' only)."""
    config, recovered = recovery(synthesis, recovery_name)
    assert config.region == recovered.dr_region
    for name in stacks(synthesis, config):
        stack = synthesis.stack(name)
        for provider in stack["provider"]["aws"]:
            assert provider["region"] == config.region, name
            assert provider["allowed_account_ids"] == [config.account_id], name
        for kind, items in stack.get("resource", {}).items():
            for body in items.values():
                assert body.get("region", config.region) == config.region, (name, kind)
        backend = stack["terraform"]["backend"]["s3"]
        assert (backend["bucket"], backend["region"]) == (config.state.bucket, config.region)
        for remote in stack.get("data", {}).get("terraform_remote_state", {}).values():
            assert remote["config"]["bucket"] == config.state.bucket, name
            assert remote["config"]["region"] == config.region, name
            assert remote["config"]["key"].startswith(f"{config.state.key_prefix}/{config.name}/")
        assert recovered.region not in strings(stack.get("resource", {})), name


def test_the_database_is_a_restore_behind_deletion_protection(
    synthesis: Synthesis, recovery_name: str
) -> None:
    config, recovered = recovery(synthesis, recovery_name)
    assert config.restore is not None
    data = f"{config.stack_prefix}-data"
    primary = synthesis.resources(data, "aws_db_instance")["postgres/primary"]
    restore = primary["restore_to_point_in_time"]
    assert restore["source_db_instance_automated_backups_arn"] == (
        config.restore.automated_backups_arn
    )
    if config.restore.restore_time is None:
        assert restore["use_latest_restorable_time"] is True
        assert "restore_time" not in restore
    else:
        assert restore["restore_time"] == config.restore.restore_time
    assert primary["deletion_protection"] is True
    assert primary["skip_final_snapshot"] is False
    # Nothing sets a password or a user: the restore keeps the recovered database's.
    assert not {"password", "password_wo", "manage_master_user_password", "username"} & set(primary)
    # Its key is the replicated backups' (the recovered environment's DR key).
    (key,) = synthesis.stack(data)["data"]["aws_kms_key"].values()
    assert key["key_id"] == replica_key_alias(recovered.stack_prefix)
    assert primary["kms_key_id"].startswith("${data.aws_kms_key.")
    assert re.fullmatch(r"\d+h", primary["timeouts"]["create"])
    assert "aws_secretsmanager_secret" not in synthesis.stack(data).get("resource", {})


def test_nothing_global_of_the_recovered_environment_is_made_again(
    synthesis: Synthesis, recovery_name: str
) -> None:
    config, _ = recovery(synthesis, recovery_name)
    for name in stacks(synthesis, config):
        resources = synthesis.stack(name).get("resource", {})
        assert not set(GLOBAL_TYPES) & set(resources), name
        assert not [k for k in resources if k.startswith("aws_cloudfront_")], name
        for acl in resources.get("aws_wafv2_web_acl", {}).values():
            assert acl["scope"] == "REGIONAL", name
        buckets = [b["bucket"] for b in resources.get("aws_s3_bucket", {}).values()]
        assert buckets == [], name


def test_global_things_are_read_in_the_dr_region(synthesis: Synthesis, recovery_name: str) -> None:
    """The zone, the API certificate production's edge issued here in peacetime, the
    secrets' replicas under the recovered environment's prefix."""
    config, recovered = recovery(synthesis, recovery_name)
    edge = synthesis.stack(f"{config.stack_prefix}-edge")["data"]
    (zone,) = edge["aws_route53_zone"].values()
    assert zone["name"] == recovered.dns.domain
    (certificate,) = edge["aws_acm_certificate"].values()
    assert certificate["domain"] == recovered.dns.api_fqdn
    assert certificate["statuses"] == ["ISSUED"]
    issued = synthesis.resources(f"{recovered.stack_prefix}-edge", "aws_acm_certificate")
    (dr,) = [c for c in issued.values() if c.get("region") == config.region]
    assert dr["domain_name"] == recovered.dns.api_fqdn
    secrets = synthesis.stack(f"{config.stack_prefix}-data")["data"]["aws_secretsmanager_secret"]
    names = sorted(s["name"] for s in secrets.values())
    prefix = f"{recovered.project}/{recovered.name}/"
    assert config.secrets_prefix == recovered.secrets_prefix == prefix
    expected = [*recovered.secrets.names, DATABASE_MASTER_SECRET]
    assert names == sorted(f"{prefix}{n}" for n in expected)


def test_media_are_the_recovered_environments_dr_copy(
    synthesis: Synthesis, recovery_name: str
) -> None:
    config, recovered = recovery(synthesis, recovery_name)
    copy = f"{recovered.storage.media_bucket}-dr"
    output = synthesis.stack(f"{config.stack_prefix}-data")["output"]["media-bucket"]["value"]
    assert output == config.storage.media_bucket == copy
    replicas = synthesis.resources(f"{recovered.stack_prefix}-data", "aws_s3_bucket")
    assert copy in [b["bucket"] for b in replicas.values()]
    roles = synthesis.resources(f"{config.stack_prefix}-cluster", "aws_iam_role_policy")
    product = [json.loads(p["policy"]) for path, p in roles.items() if "product-service" in path]
    granted = {r for doc in product for s in doc["Statement"] for r in strings(s["Resource"])}
    assert f"arn:${{data.aws_partition.partition.partition}}:s3:::{copy}/*" in granted or any(
        r.endswith(f":s3:::{copy}/*") for r in granted
    )


def test_the_recovery_owns_its_records_and_the_runbook_hands_them_over(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """external-dns changes only records its own owner id wrote (its TXT registry).
    The recovery's owner id is not the recovered cluster's, so the two never take
    turns at ``api.<domain>`` when the lost region returns; the runbook deletes the
    recovered owner's record and ownership records once, for the recovery's to
    write its own."""
    config, recovered = recovery(synthesis, recovery_name)

    def owner(env: EnvironmentConfig) -> str:
        releases = synthesis.resources(f"{env.stack_prefix}-platform", "helm_release")
        return yaml.safe_load(releases["external-dns/release"]["values"][0])["txtOwnerId"]

    assert owner(config) == config.cluster_name != owner(recovered)
    runbook = RUNBOOK.read_text(encoding="utf-8")
    host = recovered.dns.api_fqdn
    assert f"Name=='{host}.' || ends_with(Name, '-{host}.')" in runbook
    assert f"--dns-name {recovered.dns.domain}" in runbook


def test_the_runbook_resumes_the_restore_at_its_address(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """The untaint command names the restored primary's Terraform address as
    synthesized (construct ids are a contract; this keeps the runbook in step)."""
    config, _ = recovery(synthesis, recovery_name)
    address = synthesis.ref(
        f"{config.stack_prefix}-data", "aws_db_instance", "postgres/primary", "id"
    )[2:-4]
    runbook = RUNBOOK.read_text(encoding="utf-8")
    assert f"`terraform untaint {address}`" in runbook
    assert f"cdktf.out/stacks/{config.stack_prefix}-data" in runbook


def test_no_name_collides_with_the_recovered_environments(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """IAM roles and S3 buckets are global, KMS aliases, log groups and EKS clusters
    per region (the recovered environment has some in the DR region too): none of
    the recovery's is one of the recovered environment's, bootstrap included."""
    config, recovered = recovery(synthesis, recovery_name)
    fields = {
        "aws_iam_role": "name",
        "aws_s3_bucket": "bucket",
        "aws_kms_alias": "name",
        "aws_cloudwatch_log_group": "name",
        "aws_eks_cluster": "name",
        "aws_db_instance": "identifier",
        "aws_elasticache_replication_group": "replication_group_id",
        "aws_opensearch_domain": "domain_name",
        "aws_backup_vault": "name",
        "aws_sns_topic": "name",
    }

    def names(env: EnvironmentConfig) -> set[tuple[str, str]]:
        found = set()
        for name in stacks(synthesis, env):
            for kind, field in fields.items():
                for body in synthesis.resources(name, kind).values():
                    value = body.get(field)
                    if isinstance(value, str) and "${" not in value:
                        found.add((kind, value))
        return found

    mine, theirs = names(config), names(recovered)
    assert len(mine) > 20
    assert not mine & theirs


def test_the_runbook_deploys_the_stacks_in_their_order(
    synthesis: Synthesis, recovery_name: str
) -> None:
    config, _ = recovery(synthesis, recovery_name)
    runbook = RUNBOOK.read_text(encoding="utf-8")
    block = runbook[runbook.index(BEGIN) : runbook.index(END)]
    listed = re.findall(rf"`({re.escape(config.stack_prefix)}-[a-z]+)`", block)
    assert listed == environment_stacks(config)
    assert [s.layer for s in REGION_LOSS_STEPS if s.layer] == list(ENVIRONMENT_LAYERS)


def test_the_runbooks_budget_is_computed_and_under_the_rto(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """The table is :func:`render_region_loss` of the budget (the slowest drilled
    restore where a drill has run): ``make runbook`` rewrites it."""
    config, _ = recovery(synthesis, recovery_name)
    steps = budget(drilled_restore_minutes(DRILLS.read_text(encoding="utf-8")))
    assert render_region_loss(config, steps) in RUNBOOK.read_text(encoding="utf-8"), (
        "docs/runbooks/disaster-recovery.md: run `make runbook`"
    )
    assert sum(s.minutes for s in steps) < RTO_MINUTES


def test_a_drilled_restore_slower_than_budgeted_raises_the_budget() -> None:
    header = (
        "| date (UTC) | source | lag (min) | find-backups (min) | restore-requested (min) | "
        "restore-available (min) | check (min) | teardown (min) | total (min) | result |"
    )
    rows = [
        "| 2027-01-05 | db | 7.0 | 0.1 | 0.2 | 131.4 | 0.1 | 9.0 | 140.8 | passed |",
        "| 2027-04-05 | db | 7.0 | 0.1 | 0.2 | 400.0 | 0.1 | 9.0 | 409.3 | failed |",
    ]
    drilled = drilled_restore_minutes("\n".join([header, "| --- |", *rows]))
    assert drilled == 131.4  # the failed run does not count
    (data,) = [s for s in budget(drilled) if s.layer == "data"]
    assert data.minutes == 135
    assert sum(s.minutes for s in budget(drilled)) > RTO_MINUTES  # and the test above fails
    assert drilled_restore_minutes(header) is None


def test_the_drills_table_header_is_the_drills(tmp_path: Path) -> None:
    """The parser reads the header the drill prints (kreo_infra.recovery.__main__)."""
    from kreo_infra.recovery.__main__ import TABLE_HEADER

    assert "restore-available (min)" in TABLE_HEADER
    assert TABLE_HEADER in DRILLS.read_text(encoding="utf-8")
