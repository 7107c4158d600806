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
    (owner,) = [c for c in synthesis.configs if c.dns.domain == c.dns.apex]
    return owner


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
        assert made[config.deploy_role] == f"{config.stack_prefix}-bootstrap"
        deploy_roles = [n for n in made if n.startswith(f"{config.delivery.deploy_role_prefix}-")]
        assert sorted(deploy_roles) == sorted(c.deploy_role for c in synthesis.configs)


def test_the_only_other_accounts_an_environment_names(synthesis: Synthesis, env_name: str) -> None:
    """Every literal account id in an environment's stacks is its own, or one decision
    70 names: the parent zone's (its provider), the registry's (image URLs), and in
    the apex owner's bootstrap the accounts it grants pulls and delegations to."""
    config = synthesis.environment(env_name)
    owner = apex_owner(synthesis)
    parent = parent_of(synthesis, config)
    others = {c.account_id: c for c in synthesis.configs if c is not config}
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
            for field in ("assume_role_policy", "policy"):
                text = body.get(field)
                if not isinstance(text, str) or not set(ACCOUNT_ID.findall(text)) & others:
                    continue
                document = json.loads(text)
                for statement in document["Statement"]:
                    if not set(ACCOUNT_ID.findall(json.dumps(statement))) & others:
                        continue
                    assert statement["Effect"] == "Allow"
                    if kind == "aws_ecr_repository_policy":
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
