"""The GitHub workflows, read as data: triggers, pins, permissions, gates, commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig, load_environments
from tests.conftest import CONFIG_DIR, PROJECT_ROOT, Synthesis

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


PLAN_JOBS = {"plan-infrastructure": "infrastructure", "plan-workloads": "workloads"}


def deploy_jobs(configs: list[EnvironmentConfig]) -> list[tuple[str, Any, str, str]]:
    """``(job, needs, environment, phase)`` of infra-deploy.yml, in order: the zone job of
    every environment whose zone another's is delegated from (first deploy only), then
    each environment's two phases, those zone owners last (the others rehearse first)."""
    parents = {c.dns.delegate_from for c in configs if c.dns.delegate_from}
    owners = [c for c in configs if c.dns.domain in parents]
    jobs = [(f"{c.name}-zone", "test", c.name, "infrastructure") for c in owners]
    needs: Any = ["test", *(job for job, *_ in jobs)] if jobs else "test"
    for config in [c for c in configs if c not in owners] + owners:
        for phase in ("infrastructure", "workloads"):
            jobs.append((f"{config.name}-{phase}", needs, config.name, phase))
            needs = f"{config.name}-{phase}"
    return jobs


DEPLOY_JOBS = deploy_jobs(load_environments(CONFIG_DIR))
ZONE_JOBS = [job for job, *_ in DEPLOY_JOBS if job.endswith("-zone")]
RUNNER_LABEL = re.compile(
    r"codebuild-(?P<project>[a-z0-9-]+)-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}"
)
DEPLOY_SESSION_SECONDS = 14400
PLAN_SESSION_SECONDS = 7200


def credentials(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    return step["with"]


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_pull_requests_plan_with_the_plan_role(configs: list[EnvironmentConfig]) -> None:
    ci = load("infra-ci.yml")
    assert "plan" not in ci["jobs"]
    for job_id, phase in PLAN_JOBS.items():
        plan = ci["jobs"][job_id]
        assert plan["needs"] == "test"
        assert sorted(plan["strategy"]["matrix"]["environment"]) == sorted(c.name for c in configs)
        role = credentials(plan)["role-to-assume"]
        assert role.endswith(f":role/{configs[0].delivery.plan_role}")
        assert credentials(plan)["role-duration-seconds"] == PLAN_SESSION_SECONDS
        assert "repo.full_name == github.repository" in plan["if"]
        assert plan["env"]["PHASE"] == phase
        assert any('--phase "$PHASE"' in run for run in runs(plan))
        (comment,) = [s for s in plan["steps"] if "github-script" in s.get("uses", "")]
        # One comment per environment and phase: the two jobs never overwrite each other.
        assert "kreo-plan-${ENVIRONMENT}-${PHASE}" in comment["with"]["script"]
        assert plan["permissions"]["pull-requests"] == "write"
    assert ci["concurrency"]["cancel-in-progress"] is True
    uploads = [s for s in ci["jobs"]["test"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads[0]["with"]["path"] == "cdktf.out"


def test_deploys_every_environment_in_order_behind_its_gate(
    configs: list[EnvironmentConfig],
) -> None:
    workflow = load("infra-deploy.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", *(job_id for job_id, *_ in DEPLOY_JOBS)]
    for job_id, needs, name, phase in DEPLOY_JOBS:
        job = jobs[job_id]
        assert job["needs"] == needs, job_id
        assert job["environment"] == name, job_id
        assert job["concurrency"] == {"group": f"deploy-{name}", "cancel-in-progress": False}
        config = next(c for c in configs if c.name == name)
        assert credentials(job)["role-to-assume"].endswith(f":role/{config.deploy_role}")
        assert credentials(job)["aws-region"] == "${{ env.AWS_REGION }}"
        stage = "account" if phase == "infrastructure" else "workloads"
        deploy = (
            f"make deploy ENV={name} STACK=edge DEPLOY_FLAGS=--auto-approve"
            if job_id in ZONE_JOBS
            else f"make deploy ENV={name} PHASE={phase} DEPLOY_FLAGS=--auto-approve"
        )
        # The preflight of the phase, then the deploy, and nothing else.
        assert runs(job) == [f"make preflight ENV={name} STAGE={stage}", deploy], job_id


def test_zones_only_on_a_first_deploy_and_the_first_environment_either_way() -> None:
    workflow = load("infra-deploy.yml")
    first = triggers(workflow)["workflow_dispatch"]["inputs"]["first_deploy"]
    assert (first["type"], first["default"]) == ("boolean", False)
    jobs = workflow["jobs"]
    assert ZONE_JOBS
    for zone in ZONE_JOBS:
        assert jobs[zone]["if"] == (
            "github.event_name == 'workflow_dispatch' && inputs.first_deploy"
        )
    # Without a status function a job whose need was skipped is skipped too.
    first_environment, *rest = DEPLOY_JOBS[len(ZONE_JOBS) :]
    condition = jobs[first_environment[0]]["if"]
    assert "!cancelled()" in condition
    assert "needs.test.result == 'success'" in condition
    for zone in ZONE_JOBS:
        for result in ("success", "skipped"):
            assert f"needs.{zone}.result == '{result}'" in condition
    for job_id, needs, *_ in rest:
        assert jobs[job_id]["if"] == f"${{{{ !cancelled() && needs.{needs}.result == 'success' }}}}"


def test_deploy_sessions_last_the_longest_deploy() -> None:
    """A workloads deploy (Helm waits, the marketplace rollout) outlasts an hour."""
    for job_id, *_ in DEPLOY_JOBS:
        job = load("infra-deploy.yml")["jobs"][job_id]
        assert credentials(job)["role-duration-seconds"] >= DEPLOY_SESSION_SECONDS, job_id
        assert job["timeout-minutes"] * 60 <= credentials(job)["role-duration-seconds"], job_id


def job_phases(job: dict[str, Any]) -> set[str]:
    """The phases a job plans, deploys or preflights (``make plan|deploy|preflight``)."""
    from kreo_infra.layers import PHASES

    layer_phase = {layer: phase for phase, layers in PHASES.items() for layer in layers}
    env_phase = job.get("env", {}).get("PHASE")
    found: set[str] = set()
    for run in runs(job):
        for command in re.findall(r"make (?:plan|deploy|preflight)\b[^\n;&|]*", run):
            selected = re.search(r"\b(?:PHASE|STAGE)=(\w+)", command)
            stack = re.search(r"\bSTACK=([a-z-]+)\b", command)
            if selected:
                found.add({"account": "infrastructure"}.get(selected[1], selected[1]))
            elif stack:
                found.add(layer_phase.get(stack[1], "infrastructure"))
            elif env_phase:
                found.add(env_phase)
            else:  # the whole environment
                found |= set(PHASES)
        if "--phase" in run:
            found.add(env_phase)
    return found


def job_runners(job: dict[str, Any], configs: list[EnvironmentConfig]) -> dict[str, str]:
    """Environment name -> the job's ``runs-on`` label there."""
    if "environment" in job:
        return {job["environment"]: job["runs-on"]}
    environments = job.get("strategy", {}).get("matrix", {}).get("environment")
    if environments:
        return {e: job["runs-on"].replace("${{ matrix.environment }}", e) for e in environments}
    return {c.name: job["runs-on"] for c in configs}


def test_workloads_run_only_on_runners_in_the_vpc(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    """The workloads phase talks to the private Kubernetes API: every job that plans
    or deploys it runs on a CodeBuild project of that environment's cluster stack,
    in the VPC, admitted to the API; no GitHub-hosted job does."""
    checked = 0
    for path in sorted(WORKFLOWS.iterdir()):
        workflow = load(path.name)
        for job_id, job in workflow["jobs"].items():
            where = f"{path.name}:{job_id}"
            labels = job_runners(job, configs)
            if "workloads" not in job_phases(job):
                assert all(not label.startswith("codebuild-") for label in labels.values()), where
                continue
            for environment, label in labels.items():
                match = RUNNER_LABEL.fullmatch(label)
                assert match, f"{where} runs the workloads phase on {label}"
                config = next(c for c in configs if c.name == environment)
                stack = f"{config.stack_prefix}-cluster"
                projects = {
                    p["name"]: (path_, p)
                    for path_, p in synthesis.resources(stack, "aws_codebuild_project").items()
                }
                assert match["project"] in projects, f"{where}: no project {match['project']}"
                project_path, project = projects[match["project"]]
                (group,) = project["vpc_config"]["security_group_ids"]
                assert project["vpc_config"]["subnets"], where
                cluster_group = synthesis.ref(
                    stack,
                    "aws_eks_cluster",
                    "control-plane/cluster",
                    "vpc_config[0].cluster_security_group_id",
                )
                assert any(
                    rule["security_group_id"] == cluster_group
                    and rule.get("referenced_security_group_id") == group
                    and (rule["ip_protocol"], rule["from_port"], rule["to_port"])
                    == ("tcp", 443, 443)
                    for rule in synthesis.resources(
                        stack, "aws_vpc_security_group_ingress_rule"
                    ).values()
                ), f"{where}: the cluster security group does not admit {match['project']}"
                # The project's webhook starts builds for this workflow's jobs.
                name_ref = synthesis.ref(stack, "aws_codebuild_project", project_path, "name")
                (webhook,) = [
                    w
                    for w in synthesis.resources(stack, "aws_codebuild_webhook").values()
                    if w["project_name"] == name_ref
                ]
                filters = {
                    f["type"]: f["pattern"] for g in webhook["filter_group"] for f in g["filter"]
                }
                assert filters["EVENT"] == "WORKFLOW_JOB_QUEUED"
                assert re.search(filters["WORKFLOW_NAME"], workflow["name"]), where
                checked += 1
    # Pull-request plans and deploys, every environment.
    assert checked == 2 * len(configs)


def test_the_workloads_phase_holds_every_stack_that_talks_to_kubernetes(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    from kreo_infra.layers import PHASES

    for config in configs:
        for phase, layers in PHASES.items():
            for layer in layers:
                providers = synthesis.stack(f"{config.stack_prefix}-{layer}").get("provider", {})
                talks = bool({"helm", "kubernetes"} & set(providers))
                assert not talks or phase == "workloads", f"{config.name}-{layer}"


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
    # 1.10: S3-native locking and ephemeral resources; 1.11: write-only arguments
    # (the generated passwords), as config versions.terraform requires.
    assert (major, minor) >= (1, 11)
    assert configs[0].versions.terraform.startswith(">= 1.11")
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
