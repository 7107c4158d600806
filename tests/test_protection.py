"""Stateful resources are protected; every resource type is classified.

A new resource type fails ``test_every_resource_type_is_classified`` until it is
added below, as stateful (with the protection it must carry) or stateless (can
be recreated without losing anything).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import Synthesis, iter_resources

STATEFUL: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "aws_eks_cluster": (
        "deletion protection on",
        lambda r: r.get("deletion_protection") is True,
    ),
    "aws_ecr_repository": (
        "never force-deleted with its images",
        lambda r: r.get("force_delete") is False,
    ),
    "aws_kms_key": (
        "30-day deletion window, rotation on (data encrypted with it is lost with it)",
        lambda r: r.get("deletion_window_in_days") == 30 and r.get("enable_key_rotation") is True,
    ),
    "aws_backup_vault": (
        "never force-destroyed with its recovery points, encrypted with our key",
        lambda r: r.get("force_destroy") is False and bool(r.get("kms_key_arn")),
    ),
    "aws_db_instance_automated_backups_replication": (
        "replicated backups kept 7+ days, encrypted in the DR region",
        lambda r: r.get("retention_period", 0) >= 7 and bool(r.get("kms_key_id")),
    ),
    "aws_cloudwatch_log_group": (
        "retention set and KMS-encrypted (audit and flow logs)",
        lambda r: r.get("retention_in_days", 0) > 0 and bool(r.get("kms_key_id")),
    ),
    "aws_db_instance": (
        "a replica, or 7+ days of backups kept after deletion and a final snapshot",
        lambda r: (
            "replicate_source_db" in r
            or (
                r.get("backup_retention_period", 0) >= 7
                and r.get("skip_final_snapshot") is False
                and bool(r.get("final_snapshot_identifier"))
                and r.get("delete_automated_backups") is False
            )
        ),
    ),
    "aws_elasticache_replication_group": (
        "daily snapshots and a final snapshot",
        lambda r: (
            r.get("snapshot_retention_limit", 0) >= 1 and bool(r.get("final_snapshot_identifier"))
        ),
    ),
    "aws_opensearch_domain": (
        "automated snapshots configured, encrypted at rest",
        lambda r: "snapshot_options" in r and r.get("encrypt_at_rest", {}).get("enabled") is True,
    ),
    "aws_s3_bucket": (
        "never force-destroyed with its objects",
        lambda r: r.get("force_destroy") is False,
    ),
    "aws_s3_bucket_versioning": (
        "versioning enabled",
        lambda r: r.get("versioning_configuration", {}).get("status") == "Enabled",
    ),
    "aws_route53_zone": (
        "never force-destroyed with its records (a new zone means new name servers)",
        lambda r: r.get("force_destroy") is False,
    ),
    "aws_secretsmanager_secret": (
        "a 7+ day recovery window",
        lambda r: r.get("recovery_window_in_days", 0) >= 7,
    ),
    "aws_backup_logically_air_gapped_vault": (
        "copies kept at least 7 days under its compliance lock",
        lambda r: r.get("min_retention_days", 0) >= 7,
    ),
    "aws_s3_bucket_object_lock_configuration": (
        "a default retention (the state's versions cannot be deleted before it ends)",
        lambda r: r["rule"]["default_retention"].get("days", 0) >= 1,
    ),
}

PROTECTED_ENVIRONMENT = {
    "aws_db_instance": ("deletion protection", lambda r: r.get("deletion_protection") is True),
    "aws_secretsmanager_secret": (
        "the longest recovery window",
        lambda r: r.get("recovery_window_in_days") == 30,
    ),
}
"""What an environment whose config protects its database (``database.deletion_protection``)
adds to the rules above; the others are rebuilt at will."""

STATELESS = {
    # Recreated from configuration without losing anything. (Persistent
    # volumes of releases outlive them: the gp3 class retains its volumes.)
    "helm_release", "kubernetes_namespace_v1",
    "aws_iam_openid_connect_provider",
    "aws_backup_plan", "aws_backup_selection", "aws_backup_vault_lock_configuration",
    "aws_cloudwatch_dashboard", "aws_cloudwatch_metric_alarm", "aws_sns_topic",
    "aws_sns_topic_policy", "aws_sns_topic_subscription",
    "aws_acm_certificate", "aws_acm_certificate_validation", "aws_cloudfront_distribution",
    "aws_cloudfront_origin_access_control", "aws_cloudfront_response_headers_policy",
    "aws_route53_record", "aws_wafv2_web_acl", "aws_wafv2_web_acl_logging_configuration",
    "aws_cloudwatch_log_resource_policy", "aws_db_parameter_group", "aws_db_proxy",
    "aws_db_proxy_default_target_group", "aws_db_proxy_target", "aws_db_subnet_group",
    "aws_elasticache_subnet_group", "aws_elasticache_user", "aws_elasticache_user_group",
    "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_logging",
    "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block", "aws_s3_bucket_replication_configuration",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_vpc_security_group_egress_rule",
    "aws_default_security_group", "aws_ecr_lifecycle_policy", "aws_eip",
    "aws_eks_access_entry", "aws_eks_access_policy_association", "aws_eks_addon",
    "aws_eks_node_group", "aws_eks_pod_identity_association", "aws_flow_log",
    "aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment",
    "aws_internet_gateway", "aws_kms_alias", "aws_launch_template", "aws_nat_gateway",
    "aws_resourcegroups_group", "aws_route", "aws_route_table",
    "aws_route_table_association", "aws_security_group", "aws_subnet", "aws_vpc",
    "aws_vpc_endpoint", "aws_vpc_security_group_ingress_rule",
    # The CodeBuild-hosted GitHub runners (kreo_infra.delivery.runners) keep
    # nothing; a replaced GitHub connection comes back PENDING and an
    # administrator redoes the GitHub App handshake (operations.md).
    "aws_codebuild_project", "aws_codebuild_webhook", "aws_codeconnections_connection",
    # A generated value, written with its version (write-only): replacing it
    # comes with a new version number, which sets the same new password on the
    # database too. The secret itself is protected (its recovery window).
    "aws_secretsmanager_secret_version",
    # Policies and grants, re-applied from configuration: the vaults' and the
    # registry's resource policies, the pipeline's boundary, Auto Scaling's role.
    "aws_backup_vault_policy", "aws_ecr_repository_policy", "aws_iam_policy",
    "aws_iam_service_linked_role",
    # The registry's replication to the DR region and the template of its replica
    # repositories: configuration (the replicas themselves are ECR's, and
    # deleting the rule or template deletes no image).
    "aws_ecr_replication_configuration", "aws_ecr_repository_creation_template",
    # Detection: the trail keeps nothing itself (its bucket does, and is protected);
    # the detectors, the analyzer and the rules come back with their configuration
    # (GuardDuty's last 90 days of findings go with a deleted detector: the
    # guardrails deny deleting it).
    "aws_cloudtrail", "aws_guardduty_detector", "aws_guardduty_detector_feature",
    "aws_accessanalyzer_analyzer", "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target",
    # The repositories' GitHub settings (kreo-github): configuration only.
    "github_actions_repository_oidc_subject_claim_customization_template",
    "github_repository_environment", "github_repository_environment_deployment_policy",
    "github_repository_ruleset", "github_workflow_repository_permissions",
}  # fmt: skip


def test_every_resource_type_is_classified(synthesis: Synthesis) -> None:
    found = {
        kind
        for name in synthesis.stack_names
        for kind, _, _ in iter_resources(synthesis.stack(name))
    }
    assert not set(STATEFUL) & STATELESS
    assert sorted(found - set(STATEFUL) - STATELESS) == []


def test_every_stateful_resource_is_protected(synthesis: Synthesis) -> None:
    checked = 0
    unprotected = []
    for name in synthesis.stack_names:
        for kind, resource, body in iter_resources(synthesis.stack(name)):
            if kind in STATEFUL:
                checked += 1
                requirement, is_protected = STATEFUL[kind]
                if not is_protected(body):
                    unprotected.append(f"{name}/{kind}.{resource}: needs {requirement}")
    assert checked > 0
    assert unprotected == []


def test_protected_environments_add_deletion_protection(
    synthesis: Synthesis, env_name: str
) -> None:
    """Each environment gets the protection its config asks for; one that protects its
    database gets all of PROTECTED_ENVIRONMENT (and some environment does)."""
    config = synthesis.environment(env_name)
    protected = config.database.deletion_protection
    assert any(c.database.deletion_protection for c in synthesis.configs)
    checked = 0
    for name in synthesis.stack_names:
        if not name.startswith(f"{config.stack_prefix}-"):
            continue
        for kind, resource, body in iter_resources(synthesis.stack(name)):
            where = f"{name}/{kind}.{resource}"
            if kind == "aws_db_instance":
                assert body.get("deletion_protection") is protected, where
            if protected and kind in PROTECTED_ENVIRONMENT:
                checked += 1
                requirement, is_protected = PROTECTED_ENVIRONMENT[kind]
                assert is_protected(body), f"{where}: needs {requirement}"
    assert checked > 0 or not protected


def test_every_bucket_is_versioned(synthesis: Synthesis) -> None:
    for name in synthesis.stack_names:
        buckets = {
            f"${{aws_s3_bucket.{resource}.id}}"
            for kind, resource, _ in iter_resources(synthesis.stack(name))
            if kind == "aws_s3_bucket"
        }
        versioned = {
            body["bucket"]
            for kind, _, body in iter_resources(synthesis.stack(name))
            if kind == "aws_s3_bucket_versioning"
        }
        assert buckets <= versioned, name
