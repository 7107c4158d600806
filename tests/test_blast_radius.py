"""Blast radius, derived from the synthesized policies (issue 19, decisions 70-73).

* **Accounts.** An environment's stacks act in its own account only; its pipeline's
  roles exist only there; the only other accounts its stacks name are the ones
  decision 70 lists (the parent zone's, the registry's), and the only grants to
  other accounts are exactly the registry pulls and the zone delegation.
* **Recovery.** No pipeline role, nor any role the pipeline can create, may make a
  recovery point unrecoverable: the denials are evaluated here against every
  destructive call on every recovery resource (a small evaluator of the policy
  language's Deny semantics: actions and resources with their wildcards; a Deny
  whose conditions an attacker could avoid does not count).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def stacks_of(synthesis: Synthesis, config: EnvironmentConfig) -> list[str]:
    return [n for n in synthesis.stack_names if n.startswith(f"{config.stack_prefix}-")]


def apex_owner(synthesis: Synthesis) -> EnvironmentConfig:
    (owner,) = [
        c for c in synthesis.configs if c.dns.domain == c.dns.apex and c.recovery_of is None
    ]
    return owner


def account_owner(synthesis: Synthesis, config: EnvironmentConfig) -> EnvironmentConfig:
    """The environment whose bootstrap is ``config``'s account's: its own, or for a
    recovery the recovered environment's (a recovery has no account of its own)."""
    return synthesis.environment(config.recovery_of) if config.recovery_of else config


def parent_of(synthesis: Synthesis, config: EnvironmentConfig) -> EnvironmentConfig | None:
    return next((c for c in synthesis.configs if c.dns.domain == config.dns.delegate_from), None)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(json path, string)`` of every string in a synthesized document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


# --- accounts ---------------------------------------------------------------------------


def test_every_provider_acts_in_its_environments_account_only(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    parent = parent_of(synthesis, config)
    for name in stacks_of(synthesis, config):
        for provider in synthesis.stack(name).get("provider", {}).get("aws", []):
            expected = (
                parent.account_id
                if provider.get("alias") == "parent-zone" and parent is not None
                else config.account_id
            )
            assert provider["allowed_account_ids"] == [expected], (name, provider.get("alias"))


def test_the_pipelines_roles_exist_in_their_own_account_only(synthesis: Synthesis) -> None:
    """Staging's deploy role is a role of staging's bootstrap, and of no other stack."""
    for config in synthesis.configs:
        made = {
            body["name"]: stack
            for other in synthesis.configs
            for stack in stacks_of(synthesis, other)
            for body in synthesis.stack(stack).get("resource", {}).get("aws_iam_role", {}).values()
            if isinstance(body.get("name"), str)
        }
        owner = account_owner(synthesis, config)
        assert made[config.deploy_role] == f"{owner.stack_prefix}-bootstrap"
        deploy_roles = [n for n in made if n.startswith(f"{config.delivery.deploy_role_prefix}-")]
        assert sorted(deploy_roles) == sorted(c.deploy_role for c in synthesis.configs)


def test_the_only_other_accounts_an_environment_names(synthesis: Synthesis, env_name: str) -> None:
    """Every literal account id in an environment's stacks is its own, or one decision
    70 names: the parent zone's (its provider), the registry's (image URLs), and in
    the apex owner's bootstrap the accounts it grants pulls and delegations to."""
    config = synthesis.environment(env_name)
    owner = apex_owner(synthesis)
    parent = parent_of(synthesis, config)
    others = {c.account_id: c for c in synthesis.configs if c.account_id != config.account_id}
    for name in stacks_of(synthesis, config):
        for path, text in walk(synthesis.stack(name)):
            for account in set(ACCOUNT_ID.findall(text)) & set(others):
                if parent is not None and account == parent.account_id:
                    if name.endswith("-edge") and path.startswith(".provider.aws"):
                        continue
                    if name.endswith("-bootstrap") and "ReadTheParentZoneForPlans" in text:
                        continue
                if account == owner.account_id and ".dkr.ecr." in text:
                    continue  # the registry's image URLs
                granted = (
                    "aws_ecr_repository_policy" in path
                    or ".aws_ecr_repository_creation_template." in path  # the replicas' pull
                    or "zone-access" in text
                    or (".resource.aws_iam_role." in path and "assume_role_policy" in path)
                )
                if config is owner and name.endswith("-bootstrap") and granted:
                    continue  # checked below, grant by grant
                pytest.fail(f"{name}{path} names {others[account].name}'s account: {text[:200]}")


def test_grants_to_other_accounts_are_exactly_the_pulls_and_delegations(
    synthesis: Synthesis,
) -> None:
    owner = apex_owner(synthesis)
    stack = synthesis.stack(f"{owner.stack_prefix}-bootstrap")
    others = {c.account_id for c in synthesis.configs if c is not owner}
    resources = stack["resource"]
    for kind, items in resources.items():
        for name, body in items.items():
            for field in ("assume_role_policy", "policy", "repository_policy"):
                text = body.get(field)
                if not isinstance(text, str) or not set(ACCOUNT_ID.findall(text)) & others:
                    continue
                document = json.loads(text)
                for statement in document["Statement"]:
                    if not set(ACCOUNT_ID.findall(json.dumps(statement))) & others:
                        continue
                    assert statement["Effect"] == "Allow"
                    if kind in (
                        "aws_ecr_repository_policy",
                        "aws_ecr_repository_creation_template",
                    ):
                        assert statement["Action"] == [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:GetDownloadUrlForLayer",
                        ]
                    else:
                        assert (kind, field) == ("aws_iam_role", "assume_role_policy"), name
                        assert body["name"].startswith(f"{owner.project}-dns-"), body["name"]
                        assert statement["Action"] == "sts:AssumeRole"
                    # Another account's root, narrowed to exact roles of it.
                    principals = statement["Principal"]["AWS"]
                    principals = principals if isinstance(principals, list) else [principals]
                    assert all(p.endswith(":root") for p in principals)
                    (roles,) = statement["Condition"]["ArnEquals"].values()
                    assert roles
                    assert all("*" not in r and ":role/" in r for r in roles)


# --- recovery ---------------------------------------------------------------------------
#
# A tiny evaluator of IAM's explicit Deny: a statement denies a request when its Action
# and Resource patterns match (``*`` and ``?`` wildcards, actions case-insensitively)
# and every condition holds for the request's context. A condition on a key the
# context does not carry holds only for the negated operators and ``Null: true``,
# as in IAM; unknown operators never hold (the Deny is not counted: conservative).


def _matches(patterns: Any, value: str, *, fold: bool = False) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    for pattern in patterns:
        regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        if re.match(regex, value, re.IGNORECASE if fold else 0):
            return True
    return False


def _condition_holds(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            expected = expected if isinstance(expected, list) else [expected]
            present = key in context
            actual = context.get(key)
            values = actual if isinstance(actual, list) else [actual]
            if operator == "Null":
                if (expected == ["true"]) == present:
                    return False
            elif operator in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
                if not present or not any(_matches(expected, str(v)) for v in values):
                    return False
            elif operator in ("StringNotEquals", "ArnNotEquals", "ArnNotLike"):
                if present and any(_matches(expected, str(v)) for v in values):
                    return False
            elif operator == "ForAnyValue:StringEquals":
                if not present or not set(values) & set(expected):
                    return False
            elif operator == "NumericLessThan":
                if not present or not float(actual) < float(expected[0]):
                    return False
            else:
                return False
    return True


def denied(statements: list[dict[str, Any]], action: str, resource: str, context: dict) -> bool:
    """Whether an explicit Deny of ``statements`` refuses ``action`` on ``resource``."""
    for statement in statements:
        if statement["Effect"] != "Deny" or "Action" not in statement:
            continue
        if not _matches(statement["Action"], action, fold=True):
            continue
        if "Resource" in statement and not _matches(statement["Resource"], resource):
            continue
        if "NotResource" in statement and _matches(statement["NotResource"], resource):
            continue
        if _condition_holds(statement.get("Condition", {}), context):
            return True
    return False


PARTITION = "${data.aws_partition.partition.partition}"
CALLER = "${data.aws_caller_identity.caller-identity.account_id}"


def document(
    body: dict[str, Any], config: EnvironmentConfig, field: str = "policy"
) -> list[dict[str, Any]]:
    """A policy's statements, the stack's partition and account lookups resolved (the
    provider only acts in ``config``'s account)."""
    text = body[field].replace(PARTITION, "aws").replace(CALLER, config.account_id)
    return json.loads(text)["Statement"]


def pipeline_policies(synthesis: Synthesis, config: EnvironmentConfig) -> dict[str, list]:
    """The pipeline's identities and what denies them: each pipeline role's inline
    policy, and (for any role it may create) the permissions boundary."""
    stack = f"{account_owner(synthesis, config).stack_prefix}-bootstrap"
    policies = synthesis.resources(stack, "aws_iam_role_policy")
    (boundary,) = synthesis.resources(stack, "aws_iam_policy").values()
    return {
        "deploy": document(policies[f"deploy-role-{config.name}/policy"], config),
        "plan": document(policies["plan-role/policy"], config),
        "created-role": document(boundary, config),
    }


def recovery_keys(synthesis: Synthesis, config: EnvironmentConfig) -> dict[str, dict[str, Any]]:
    """Every KMS key that encrypts a recovery point or the state, by ``stack:path``."""
    found = {}
    uses = {
        "aws_db_instance": "kms_key_id",
        "aws_db_instance_automated_backups_replication": "kms_key_id",
        "aws_backup_vault": "kms_key_arn",
        "aws_s3_bucket_server_side_encryption_configuration": "rule",
    }
    owner = account_owner(synthesis, config)
    # A recovery's state bucket is its account's bootstrap's (the recovered one's).
    bootstraps = [f"{owner.stack_prefix}-bootstrap"] if owner is not config else []
    for name in [*stacks_of(synthesis, config), *bootstraps]:
        stack = synthesis.stack(name)
        keys = stack.get("resource", {}).get("aws_kms_key", {})
        for kind, field in uses.items():
            for body in stack.get("resource", {}).get(kind, {}).values():
                if kind.startswith("aws_s3") and not (
                    name.endswith("-bootstrap") and "state" in body["//"]["metadata"]["path"]
                ):
                    continue
                for key_name in re.findall(
                    r"(?<!data\.)aws_kms_key\.([\w-]+)\.arn", json.dumps(body[field])
                ):
                    found[f"{name}:{keys[key_name]['//']['metadata']['path']}"] = keys[key_name]
    return found


KEY_DESTRUCTION = ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy")
RECOVERY_CALLS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultAccessPolicy",
    "rds:DeleteDBInstanceAutomatedBackup",
    "rds:StopDBInstanceAutomatedBackupsReplication",
    "rds:DeleteDBSnapshot",
)


def test_every_recovery_key_is_guarded(synthesis: Synthesis, env_name: str) -> None:
    """The keys of the database, its DR backups, the vaults and the state: tagged (so
    the pipeline's denials find them), and their own policy refuses their
    destruction to anyone but break-glass and the account's root user."""
    config = synthesis.environment(env_name)
    keys = recovery_keys(synthesis, config)
    if config.recovery_of is None:
        assert any("postgres" in k for k in keys), keys
    else:
        # A restored database keeps its backups' key: the recovered environment's
        # DR backups key, guarded there (its recovery_keys hold it).
        (key,) = synthesis.stack(f"{config.stack_prefix}-data")["data"]["aws_kms_key"].values()
        recovered = recovery_keys(synthesis, synthesis.environment(config.recovery_of))
        aliases = {
            a["name"]: a["target_key_id"]
            for a in synthesis.resources(
                f"{config.project}-{config.recovery_of}-backup", "aws_kms_alias"
            ).values()
        }
        assert key["key_id"] in aliases
        assert any("backup/database-replica-key" in k for k in recovered), recovered
    assert any("state" in k for k in keys), keys
    deploy = f"arn:aws:iam::{config.account_id}:role/{config.deploy_role}"
    glass = f"arn:aws:iam::{config.account_id}:role/kreo-break-glass"
    for where, key in keys.items():
        assert key["tags"]["kreo:guards"] == "recovery", where
        assert key["bypass_policy_lockout_safety_check"] is True, where
        policy = document(key, config)
        for action in KEY_DESTRUCTION:
            assert denied(policy, action, "*", {"aws:PrincipalArn": deploy}), (where, action)
            assert not denied(policy, action, "*", {"aws:PrincipalArn": glass}), (where, action)


@pytest.mark.parametrize("who", ["deploy", "plan", "created-role"])
def test_no_pipeline_identity_may_destroy_recovery(
    synthesis: Synthesis, env_name: str, who: str
) -> None:
    config = synthesis.environment(env_name)
    statements = pipeline_policies(synthesis, config)[who]
    guarded = {"aws:ResourceTag/kreo:guards": "recovery"}
    for action in KEY_DESTRUCTION:
        assert denied(statements, action, "arn:aws:kms:us-west-2:1:key/k", guarded), action
    for action in RECOVERY_CALLS:
        assert denied(statements, action, "arn:aws:backup:us-east-1:1:recovery-point:x", {}), action
    # Removing the guard tag first does not help.
    for action in ("kms:UntagResource", "kms:TagResource"):
        assert denied(
            statements, action, "arn:aws:kms:us-east-1:1:key/k",
            {**guarded, "aws:TagKeys": ["kreo:guards"]},
        )  # fmt: skip
    # The state's versions, its lock and its policy.
    (bucket,) = [
        f"${{aws_s3_bucket.{name}.arn}}"
        for name, body in synthesis.stack(
            f"{account_owner(synthesis, config).stack_prefix}-bootstrap"
        )["resource"]["aws_s3_bucket"].items()
        if body["bucket"] == config.state.bucket
    ]
    for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
        assert denied(statements, action, f"{bucket}/kreo-infra/x.tfstate", {}), action
    for action in ("s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy",
                   "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"):  # fmt: skip
        assert denied(statements, action, bucket, {}), action
    # A vault lock may not be removed, nor set below its minimum retention.
    minimum = config.backup.vault_lock_min_retention_days
    lock = "backup:PutBackupVaultLockConfiguration"
    assert denied(statements, lock, "*", {"backup:MinRetentionDays": str(minimum - 1)})
    assert denied(statements, lock, "*", {})
    assert not denied(statements, lock, "*", {"backup:MinRetentionDays": str(minimum)})


@pytest.mark.parametrize("who", ["deploy", "plan", "created-role"])
def test_the_denials_cannot_be_walked_around(synthesis: Synthesis, env_name: str, who: str) -> None:
    """A role without the boundary cannot be made; no role loses it; the boundary,
    the pipeline's own roles, the identity providers and the detection stay."""
    config = synthesis.environment(env_name)
    statements = pipeline_policies(synthesis, config)[who]
    role = f"arn:aws:iam::{config.account_id}:role/kreo-{config.name}-anything"
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"):
        assert denied(statements, action, role, {}), action  # no boundary given
        assert denied(statements, action, role, {"iam:PermissionsBoundary": "arn:other"})
    assert denied(statements, "iam:DeleteRolePermissionsBoundary", role, {})
    for action in ("iam:CreateOpenIDConnectProvider", "iam:CreateSAMLProvider",
                   "iam:CreateUser", "iam:CreateAccessKey"):  # fmt: skip
        assert denied(statements, action, "arn:aws:iam::1:x/y", {}), action
    prefix = account_owner(synthesis, config).stack_prefix  # the account's detection
    assert denied(
        statements,
        "cloudtrail:StopLogging",
        f"arn:aws:cloudtrail:us-west-2:{config.account_id}:trail/{prefix}-audit",
        {},
    )
    assert denied(
        statements,
        "events:DisableRule",
        f"arn:aws:events:us-east-1:{config.account_id}:rule/{prefix}-security-x",
        {},
    )
    assert denied(statements, "guardduty:DeleteDetector", "arn:aws:guardduty:x", {})


def test_the_evaluator_bites() -> None:
    """The evaluator is what the tests above rely on: a Deny it cannot prove holds
    (an unknown operator, a condition the request avoids) does not count."""
    deny = {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}
    assert denied([deny], "kms:DisableKey", "k", {})
    assert not denied([{**deny, "Effect": "Allow"}], "kms:DisableKey", "k", {})
    tagged = {**deny, "Condition": {"StringEquals": {"aws:ResourceTag/t": "v"}}}
    assert not denied([tagged], "kms:DisableKey", "k", {})
    assert denied([tagged], "kms:DisableKey", "k", {"aws:ResourceTag/t": "v"})
    odd = {**deny, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020"}}}
    assert not denied([odd], "kms:DisableKey", "k", {"aws:CurrentTime": "2030"})
    scoped = {**deny, "Resource": "arn:x/*"}
    assert not denied([scoped], "kms:DisableKey", "arn:y/1", {})
