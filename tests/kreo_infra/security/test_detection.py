"""AuditTrail, ThreatDetection, SecurityAlarms, AccountSecurity: defaults and validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")
DR_ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-west-2")
BREAK_GLASS = "arn:aws:iam::123456789012:role/kreo-break-glass"
TRAIL = "arn:aws:cloudtrail:us-east-1:123456789012:trail/kreo-audit"


def only(resources: dict[str, Any], rtype: str) -> dict[str, Any]:
    (body,) = resources[rtype].values()
    return body


def statements(policy: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


# --- AuditTrail -------------------------------------------------------------------


def trail(stack: Any, **overrides: Any) -> dict[str, Any]:
    from kreo_infra.security.detection import AuditTrail

    props: dict[str, Any] = {
        "name": "kreo-audit",
        "bucket": "kreo-state-audit",
        "state_bucket": "kreo-state",
        "account": ACCOUNT,
    }
    AuditTrail(stack, "trail", **{**props, **overrides})
    return synth_stack(stack)["resource"]


def test_trail_defaults(stack: Any) -> None:
    resources = trail(stack)
    body = only(resources, "aws_cloudtrail")
    assert body["is_multi_region_trail"] is True
    assert body["include_global_service_events"] is True
    assert body["enable_log_file_validation"] is True
    assert body["enable_logging"] is True
    assert body["kms_key_id"].startswith("${aws_kms_key.")
    management, state = body["advanced_event_selector"]
    assert management["field_selector"] == [{"field": "eventCategory", "equals": ["Management"]}]
    selectors = {f["field"]: f for f in state["field_selector"]}
    assert selectors["eventCategory"]["equals"] == ["Data"]
    assert selectors["readOnly"]["equals"] == ["false"]
    assert selectors["resources.type"]["equals"] == ["AWS::S3::Object"]
    assert selectors["resources.ARN"]["starts_with"] == ["arn:aws:s3:::kreo-state/"]


def test_trail_waits_for_its_bucket_policy(stack: Any) -> None:
    resources = trail(stack)
    body = only(resources, "aws_cloudtrail")
    policies = [
        key for key, p in resources["aws_s3_bucket_policy"].items() if "AWSLogs" in p["policy"]
    ]
    assert body["depends_on"] == [f"aws_s3_bucket_policy.{policies[0]}"]


def test_trail_key_is_for_this_trail_only(stack: Any) -> None:
    resources = trail(stack)
    keys = [k for k in resources["aws_kms_key"].values() if "CloudTrail" in k["policy"]]
    (key,) = keys
    found = statements(key["policy"])
    encrypt = found["CloudTrailEncryptsThisTrailsLogs"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceArn": TRAIL}
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:123456789012:trail/*"
    }
    assert found["CloudTrailDescribesTheKey"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL}
    }


def test_trail_bucket_policy(stack: Any) -> None:
    resources = trail(stack, guarded_principals=["arn:aws:iam::123456789012:role/kreo-deploy-*"])
    (policy,) = [p for p in resources["aws_s3_bucket_policy"].values() if "AWSLogs" in p["policy"]]
    found = statements(policy["policy"])
    write = found["CloudTrailWritesThisTrailsLogs"]
    assert write["Resource"] == "arn:aws:s3:::kreo-state-audit/AWSLogs/123456789012/*"
    assert write["Condition"]["StringEquals"] == {
        "aws:SourceArn": TRAIL,
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    assert found["CloudTrailChecksTheBucketAcl"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL}
    }
    deny = found["OnlyBreakGlassDeletesLogs"]
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}}
    pipeline = found["ThePipelineLeavesTheTrailBucketAlone"]
    assert "s3:PutBucketPolicy" in pipeline["Action"]
    assert pipeline["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/kreo-deploy-*"]}
    }
    assert "DenyInsecureTransport" in found


def test_trail_bucket_without_guarded_principals_has_no_pipeline_statement(stack: Any) -> None:
    resources = trail(stack)
    (policy,) = [p for p in resources["aws_s3_bucket_policy"].values() if "AWSLogs" in p["policy"]]
    assert "ThePipelineLeavesTheTrailBucketAlone" not in statements(policy["policy"])


def test_trail_bucket_is_access_logged_and_expires_logs(stack: Any) -> None:
    resources = trail(stack)
    names = {b["bucket"] for b in resources["aws_s3_bucket"].values()}
    assert names == {"kreo-state-audit", "kreo-state-audit-access-logs"}
    logging = only(resources, "aws_s3_bucket_logging")
    assert logging["target_prefix"] == "kreo-state-audit/"
    expirations = sorted(
        rule["expiration"][0]["days"]
        for lifecycle in resources["aws_s3_bucket_lifecycle_configuration"].values()
        for rule in lifecycle["rule"]
        if "expiration" in rule
    )
    assert expirations == [365, 365]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"retention_days": 30}, "retention_days=30 .* 90 or more"),
        ({"state_bucket": ""}, "state"),
        ({"bucket": "b" * 52}, "bucket=.* at most 51 characters"),
    ],
)
def test_trail_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsError, match=message):
        trail(stack, **overrides)


# --- ThreatDetection --------------------------------------------------------------


def test_threat_detection_defaults(stack: Any) -> None:
    from kreo_infra.security.detection import ThreatDetection

    ThreatDetection(stack, "threats", name="kreo-account")
    resources = synth_stack(stack)["resource"]
    detector = only(resources, "aws_guardduty_detector")
    assert detector["enable"] is True
    assert detector["finding_publishing_frequency"] == "FIFTEEN_MINUTES"
    assert "region" not in detector
    features = {f["name"]: f for f in resources["aws_guardduty_detector_feature"].values()}
    assert set(features) == {
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
    }
    assert "RUNTIME_MONITORING" not in features
    assert {f["status"] for f in features.values()} == {"ENABLED"}
    analyzer = only(resources, "aws_accessanalyzer_analyzer")
    assert analyzer == {**analyzer, "analyzer_name": "kreo-account", "type": "ACCOUNT"}


def test_threat_detection_region(stack: Any) -> None:
    from kreo_infra.security.detection import ThreatDetection

    ThreatDetection(stack, "threats", name="kreo-account", region="us-west-2")
    resources = synth_stack(stack)["resource"]
    for rtype in ("aws_guardduty_detector", "aws_accessanalyzer_analyzer"):
        assert only(resources, rtype)["region"] == "us-west-2"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"finding_publishing_frequency": "DAILY"}, "finding_publishing_frequency='DAILY'"),
        ({"features": ["S3_DATA_EVENTS", "TYPO"]}, "unknown: TYPO"),
    ],
)
def test_threat_detection_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    from kreo_infra.security.detection import ThreatDetection

    with pytest.raises(PropsError, match=message):
        ThreatDetection(stack, "threats", name="x", **overrides)


# --- SecurityAlarms ---------------------------------------------------------------

ALL_RULES = {
    "kms-key-tampering",
    "backup-tampering",
    "rds-backup-tampering",
    "rds-backup-retention-zero",
    "trail-tampering",
    "waf-disassociated",
    "guardduty-tampering",
    "access-analyzer-tampering",
    "break-glass-used",
    "account-root-activity",
    "guardduty-high-findings",
    "backup-copy-failed",
    "access-analyzer-findings",
    "iam-trust-changes",
    "identity-provider-created",
    "permissions-boundary-removed",
    "state-version-deleted",
    "state-bucket-tampering",
}
GLOBAL_RULES = {"iam-trust-changes", "identity-provider-created", "permissions-boundary-removed"}
STATE_RULES = {"state-version-deleted", "state-bucket-tampering"}


def alarms(stack: Any, **overrides: Any) -> dict[str, Any]:
    from kreo_infra.security.detection import SecurityAlarms

    props: dict[str, Any] = {
        "prefix": "kreo",
        "emails": ["sec@example.com"],
        "account": ACCOUNT,
        "state_bucket": "kreo-state",
    }
    SecurityAlarms(stack, "alarms", **{**props, **overrides})
    return synth_stack(stack)["resource"]


def rules_by_id(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["name"].removeprefix("kreo-security-"): r
        for r in resources["aws_cloudwatch_event_rule"].values()
    }


def test_alarms_in_us_east_1_cover_every_concern(stack: Any) -> None:
    resources = alarms(stack)
    rules = rules_by_id(resources)
    assert set(rules) == ALL_RULES
    assert all(r["description"] for r in rules.values())
    assert all("region" not in r for r in rules.values())
    topic = only(resources, "aws_sns_topic")
    assert topic["name"] == "kreo-security"
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.")
    subscription = only(resources, "aws_sns_topic_subscription")
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "sec@example.com")
    targets = resources["aws_cloudwatch_event_target"].values()
    assert len(targets) == len(ALL_RULES)
    (topic_id,) = resources["aws_sns_topic"]
    assert {t["arn"] for t in targets} == {f"${{aws_sns_topic.{topic_id}.arn}}"}


def test_alarms_elsewhere_leave_out_global_and_state_rules(stack: Any) -> None:
    resources = alarms(stack, account=DR_ACCOUNT, state_bucket=None)
    assert set(rules_by_id(resources)) == ALL_RULES - GLOBAL_RULES - STATE_RULES


def test_alarms_in_another_region_by_argument(stack: Any) -> None:
    resources = alarms(stack, region="us-west-2", state_bucket=None)
    rules = rules_by_id(resources)
    assert set(rules) == ALL_RULES - GLOBAL_RULES - STATE_RULES
    assert {r["region"] for r in rules.values()} == {"us-west-2"}
    assert only(resources, "aws_sns_topic")["region"] == "us-west-2"
    assert only(resources, "aws_kms_key")["region"] == "us-west-2"


def test_topic_policy_and_key_allow_only_these_rules(stack: Any) -> None:
    resources = alarms(stack)
    expected = sorted(
        f"arn:aws:events:us-east-1:123456789012:rule/kreo-security-{rule}" for rule in ALL_RULES
    )
    policy = statements(only(resources, "aws_sns_topic_policy")["policy"])
    publish = policy["TheseEventBridgeRulesPublish"]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(publish["Condition"]["ArnEquals"]["aws:SourceArn"]) == expected
    key = statements(only(resources, "aws_kms_key")["policy"])
    encrypt = key["EventBridgeRulesEncryptNotifications"]
    assert sorted(encrypt["Condition"]["ArnEquals"]["aws:SourceArn"]) == expected


def pattern(resources: dict[str, Any], rule: str) -> dict[str, Any]:
    return json.loads(rules_by_id(resources)[rule]["event_pattern"])


def test_patterns_match_the_calls(stack: Any) -> None:
    resources = alarms(stack)
    kms = pattern(resources, "kms-key-tampering")
    assert kms["detail-type"] == ["AWS API Call via CloudTrail"]
    assert kms["detail"]["eventName"] == [
        "ScheduleKeyDeletion",
        "DisableKey",
        "PutKeyPolicy",
        "RevokeGrant",
    ]
    retention = pattern(resources, "rds-backup-retention-zero")
    assert retention["detail"]["eventName"] == ["ModifyDBInstance"]
    assert retention["detail"]["requestParameters"] == {"backupRetentionPeriod": [0]}
    state = pattern(resources, "state-version-deleted")["detail"]
    assert state["requestParameters"] == {
        "bucketName": ["kreo-state"],
        "versionId": [{"exists": True}],
    }
    assert pattern(resources, "break-glass-used")["detail"]["requestParameters"] == {
        "roleArn": [BREAK_GLASS]
    }
    root = pattern(resources, "account-root-activity")
    assert root["detail"] == {"userIdentity": {"type": ["Root"]}}
    findings = pattern(resources, "guardduty-high-findings")
    assert findings["detail"] == {"severity": [{"numeric": [">=", 7]}]}
    assert pattern(resources, "access-analyzer-findings")["detail"] == {"status": ["ACTIVE"]}
    assert pattern(resources, "iam-trust-changes")["source"] == ["aws.iam"]


def test_messages_name_call_principal_resource_and_region(stack: Any) -> None:
    resources = alarms(stack)
    for target in resources["aws_cloudwatch_event_target"].values():
        transformer = target["input_transformer"]
        paths = transformer["input_paths"]
        assert {"region", "account", "call", "principal", "resource"} <= set(paths)
        template = json.loads(transformer["input_template"])
        for placeholder in paths:
            assert f"<{placeholder}>" in template


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"emails": []}, "emails=.* at least one"),
        ({"region": "us-west-2", "global_events": True}, "global_events=True .* us-east-1"),
        ({"prefix": "k" * 40}, "prefix=.* at most"),
    ],
)
def test_alarms_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsError, match=message):
        alarms(stack, **overrides)


# --- AccountSecurity --------------------------------------------------------------


def test_account_security_covers_both_regions(stack: Any) -> None:
    from kreo_infra.security.detection import AccountSecurity

    AccountSecurity(
        stack,
        "security",
        prefix="kreo",
        account=ACCOUNT,
        state_bucket="kreo-state",
        alarm_emails=["sec@example.com"],
        dr_region="us-west-2",
    )
    resources = synth_stack(stack)["resource"]
    assert only(resources, "aws_cloudtrail")["s3_bucket_name"].startswith("${aws_s3_bucket.")
    assert "kreo-state-audit" in {b["bucket"] for b in resources["aws_s3_bucket"].values()}
    detectors = resources["aws_guardduty_detector"].values()
    assert sorted(d.get("region", "") for d in detectors) == ["", "us-west-2"]
    topics = resources["aws_sns_topic"].values()
    assert sorted(t.get("region", "") for t in topics) == ["", "us-west-2"]
    assert {t["name"] for t in topics} == {"kreo-security"}
    regions = [r.get("region", "") for r in resources["aws_cloudwatch_event_rule"].values()]
    assert regions.count("") == len(ALL_RULES)
    assert regions.count("us-west-2") == len(ALL_RULES - GLOBAL_RULES - STATE_RULES)


def test_account_security_without_dr_region(stack: Any) -> None:
    from kreo_infra.security.detection import AccountSecurity

    AccountSecurity(
        stack,
        "security",
        prefix="kreo",
        account=ACCOUNT,
        state_bucket="kreo-state",
        alarm_emails=["sec@example.com"],
    )
    resources = synth_stack(stack)["resource"]
    assert len(resources["aws_guardduty_detector"]) == 1
    assert len(resources["aws_sns_topic"]) == 1


def test_account_security_dr_region_validated(stack: Any) -> None:
    from kreo_infra.security.detection import AccountSecurity

    with pytest.raises(PropsError, match="dr_region='us-east-1'"):
        AccountSecurity(
            stack,
            "security",
            prefix="kreo",
            account=ACCOUNT,
            state_bucket="kreo-state",
            alarm_emails=["x@example.com"],
            dr_region="us-east-1",
        )


def test_a_failed_backup_copy_alarms(stack: Any) -> None:
    """The air-gapped and DR copies are the recovery that survives the account: a copy
    that fails (AWS Backup's own "Copy Job State Change" event) pages."""
    rules = rules_by_id(alarms(stack))
    pattern = json.loads(rules["backup-copy-failed"]["event_pattern"])
    assert pattern == {
        "source": ["aws.backup"],
        "detail-type": ["Copy Job State Change"],
        "detail": {"state": ["FAILED", "ABORTED"]},
    }
