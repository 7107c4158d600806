"""GitHub-side gates: OIDC subject template, workflow permissions, environments,
rulesets: defaults and validation."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

REPOSITORY = "kreo/kreo-infra"
ENVIRONMENT = "example"
"""Any GitHub environment (the stacks create one per environment of config/)."""


def only(synthesized: dict[str, Any], kind: str, section: str = "resource") -> dict[str, Any]:
    (body,) = synthesized[section][kind].values()
    return body


def test_subject_template_names_repo_context_and_workflow(stack: Any) -> None:
    from kreo_infra.delivery.repository import OidcSubjectTemplate

    OidcSubjectTemplate(stack, "oidc", repository=REPOSITORY)
    template = only(
        synth_stack(stack), "github_actions_repository_oidc_subject_claim_customization_template"
    )
    assert template["repository"] == "kreo-infra"
    assert template["use_default"] is False
    assert template["include_claim_keys"] == ["repo", "context", "job_workflow_ref"]


def test_workflows_read_only_by_default_and_cannot_approve(stack: Any) -> None:
    from kreo_infra.delivery.repository import WorkflowPermissions

    WorkflowPermissions(stack, "permissions", repository=REPOSITORY)
    permissions = only(synth_stack(stack), "github_workflow_repository_permissions")
    assert {k: v for k, v in permissions.items() if k != "//"} == {
        "repository": "kreo-infra",
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }


@pytest.mark.parametrize(
    "construct", ["OidcSubjectTemplate", "WorkflowPermissions", "DeploymentEnvironment"]
)
@pytest.mark.parametrize("repository", ["kreo-infra", "kreo/*", "kreo/a/b"])
def test_repositories_are_owner_slash_name(stack: Any, construct: str, repository: str) -> None:
    from kreo_infra.delivery import repository as module

    props: dict[str, Any] = {"repository": repository}
    if construct == "DeploymentEnvironment":
        props["environment"] = ENVIRONMENT
    with pytest.raises(PropsError, match=rf"{construct}: repository=.* use <owner>/<name>"):
        getattr(module, construct)(stack, "c", **props)


def test_environment_defaults_main_only_no_reviewers_no_admin_bypass(stack: Any) -> None:
    from kreo_infra.delivery.repository import DeploymentEnvironment

    DeploymentEnvironment(stack, "env", repository=REPOSITORY, environment=ENVIRONMENT)
    synthesized = synth_stack(stack)
    environment = only(synthesized, "github_repository_environment")
    assert environment["repository"] == "kreo-infra"
    assert environment["environment"] == ENVIRONMENT
    assert environment["can_admins_bypass"] is False
    assert environment["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert "reviewers" not in environment
    assert "prevent_self_review" not in environment
    assert "data" not in synthesized
    (name,) = synthesized["resource"]["github_repository_environment"]
    policy = only(synthesized, "github_repository_environment_deployment_policy")
    assert policy["branch_pattern"] == "main"
    assert policy["repository"] == "kreo-infra"
    assert policy["environment"] == f"${{github_repository_environment.{name}.environment}}"


def test_environment_reviewers_are_teams_without_self_review(stack: Any) -> None:
    from kreo_infra.delivery.repository import DeploymentEnvironment

    DeploymentEnvironment(
        stack, "env", repository=REPOSITORY, environment=ENVIRONMENT,
        reviewer_teams=["platform", "security"], branch="release/1",
    )  # fmt: skip
    synthesized = synth_stack(stack)
    teams = synthesized["data"]["github_team"]
    assert sorted(t["slug"] for t in teams.values()) == ["platform", "security"]
    assert all(t["summary_only"] is True for t in teams.values())
    environment = only(synthesized, "github_repository_environment")
    assert environment["prevent_self_review"] is True
    (reviewers,) = environment["reviewers"]
    assert sorted(reviewers["teams"]) == sorted(
        f"${{data.github_team.{name}.id}}" for name in teams
    )
    policy = only(synthesized, "github_repository_environment_deployment_policy")
    assert policy["branch_pattern"] == "release/1"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"environment": "prod:v1"}, r"environment='prod:v1' .*\(no ':'\)"),
        ({"environment": "*"}, r"environment='\*'"),
        ({"reviewer_teams": ["a", "a"]}, r"reviewer_teams=\['a', 'a'\] .* at most 6 different"),
        (
            {"reviewer_teams": [f"t{i}" for i in range(7)]},
            r"reviewer_teams=\['t0'.* at most 6 different teams",
        ),
        ({"reviewer_teams": ["Platform Team"]}, r"reviewer_teams='Platform Team' .* team slug"),
        ({"branch": "*"}, r"branch='\*' .* one branch"),
        ({"branch": "release/*"}, r"branch='release/\*' .* one branch \(no wildcard\)"),
    ],
)
def test_environment_validation(stack: Any, props: dict[str, Any], message: str) -> None:
    from kreo_infra.delivery.repository import DeploymentEnvironment

    props = {"repository": REPOSITORY, "environment": ENVIRONMENT, **props}
    with pytest.raises(PropsError, match=rf"DeploymentEnvironment: {message}"):
        DeploymentEnvironment(stack, "env", **props)


def test_protected_branch_defaults(stack: Any) -> None:
    from kreo_infra.delivery.repository import ProtectedBranch

    ProtectedBranch(stack, "main", repository=REPOSITORY)
    ruleset = only(synth_stack(stack), "github_repository_ruleset")
    assert ruleset["repository"] == "kreo-infra"
    assert ruleset["target"] == "branch"
    assert ruleset["enforcement"] == "active"
    assert "bypass_actors" not in ruleset  # administrators are bound too
    assert ruleset["conditions"] == {"ref_name": {"include": ["refs/heads/main"], "exclude": []}}
    rules = ruleset["rules"]
    assert rules["deletion"] is True
    assert rules["non_fast_forward"] is True
    assert rules["required_linear_history"] is True
    assert rules["pull_request"] == {
        "required_approving_review_count": 1,
        "dismiss_stale_reviews_on_push": True,
        "require_last_push_approval": True,
        "required_review_thread_resolution": True,
    }
    assert "required_status_checks" not in rules


def test_protected_branch_requires_checks_from_github_actions(stack: Any) -> None:
    from kreo_infra.delivery.repository import GITHUB_ACTIONS_APP_ID, ProtectedBranch

    ProtectedBranch(
        stack, "main", repository=REPOSITORY, required_checks=["test", "review"],
        required_approvals=2, linear_history=False,
    )  # fmt: skip
    rules = only(synth_stack(stack), "github_repository_ruleset")["rules"]
    assert GITHUB_ACTIONS_APP_ID == 15368
    assert rules["required_status_checks"] == {
        "required_check": [
            {"context": "test", "integration_id": 15368},
            {"context": "review", "integration_id": 15368},
        ],
        "strict_required_status_checks_policy": True,
    }
    assert rules["pull_request"]["required_approving_review_count"] == 2
    assert rules["required_linear_history"] is False


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"required_approvals": 0}, r"required_approvals=0 .* 1 to 10"),
        ({"required_approvals": 11}, r"required_approvals=11 .* 1 to 10"),
        ({"required_checks": ["a", "a"]}, r"required_checks=\['a', 'a'\] .* each check once"),
        ({"required_checks": [" a"]}, r"required_checks=\[' a'\]"),
        ({"required_checks": [""]}, r"required_checks=\[''\]"),
        ({"branch": "ma*n"}, r"branch='ma\*n'"),
    ],
)
def test_protected_branch_validation(stack: Any, props: dict[str, Any], message: str) -> None:
    from kreo_infra.delivery.repository import ProtectedBranch

    with pytest.raises(PropsError, match=rf"ProtectedBranch: {message}"):
        ProtectedBranch(stack, "main", repository=REPOSITORY, **props)
