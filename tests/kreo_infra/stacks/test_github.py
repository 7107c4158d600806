"""kreo-github: the repositories' OIDC subjects, workflow permissions, environments
and rulesets, from config (the stack synthesized alone)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import apex_owner
from kreo_infra.errors import PropsError
from tests.conftest import PROJECT_ROOT
from tests.kreo_infra.stacks.test_kreo_stack import _binding_provider_version


def _pinned(config: EnvironmentConfig) -> EnvironmentConfig:
    """``config`` with ``versions.providers.github``: the binding's version while
    config/defaults.yaml cannot carry it yet (``Versions`` names the providers)."""
    providers = dict(config.versions.providers)
    if "github" in providers:
        return config
    providers["github"] = _binding_provider_version("github")
    versions = config.versions.model_copy(update={"providers": providers})
    return config.model_copy(update={"versions": versions})


def _build(config: EnvironmentConfig, environments: list[str]) -> dict[str, Any]:
    from cdktf import Testing

    from kreo_infra.stacks.github import GithubStack

    stack = GithubStack(Testing.app(), config=config, environments=environments)
    return json.loads(Testing.synth(stack))


@pytest.fixture(scope="module")
def built(providers: None, configs: list[EnvironmentConfig]) -> tuple[EnvironmentConfig, Any]:
    config = _pinned(apex_owner(configs))
    return config, _build(config, [c.name for c in configs])


def _resources(synthesized: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(synthesized.get("resource", {}).get(kind, {}).values())


def _with_delivery(config: EnvironmentConfig, **changes: Any) -> EnvironmentConfig:
    delivery = config.delivery.model_copy(update=changes)
    return config.model_copy(update={"delivery": delivery})


def test_github_provider_for_the_repositories_owner_pinned_from_config(built: Any) -> None:
    config, synthesized = built
    (provider,) = synthesized["provider"]["github"]
    assert provider["owner"] == config.delivery.github_repository.split("/")[0]
    required = synthesized["terraform"]["required_providers"]["github"]
    assert required["version"] == config.versions.providers["github"]
    assert required["source"] == "integrations/github"


def test_one_stack_with_its_state_in_the_apex_owners_bucket(built: Any) -> None:
    config, synthesized = built
    assert synthesized["terraform"]["backend"] == {
        "s3": {
            "bucket": config.state.bucket,
            "key": f"{config.state.key_prefix}/github.tfstate",
            "region": config.state.region,
            "encrypt": True,
            "kms_key_id": f"alias/{config.state.bucket}",
            "use_lockfile": True,
        }
    }
    from kreo_infra.stacks.github import GithubStack

    assert GithubStack.name_for(config) == f"{config.project}-github"


def test_every_repository_pins_its_subject_to_the_workflow(built: Any) -> None:
    config, synthesized = built
    delivery = config.delivery
    names = sorted(
        r.split("/")[1] for r in [delivery.github_repository, *delivery.app_repositories]
    )
    kind = "github_actions_repository_oidc_subject_claim_customization_template"
    templates = _resources(synthesized, kind)
    assert sorted(t["repository"] for t in templates) == names
    assert all(
        t["use_default"] is False
        and t["include_claim_keys"] == ["repo", "context", "job_workflow_ref"]
        for t in templates
    )
    permissions = _resources(synthesized, "github_workflow_repository_permissions")
    assert sorted(p["repository"] for p in permissions) == names
    assert all(p["can_approve_pull_request_reviews"] is False for p in permissions)
    assert all(p["default_workflow_permissions"] == "read" for p in permissions)


def test_an_environment_per_environment_approved_where_config_says(
    built: Any, configs: list[EnvironmentConfig]
) -> None:
    config, synthesized = built
    delivery = config.delivery
    environments = {
        e["environment"]: e for e in _resources(synthesized, "github_repository_environment")
    }
    assert sorted(environments) == sorted([*(c.name for c in configs), delivery.update_environment])
    teams = {
        f"${{data.github_team.{name}.id}}": team["slug"]
        for name, team in synthesized.get("data", {}).get("github_team", {}).items()
    }
    for name, environment in environments.items():
        assert environment["repository"] == delivery.github_repository.split("/")[1]
        assert environment["can_admins_bypass"] is False
        approvers = delivery.approver_teams.get(name, [])
        if approvers:
            (reviewers,) = environment["reviewers"]
            assert sorted(teams[t] for t in reviewers["teams"]) == sorted(approvers)
            assert environment["prevent_self_review"] is True
        else:
            assert "reviewers" not in environment
    policies = _resources(synthesized, "github_repository_environment_deployment_policy")
    assert len(policies) == len(environments)
    assert {p["branch_pattern"] for p in policies} == {"main"}


def test_the_gated_environments_need_an_approval(built: Any) -> None:
    config, _ = built
    assert config.delivery.approver_teams, "no environment waits for an approval"


def test_main_needs_a_reviewed_pull_request_with_the_configured_checks(built: Any) -> None:
    config, synthesized = built
    delivery = config.delivery
    rulesets = {r["repository"]: r for r in _resources(synthesized, "github_repository_ruleset")}
    infra = rulesets.pop(delivery.github_repository.split("/")[1])
    checks = infra["rules"]["required_status_checks"]["required_check"]
    assert [c["context"] for c in checks] == delivery.required_checks
    assert sorted(rulesets) == sorted(r.split("/")[1] for r in delivery.app_repositories)
    for ruleset in [infra, *rulesets.values()]:
        assert "bypass_actors" not in ruleset
        assert ruleset["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
        assert ruleset["rules"]["pull_request"]["required_approving_review_count"] >= 1
        assert ruleset["rules"]["non_fast_forward"] is True
        assert ruleset["rules"]["deletion"] is True


def _job_names(workflow: Path) -> set[str]:
    """The check-run names of a workflow's jobs: ``name`` (else the job id), matrix
    expressions expanded."""
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    names: set[str] = set()
    for job_id, job in document["jobs"].items():
        name = job.get("name", job_id)
        matrix = job.get("strategy", {}).get("matrix", {})
        variants = [name]
        for key, values in matrix.items():
            variants = [
                v.replace(f"${{{{ matrix.{key} }}}}", str(x)) for v in variants for x in values
            ]
        names.update(variants)
    return names


def test_required_checks_are_jobs_of_the_ci_workflow(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        jobs = _job_names(PROJECT_ROOT / config.delivery.workflows.ci)
        missing = set(config.delivery.required_checks) - jobs
        assert not missing, f"not jobs of {config.delivery.workflows.ci}: {sorted(missing)}"


def test_the_pinned_workflows_exist(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        workflows = config.delivery.workflows
        for path in (workflows.ci, workflows.deploy, workflows.drill):
            assert (PROJECT_ROOT / path).is_file(), path
        assert re.fullmatch(r"\.github/workflows/[\w.-]+\.ya?ml", workflows.release)


def test_repositories_of_another_owner_are_refused(providers: None, built: Any) -> None:
    config, _ = built
    other = _with_delivery(config, app_repositories=["someone-else/app"])
    with pytest.raises(
        PropsError, match=r"app_repositories='someone-else/app' .* use repositories of"
    ):
        _build(other, ["example"])


def test_approvers_of_an_unknown_environment_are_refused(providers: None, built: Any) -> None:
    config, _ = built
    other = _with_delivery(config, approver_teams={"nowhere": ["platform"]})
    with pytest.raises(
        PropsError, match=r"approver_teams='nowhere' .* name one of the environments \(example\)"
    ):
        _build(other, ["example"])


def test_environments_are_required(providers: None, built: Any) -> None:
    config, _ = built
    with pytest.raises(PropsError, match=r"GithubStack: environments=\[\]"):
        _build(_with_delivery(config, approver_teams={}), [])


def test_the_update_environment_is_main_only_without_reviewers(built: Any) -> None:
    """Renovate's App key (renovate.yml) lives in ``delivery.update_environment``: usable
    from main only; no reviewers (the weekly run only opens pull requests)."""
    config, synthesized = built
    name = config.delivery.update_environment
    (environment,) = [
        e
        for e in _resources(synthesized, "github_repository_environment")
        if e["environment"] == name
    ]
    assert "reviewers" not in environment
    assert environment["can_admins_bypass"] is False
    assert environment["deployment_branch_policy"] == {
        "custom_branch_policies": True,
        "protected_branches": False,
    }
    (policy,) = [
        p
        for p in _resources(synthesized, "github_repository_environment_deployment_policy")
        if f".environment-{name}_" in p["environment"]
    ]
    assert policy["branch_pattern"] == "main"
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/renovate.yml").read_text())
    assert workflow["jobs"]["renovate"]["environment"] == name


def test_an_update_environment_named_like_a_deploy_environment_is_refused(
    providers: None, built: Any
) -> None:
    config, _ = built
    other = _with_delivery(config, update_environment="example", approver_teams={})
    with pytest.raises(
        PropsError,
        match=r"update_environment='example' .* not a deploy environment \(example\)",
    ):
        _build(other, ["example"])
