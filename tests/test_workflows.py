"""The GitHub workflows, read as data: triggers, pins, permissions, gates, commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job["steps"]]


@pytest.fixture(scope="module", params=["infra-ci.yml", "infra-deploy.yml"])
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_only_the_two_workflows() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["infra-ci.yml", "infra-deploy.yml"]


def test_triggers() -> None:
    assert triggers(load("infra-ci.yml"))["pull_request"]["branches"] == ["main"]
    # A reviewer's danger-approved label re-runs the review gate.
    assert "labeled" in triggers(load("infra-ci.yml"))["pull_request"]["types"]
    deploy = triggers(load("infra-deploy.yml"))
    assert deploy["push"] == {"branches": ["main"]}
    assert set(deploy) == {"push", "workflow_dispatch"}


def test_every_action_is_pinned_to_a_commit(workflow: dict[str, Any]) -> None:
    uses = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), use


def test_pins_carry_their_version_as_a_comment() -> None:
    for path in WORKFLOWS.iterdir():
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_no_permissions_by_default(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, job_id
        assert job["permissions"].get("contents") == "read", job_id
        assert "write-all" not in str(job["permissions"])


def test_oidc_tokens_only_where_aws_is_called(workflow: dict[str, Any]) -> None:
    for job_id, job in workflow["jobs"].items():
        assumes_role = any(
            step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
            for step in job["steps"]
        )
        assert (job["permissions"].get("id-token") == "write") is assumes_role, job_id
        comments = any("github-script" in step.get("uses", "") for step in job["steps"])
        allowed = {"contents"} | ({"id-token"} if assumes_role else set())
        allowed |= {"pull-requests"} if comments else set()
        assert set(job["permissions"]) <= allowed, job_id


def test_checkout_does_not_keep_credentials(workflow: dict[str, Any]) -> None:
    for _, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_pull_requests_plan_with_the_plan_role(configs: list[EnvironmentConfig]) -> None:
    ci = load("infra-ci.yml")
    plan = ci["jobs"]["plan"]
    assert plan["needs"] == "test"
    assert sorted(plan["strategy"]["matrix"]["environment"]) == sorted(c.name for c in configs)
    (credentials,) = [s for s in plan["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    role = credentials["with"]["role-to-assume"]
    assert role.endswith(f":role/{configs[0].delivery.plan_role}")
    assert "repo.full_name == github.repository" in plan["if"]
    assert ci["concurrency"]["cancel-in-progress"] is True
    uploads = [s for s in ci["jobs"]["test"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads[0]["with"]["path"] == "cdktf.out"
    comment = [s for s in plan["steps"] if "github-script" in s.get("uses", "")]
    assert comment
    assert plan["permissions"]["pull-requests"] == "write"


def test_deploys_staging_then_production_behind_the_gate(configs: list[EnvironmentConfig]) -> None:
    jobs = load("infra-deploy.yml")["jobs"]
    assert jobs["staging"]["needs"] == "test"
    assert jobs["production"]["needs"] == "staging"
    for name in ("staging", "production"):
        job = jobs[name]
        assert job["environment"] == name
        assert job["concurrency"] == {"group": f"deploy-{name}", "cancel-in-progress": False}
        (credentials,) = [
            s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")
        ]
        config = next(c for c in configs if c.name == name)
        assert credentials["with"]["role-to-assume"].endswith(f":role/{config.deploy_role}")
        assert credentials["with"]["aws-region"] == "${{ env.AWS_REGION }}"
        (deploy,) = [s for s in job["steps"] if "make deploy" in s.get("run", "")]
        assert deploy["run"] == f"make deploy ENV={name} DEPLOY_FLAGS=--auto-approve"


def test_auto_approve_only_inside_an_environment_gate() -> None:
    for path in WORKFLOWS.iterdir():
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow["jobs"].items():
            runs = " ".join(step.get("run", "") for step in job["steps"])
            if "--auto-approve" in runs:
                assert job.get("environment"), f"{path.name}:{job_id}"


def test_versions_and_region(workflow: dict[str, Any], configs: list[EnvironmentConfig]) -> None:
    env = workflow["env"]
    major, minor, _ = (int(x) for x in env["TERRAFORM_VERSION"].split("."))
    assert (major, minor) >= (1, 10)
    assert env["AWS_REGION"] == configs[0].region
    assert int(env["NODE_VERSION"]) >= 22


def make_targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def test_commands_exist_in_the_makefile(workflow: dict[str, Any]) -> None:
    targets = make_targets()
    for _, step in steps(workflow):
        for target in re.findall(r"\bmake ([a-z][a-z-]*)", step.get("run", "")):
            assert target in targets, target


def test_checkov_github_actions_checks_pass() -> None:
    from kreo_infra.policy.checkov import run_checkov_github_actions

    failed, passed = run_checkov_github_actions(Path(WORKFLOWS))
    assert passed > 0
    assert failed == []


def test_pull_requests_get_the_review_report_and_its_gate() -> None:
    review = load("infra-ci.yml")["jobs"]["review"]
    runs = "\n".join(step.get("run", "") for step in review["steps"])
    assert "python -m kreo_infra.review cdktf.out --base cdktf.base" in runs
    (base,) = [s for s in review["steps"] if s.get("with", {}).get("path") == "base"]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    (gate,) = [s for s in review["steps"] if s.get("if") == "steps.report.outputs.status == '3'"]
    assert "danger-approved" in gate["env"]["APPROVED"]
    assert "exit 1" in gate["run"]
    assert review["permissions"] == {"contents": "read", "pull-requests": "write"}
