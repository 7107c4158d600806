"""What a recovery environment's stacks make instead of what they do not.

A recovery environment (``recovery_of``) rebuilds the environment it recovers in
that environment's DR region, from what it replicates there. The tests of this
directory marked ``own_environments`` are about what a recovery does not make by
design (CloudFront and its certificate, web ACL, sites and records; secret
containers and generated values; media buckets; the CloudFront alarms; the DR
vault and backup replication); these assert, for every recovery environment of
config/ (``recovery_name``), what it does instead, against the recovered
environment's own stacks where it relies on them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.backup.vault import replica_key_alias
from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis, iter_resources

Recovery = tuple[Synthesis, EnvironmentConfig, EnvironmentConfig]
"""The synthesis, the recovery environment's config and the recovered one's."""


@pytest.fixture
def recovery(recovery_name: str, synthesis: Synthesis) -> Recovery:
    config = synthesis.environment(recovery_name)
    assert config.recovery_of is not None
    return synthesis, config, synthesis.environment(config.recovery_of)


def lookups(synthesis: Synthesis, stack: str, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Data sources of one type keyed by construct path: their expression prefix and body."""
    return {
        body["//"]["metadata"]["path"].removeprefix(f"{stack}/"): (f"data.{kind}.{name}", body)
        for name, body in synthesis.stack(stack).get("data", {}).get(kind, {}).items()
    }


def published(synthesis: Synthesis, stack: str) -> Any:
    """The outputs dataclass the stack ``stack`` hands on to the layers after it."""
    from kreo_infra.stacks.kreo_stack import KreoStack

    (found,) = [
        child
        for child in synthesis.app.node.children
        if isinstance(child, KreoStack) and child.stack_name == stack
    ]
    return found.outputs


def resource_types(synthesis: Synthesis, stack: str) -> set[str]:
    return set(synthesis.stack(stack).get("resource", {}))


def assert_only_in_its_region(synthesis: Synthesis, stack: str, config: EnvironmentConfig) -> None:
    """One AWS provider, in the environment's region, and no resource placed elsewhere."""
    (provider,) = synthesis.stack(stack)["provider"]["aws"]
    assert provider["region"] == config.region
    assert "alias" not in provider
    placed = [(kind, name) for kind, name, body in iter_resources(synthesis.stack(stack))
              if "region" in body or "provider" in body]  # fmt: skip
    assert placed == []


# --- edge ---------------------------------------------------------------------------------------

CDN_TYPES = {
    "aws_cloudfront_distribution",
    "aws_cloudfront_origin_access_control",
    "aws_cloudfront_response_headers_policy",
    "aws_route53_zone",
    "aws_route53_record",
    "aws_acm_certificate",
    "aws_acm_certificate_validation",
    "aws_s3_bucket",
}
"""What an environment's own edge makes and a recovery's does not: the zone, its
records, the certificates, the distributions and their buckets."""


def test_a_recoverys_edge_makes_no_distribution_zone_certificate_or_cloudfront_acl(
    recovery: Recovery,
) -> None:
    synthesis, config, recovered = recovery
    stack = f"{config.stack_prefix}-edge"
    # The recovered environment's edge makes every one of them (absent here by design).
    assert resource_types(synthesis, f"{recovered.stack_prefix}-edge") >= CDN_TYPES
    assert CDN_TYPES & resource_types(synthesis, stack) == set()
    # Only the API's (regional) web ACL: no CLOUDFRONT one, nothing in us-east-1.
    acls = synthesis.resources(stack, "aws_wafv2_web_acl")
    assert set(acls) == {"regional-waf/acl"}
    assert acls["regional-waf/acl"]["scope"] == "REGIONAL"
    assert_only_in_its_region(synthesis, stack, config)
    # The recovered environment's zone, looked up.
    ((zone_ref, zone),) = lookups(synthesis, stack, "aws_route53_zone").values()
    assert (zone["name"], zone["private_zone"]) == (recovered.dns.domain, False)
    assert config.dns.domain == recovered.dns.domain
    outputs = synthesis.stack(stack)["output"]
    assert outputs["zone-id"]["value"] == f"${{{zone_ref}.zone_id}}"
    # Published: no distribution for the observability layer's alarms.
    edge = published(synthesis, stack)
    assert edge.distribution_ids == {}
    assert edge.media_distribution_arn is None
    assert edge.dr_api_certificate_arn is None


def test_a_recoverys_edge_reads_the_api_certificate_its_recovered_edge_issued(
    recovery: Recovery,
) -> None:
    synthesis, config, recovered = recovery
    stack = f"{config.stack_prefix}-edge"
    ((read, certificate),) = lookups(synthesis, stack, "aws_acm_certificate").values()
    assert certificate["domain"] == config.dns.api_fqdn == recovered.dns.api_fqdn
    assert certificate["statuses"] == ["ISSUED"]
    assert certificate["most_recent"] is True
    assert "region" not in certificate  # the stack's own: config.region, the load balancer's
    assert synthesis.stack(stack)["output"]["api-certificate-arn"]["value"] == f"${{{read}.arn}}"
    # Issued in peacetime by the recovered environment's edge, in this region.
    assert recovered.recoverable
    recovered_edge = f"{recovered.stack_prefix}-edge"
    issued = synthesis.resources(recovered_edge, "aws_acm_certificate")
    dr = issued["dr-api-certificate/certificate"]
    assert (dr["domain_name"], dr["region"]) == (certificate["domain"], config.region)
    assert recovered.dr_region == config.region


def test_the_recovered_edge_validates_the_dr_certificate_with_the_same_records(
    recovery: Recovery,
) -> None:
    """ACM gives a name the same validation record in every region of an account:
    the DR certificate's validation waits on the API certificate's records, and no
    second set is written (it would collide with the first)."""
    synthesis, config, recovered = recovery
    stack = f"{recovered.stack_prefix}-edge"
    validations = synthesis.resources(stack, "aws_acm_certificate_validation")
    dr = validations["dr-api-certificate/validation"]
    assert dr["region"] == config.region
    assert dr["certificate_arn"] == synthesis.ref(
        stack, "aws_acm_certificate", "dr-api-certificate/certificate", "arn"
    )
    api_fqdns = synthesis.ref(
        stack, "aws_acm_certificate_validation", "api-certificate/validation",
        "validation_record_fqdns",
    )  # fmt: skip
    assert api_fqdns.removeprefix("${").removesuffix("}") in dr["validation_record_fqdns"]
    validation_records = {
        path
        for path, record in synthesis.resources(stack, "aws_route53_record").items()
        if "for_each" in record
    }
    assert validation_records == {
        "api-certificate/validation-records",
        "cdn-certificate/validation-records",
    }
    assert synthesis.stack(stack)["output"]["dr-api-certificate-arn"]["value"] == synthesis.ref(
        stack, "aws_acm_certificate_validation", "dr-api-certificate/validation", "certificate_arn"
    )


# --- data ---------------------------------------------------------------------------------------


def test_a_recoverys_data_layer_creates_no_secret_and_no_bucket_and_reads_the_replicas(
    recovery: Recovery,
) -> None:
    synthesis, config, recovered = recovery
    stack = f"{config.stack_prefix}-data"
    made = resource_types(synthesis, stack)
    assert [t for t in made if t.startswith(("aws_secretsmanager_", "aws_s3_"))] == []
    assert "ephemeral" not in synthesis.stack(stack)  # nothing generated
    # The recovered environment's names, read where it replicates them: this region.
    assert config.secrets_prefix == recovered.secrets_prefix
    assert config.secrets_prefix != f"{config.project}/{config.name}/"
    read = {
        path: (ref, body["name"])
        for path, (ref, body) in lookups(synthesis, stack, "aws_secretsmanager_secret").items()
    }
    expected = {
        f"secrets/{n.replace('/', '-')}": f"{config.secrets_prefix}{n}"
        for n in config.secrets.names
    }
    expected["postgres/master-secret"] = f"{config.secrets_prefix}database/master"
    assert {path: name for path, (_, name) in read.items()} == expected
    replicated = {
        secret["name"]
        for secret in synthesis.resources(
            f"{recovered.stack_prefix}-data", "aws_secretsmanager_secret"
        ).values()
        if config.region in {replica["region"] for replica in secret.get("replica", [])}
    }
    assert set(expected.values()) <= replicated
    outputs = synthesis.stack(stack)["output"]
    ref_of = {name: ref for ref, name in read.values()}
    assert outputs["secret-arns"]["value"] == {
        n: f"${{{ref_of[config.secrets_prefix + n]}.arn}}" for n in config.secrets.names
    }
    # Media: the recovered environment's DR copy (its bucket, key and policies), as it is.
    copy = synthesis.resources(f"{recovered.stack_prefix}-data", "aws_s3_bucket")[
        "storage/replica/bucket"
    ]
    assert copy["bucket"] == config.storage.media_bucket
    assert outputs["media-bucket"]["value"] == config.storage.media_bucket
    assert "access-logs-bucket" not in outputs
    assert published(synthesis, stack).access_logs_bucket is None


def test_a_recoverys_primary_is_a_restore_with_deletion_protection_and_no_password(
    recovery: Recovery,
) -> None:
    synthesis, config, recovered = recovery
    assert config.restore is not None
    stack = f"{config.stack_prefix}-data"
    instances = synthesis.resources(stack, "aws_db_instance")
    primary = instances["postgres/primary"]
    restore = {
        "source_db_instance_automated_backups_arn": config.restore.automated_backups_arn,
        **(
            {"use_latest_restorable_time": True}
            if config.restore.restore_time is None
            else {"restore_time": config.restore.restore_time}
        ),
    }
    assert primary.get("restore_to_point_in_time") == restore
    assert primary["timeouts"]["create"].endswith("h")  # replaying the logs takes hours
    assert all(i["deletion_protection"] is True for i in instances.values())
    # The restored database keeps the recovered database's master user and password.
    for argument in (
        "password", "password_wo", "password_wo_version", "manage_master_user_password",
        "username", "db_name", "snapshot_identifier",
    ):  # fmt: skip
        assert argument not in primary, argument
    assert "ephemeral" not in synthesis.stack(stack)
    master_ref, master = lookups(synthesis, stack, "aws_secretsmanager_secret")[
        "postgres/master-secret"
    ]
    assert master["name"] == f"{recovered.secrets_prefix}database/master"
    output = synthesis.stack(stack)["output"]["database-master-secret-arn"]["value"]
    assert output == f"${{{master_ref}.arn}}"
    # The backups' key, which a restored instance keeps: the recovered environment's
    # backup stack encrypts the replicated automated backups with it.
    key_ref, key = lookups(synthesis, stack, "aws_kms_key")["restored-backups-key"]
    assert key["key_id"] == replica_key_alias(recovered.stack_prefix)
    assert all(i["kms_key_id"] == f"${{{key_ref}.arn}}" for i in instances.values())
    backup = f"{recovered.stack_prefix}-backup"
    alias = synthesis.resources(backup, "aws_kms_alias")["database-replica-key/alias"]
    assert alias["name"] == key["key_id"]
    replication = synthesis.resources(backup, "aws_db_instance_automated_backups_replication")[
        "database-backup-replication"
    ]
    assert replication["kms_key_id"] == synthesis.ref(
        backup, "aws_kms_key", "database-replica-key/key", "arn"
    )
    # The replicated backups are in this environment's region and account.
    arn = config.restore.automated_backups_arn.split(":")
    assert (arn[3], arn[4]) == (config.region, config.account_id)
    assert (recovered.dr_region, recovered.account_id) == (config.region, config.account_id)


def test_a_recoverys_product_service_reaches_the_dr_copy_bucket(recovery: Recovery) -> None:
    synthesis, config, recovered = recovery
    data = f"{recovered.stack_prefix}-data"
    copy = synthesis.resources(data, "aws_s3_bucket")["storage/replica/bucket"]
    assert copy["bucket"] == config.storage.media_bucket
    assert copy["provider"] == "aws.dr"
    assert recovered.dr_region == config.region
    cluster = f"{config.stack_prefix}-cluster"
    role = synthesis.ref(cluster, "aws_iam_role", "product-service/role", "id")
    (policy,) = [
        json.loads(p["policy"])
        for p in synthesis.resources(cluster, "aws_iam_role_policy").values()
        if p["role"] == role
    ]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    bucket_arn = f"arn:${{data.aws_partition.partition.partition}}:s3:::{copy['bucket']}"
    assert statements["ListTheMediaBucket"]["Resource"] == bucket_arn
    assert statements["ReadWriteMediaObjects"]["Resource"] == f"{bucket_arn}/*"
    condition = statements["UseTheMediaKeyThroughS3"]["Condition"]["StringEquals"]
    assert condition == {
        "kms:ViaService": f"s3.{config.region}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
    }
    # The copy's key lets the account's IAM policies grant its use (this role's).
    key = synthesis.resources(data, "aws_kms_key")["storage/replica-key/key"]
    (account,) = [
        s
        for s in json.loads(key["policy"])["Statement"]
        if s["Effect"] == "Allow" and str(s["Principal"].get("AWS", "")).endswith(":root")
    ]
    assert account["Action"] == "kms:*"


# --- observability and backup -------------------------------------------------------------------


def test_a_recovery_has_no_cloudfront_alarms_and_no_cdn_topic(recovery: Recovery) -> None:
    synthesis, config, recovered = recovery

    def cdn_alarms(stack: str) -> list[str]:
        return [
            path
            for path, alarm in synthesis.resources(stack, "aws_cloudwatch_metric_alarm").items()
            if alarm.get("namespace") == "AWS/CloudFront" or path.startswith("alarms/cdn-")
        ]

    stack = f"{config.stack_prefix}-observability"
    assert cdn_alarms(f"{recovered.stack_prefix}-observability")  # the recovered one's
    assert synthesis.resources(stack, "aws_cloudwatch_metric_alarm")
    assert cdn_alarms(stack) == []
    assert set(synthesis.resources(stack, "aws_sns_topic")) == {"alarm-topic/topic"}
    assert_only_in_its_region(synthesis, stack, config)
    remote = synthesis.stack(stack)["data"]["terraform_remote_state"]
    assert [name for name in remote if name.endswith(f"-{config.stack_prefix}-edge")] == []


def test_a_recoverys_backup_has_no_dr_vault_and_no_replication(recovery: Recovery) -> None:
    synthesis, config, recovered = recovery
    stack = f"{config.stack_prefix}-backup"
    # The recovered environment's has both (what this one restores from).
    recovered_backup = f"{recovered.stack_prefix}-backup"
    assert "dr-vault/vault" in synthesis.resources(recovered_backup, "aws_backup_vault")
    assert synthesis.resources(recovered_backup, "aws_db_instance_automated_backups_replication")
    assert set(synthesis.resources(stack, "aws_backup_vault")) == {"vault/vault"}
    assert synthesis.resources(stack, "aws_db_instance_automated_backups_replication") == {}
    assert set(synthesis.resources(stack, "aws_kms_key")) == {"vault/key/key"}
    assert_only_in_its_region(synthesis, stack, config)
    for plan in synthesis.resources(stack, "aws_backup_plan").values():
        for rule in plan["rule"]:
            destinations = [c["destination_vault_arn"] for c in rule.get("copy_action", [])]
            assert all(
                d.startswith("${aws_backup_logically_air_gapped_vault.") for d in destinations
            ), rule["rule_name"]
    outputs = synthesis.stack(stack)["output"]
    assert outputs["replicated-backups-arn"]["value"] == ""
    assert outputs["dr-vault-name"]["value"] == ""
