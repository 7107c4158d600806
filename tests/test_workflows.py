"""The GitHub workflows, read as data: triggers, pins, permissions, gates, commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig, load_environments
from kreo_infra.policy.checkov import PolicyScan
from tests.conftest import CONFIG_DIR, PROJECT_ROOT, Synthesis

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job["steps"]]


PIPELINES = ["infra-ci.yml", "infra-deploy.yml"]
"""The workflows that plan and deploy; recovery-drill.yml and renovate.yml are the others."""
WORKFLOW_FILES = [*PIPELINES, "recovery-drill.yml", "renovate.yml"]


@pytest.fixture(scope="module", params=WORKFLOW_FILES)
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


@pytest.fixture(scope="module", params=PIPELINES)
def pipeline(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_only_the_four_workflows() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == WORKFLOW_FILES


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
            if re.match(r"\s*(?:-\s+)?uses:", line):
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
    """``(job, needs, environment, phase)`` of infra-deploy.yml's jobs after ``test``, in
    order: the zone jobs of every environment whose zone another's is delegated from
    (first deploy only), then each environment of its own's two phases, those zone owners
    last (the others rehearse first), then each recovery environment's two phases, after
    ``test`` alone (a region loss: nothing else runs). Every deploy job ``X`` is preceded
    by its plan job ``X-plan``, which it needs; the plan job needs what the deploy job
    used to."""
    own = [c for c in configs if c.recovery_of is None]
    parents = {c.dns.delegate_from for c in own if c.dns.delegate_from}
    owners = [c for c in own if c.dns.domain in parents]
    jobs: list[tuple[str, Any, str, str]] = []
    for c in owners:
        jobs += [
            (f"{c.name}-zone-plan", "test", c.name, "infrastructure"),
            (f"{c.name}-zone", f"{c.name}-zone-plan", c.name, "infrastructure"),
        ]
    zones = [job for job, *_ in jobs if not job.endswith("-plan")]
    needs: Any = ["test", *zones] if zones else "test"
    recoveries = [c for c in configs if c.recovery_of is not None]
    for config in [c for c in own if c not in owners] + owners + recoveries:
        if config in recoveries:
            needs = "test"
        for phase in ("infrastructure", "workloads"):
            job = f"{config.name}-{phase}"
            jobs += [
                (f"{job}-plan", needs, config.name, phase),
                (job, f"{job}-plan", config.name, phase),
            ]
            needs = job
    return jobs


def region_loss_input() -> str:
    """The deploy workflow's dispatch input that deploys the recovery environments only
    (docs/runbooks/disaster-recovery.md, "Region loss"): the one besides first_deploy."""
    inputs = triggers(load("infra-deploy.yml"))["workflow_dispatch"]["inputs"]
    (name,) = set(inputs) - {"first_deploy"}
    return name


def guard(config: EnvironmentConfig) -> str:
    """What a deploy workflow job of ``config`` runs on besides its needs: an environment
    of its own never with the region-loss input; a recovery only by hand, with it (a push
    has no inputs and is no workflow_dispatch)."""
    if config.recovery_of is None:
        return f"!inputs.{region_loss_input()}"
    return f"github.event_name == 'workflow_dispatch' && inputs.{region_loss_input()}"


DEPLOY_WORKFLOW_JOBS = deploy_jobs(load_environments(CONFIG_DIR))
PLANS = [entry for entry in DEPLOY_WORKFLOW_JOBS if entry[0].endswith("-plan")]
DEPLOY_JOBS = [entry for entry in DEPLOY_WORKFLOW_JOBS if not entry[0].endswith("-plan")]
ZONE_JOBS = [job for job, *_ in DEPLOY_JOBS if job.endswith("-zone")]
RUNNER_LABEL = re.compile(
    r"codebuild-(?P<project>[a-z0-9-]+)-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}"
)
DEPLOY_SESSION_SECONDS = 14400
PLAN_SESSION_SECONDS = 7200
ADVISORY = "produced by this pull request's own code"
ACCOUNT_ROLE = "arn:aws:iam::${{ steps.account.outputs.id }}:role/"


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
        # Environments of their own: a recovery's stacks have no state until a disaster
        # (a full-create plan per pull request would be noise).
        own = [c.name for c in configs if c.recovery_of is None]
        assert sorted(plan["strategy"]["matrix"]["environment"]) == sorted(own)
        role = credentials(plan)["role-to-assume"]
        # The environment's own account (main.py --account-id), the plan role's name.
        assert role == (
            "arn:aws:iam::${{ steps.account.outputs.id }}:role/" + configs[0].delivery.plan_role
        )
        assert credentials(plan)["role-duration-seconds"] == PLAN_SESSION_SECONDS
        assert "repo.full_name == github.repository" in plan["if"]
        assert plan["env"]["PHASE"] == phase
        assert plan["env"]["ENVIRONMENT"] == "${{ matrix.environment }}"
        # The plan role cannot write the state's lock object.
        assert 'make plan-phase ENV="$ENVIRONMENT" PHASE="$PHASE" LOCK=false' in runs(plan)
        assert any("python -m kreo_infra.review.plan" in run for run in runs(plan))
        (comment,) = [s for s in plan["steps"] if "github-script" in s.get("uses", "")]
        # One comment per environment and phase: the two jobs never overwrite each other.
        assert "kreo-plan-${ENVIRONMENT}-${PHASE}" in comment["with"]["script"]
        assert ADVISORY in comment["with"]["script"]
        assert plan["permissions"]["pull-requests"] == "write"
    assert ci["concurrency"]["cancel-in-progress"] is True
    uploads = [s for s in ci["jobs"]["test"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads[0]["with"]["path"] == "cdktf.out"
    text = (WORKFLOWS / "infra-ci.yml").read_text()
    for config in configs:
        if config.recovery_of is not None:
            assert f"{config.stack_prefix}-" not in text, config.name


def test_deploys_every_environment_in_order_behind_its_gate(
    configs: list[EnvironmentConfig],
) -> None:
    workflow = load("infra-deploy.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", *(job_id for job_id, *_ in DEPLOY_WORKFLOW_JOBS)]
    for job_id, needs, name, phase in DEPLOY_WORKFLOW_JOBS:
        job = jobs[job_id]
        assert job["needs"] == needs, job_id
        # Plans never overlap a deploy of their environment either: they read its state.
        assert job["concurrency"] == {"group": f"deploy-{name}", "cancel-in-progress": False}
        config = next(c for c in configs if c.name == name)
        # Every AWS call in the environment's region: the workflow's, or the job's own
        # (a recovery: nothing in the region it replaces).
        assert credentials(job)["aws-region"] == "${{ env.AWS_REGION }}"
        region = (
            {} if config.region == workflow["env"]["AWS_REGION"] else {"AWS_REGION": config.region}
        )
        assert job["env"] == {"ENVIRONMENT": name, "PHASE": phase, **region}, job_id
        assert {**workflow["env"], **job["env"]}["AWS_REGION"] == config.region, job_id
        select = "STACK=edge" if job_id.startswith(tuple(ZONE_JOBS)) else f"PHASE={phase}"
        stage = "account" if phase == "infrastructure" else "workloads"
        if job_id.endswith("-plan"):
            assert "environment" not in job, job_id
            assert credentials(job)["role-to-assume"] == ACCOUNT_ROLE + config.delivery.plan_role
            assert f"make plan-phase ENV={name} {select} LOCK=false" in runs(job), job_id
        else:
            assert job["environment"] == name, job_id
            assert credentials(job)["role-to-assume"] == ACCOUNT_ROLE + config.deploy_role
            # The preflight of the phase, then the verified plans, then the re-plan.
            assert runs(job)[-3:] == [
                f"make preflight ENV={name} STAGE={stage}",
                f'make apply-plans ENV={name} FIRST_DEPLOY="$FIRST_DEPLOY"',
                f"make converged ENV={name} {select}",
            ], job_id


def test_every_job_reads_its_account_from_the_config() -> None:
    """One AWS account per environment: each job asks main.py for its environment's."""
    for path in sorted(WORKFLOWS.iterdir()):
        for job_id, job in load(path.name)["jobs"].items():
            if not any("configure-aws-credentials" in s.get("uses", "") for s in job["steps"]):
                continue
            ids = [s for s in job["steps"] if s.get("id") == "account"]
            assert len(ids) == 1, f"{path.name}:{job_id}"
            (step,) = ids
            assert (
                'KREO_ENVIRONMENTS="$ENVIRONMENT" .venv/bin/python main.py --account-id'
                in (step["run"])
            )
            assert "^[0-9]{12}$" in step["run"]  # an empty or odd answer stops the job
            steps_ = job["steps"]
            assert steps_.index(step) < next(
                i for i, s in enumerate(steps_) if "configure-aws-credentials" in s.get("uses", "")
            )
            assert credentials(job)["role-to-assume"].startswith(ACCOUNT_ROLE)


def test_zones_only_on_a_first_deploy_and_the_first_environment_either_way(
    configs: list[EnvironmentConfig],
) -> None:
    workflow = load("infra-deploy.yml")
    first = triggers(workflow)["workflow_dispatch"]["inputs"]["first_deploy"]
    assert (first["type"], first["default"]) == ("boolean", False)
    jobs = workflow["jobs"]
    assert ZONE_JOBS
    for zone in ZONE_JOBS:
        for job_id in (f"{zone}-plan", zone):
            assert jobs[job_id]["if"] == (
                "github.event_name == 'workflow_dispatch' && inputs.first_deploy"
                f" && !inputs.{region_loss_input()}"
            )
    # Without a status function a job whose need was skipped is skipped too.
    first_plan, *rest = DEPLOY_WORKFLOW_JOBS[2 * len(ZONE_JOBS) :]
    condition = jobs[first_plan[0]]["if"]
    assert "!cancelled()" in condition
    assert guard(next(c for c in configs if c.name == first_plan[2])) in condition
    assert "needs.test.result == 'success'" in condition
    for zone in ZONE_JOBS:
        for result in ("success", "skipped"):
            assert f"needs.{zone}.result == '{result}'" in condition
    for job_id, needs, name, _ in rest:
        config = next(c for c in configs if c.name == name)
        assert jobs[job_id]["if"] == (
            f"${{{{ !cancelled() && {guard(config)} && needs.{needs}.result == 'success' }}}}"
        ), job_id


def test_a_recovery_deploys_only_by_hand_in_a_region_loss(
    configs: list[EnvironmentConfig],
) -> None:
    """A recovery environment (``recovery_of``) deploys only when the workflow is run by
    hand with the region-loss input, and then alone: every other environment's job is off.
    Its apply jobs wait in its GitHub environment for its approvers; every AWS call is in
    its region, never the one it replaces."""
    workflow = load("infra-deploy.yml")
    on = triggers(workflow)
    flag = region_loss_input()
    region_loss = on["workflow_dispatch"]["inputs"][flag]
    assert (region_loss["type"], region_loss["default"]) == ("boolean", False)
    assert "Region loss" in region_loss["description"]  # the runbook section
    assert "push" in on  # what a push runs: the environments of their own
    jobs = workflow["jobs"]
    recoveries = [c for c in configs if c.recovery_of is not None]
    assert recoveries
    for config in configs:
        ours = [entry for entry in DEPLOY_WORKFLOW_JOBS if entry[2] == config.name]
        assert ours, config.name
        for job_id, _, name, _ in ours:
            condition = jobs[job_id]["if"]
            if config.recovery_of is None:
                assert f"!inputs.{flag}" in condition, job_id
                continue
            assert guard(config) in condition, job_id
            assert f"!inputs.{flag}" not in condition, job_id
            recovered = next(c for c in configs if c.name == config.recovery_of)
            assert config.region != recovered.region
            region = {**workflow["env"], **jobs[job_id]["env"]}["AWS_REGION"]
            assert region == config.region, job_id
            if not job_id.endswith("-plan"):
                assert jobs[job_id]["environment"] == name, job_id
        if config.recovery_of is not None:
            # The first plan needs only `test`: the other environments' jobs are off.
            assert ours[0][1] == "test"
            # Its GitHub environment waits for a team's approval (the kreo-github stack).
            assert config.delivery.approver_teams.get(config.name)


def test_deploy_sessions_last_the_longest_deploy() -> None:
    """A workloads deploy (Helm waits, the marketplace rollout) outlasts an hour."""
    jobs = load("infra-deploy.yml")["jobs"]
    for job_id, *_ in DEPLOY_WORKFLOW_JOBS:
        job = jobs[job_id]
        need = PLAN_SESSION_SECONDS if job_id.endswith("-plan") else DEPLOY_SESSION_SECONDS
        assert credentials(job)["role-duration-seconds"] >= need, job_id
        assert job["timeout-minutes"] * 60 <= credentials(job)["role-duration-seconds"], job_id


def job_phases(job: dict[str, Any]) -> set[str]:
    """The phases a job plans, deploys or preflights (``make plan|deploy|preflight``)."""
    from kreo_infra.layers import PHASES

    layer_phase = {layer: phase for phase, layers in PHASES.items() for layer in layers}
    env_phase = job.get("env", {}).get("PHASE")
    found: set[str] = set()
    for run in runs(job):
        pattern = r"make (?:plan|deploy|preflight|converged)\b[^\n;&|]*"
        for command in re.findall(pattern, run):
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
    named = job.get("env", {}).get("ENVIRONMENT", "")
    if named and "${{" not in named:  # a deploy workflow's plan job: no GitHub environment
        return {named: job["runs-on"]}
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
    # The deploy's plans and its deploys, every environment; pull-request plans, every
    # environment of its own (none of a recovery).
    own = [c for c in configs if c.recovery_of is None]
    assert checked == 2 * len(configs) + len(own)


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


def test_no_auto_approve_anywhere() -> None:
    """Approvers approve a plan: nothing in the workflows applies an unseen one."""
    for path in WORKFLOWS.iterdir():
        for job_id, job in load(path.name)["jobs"].items():
            text = " ".join(step.get("run", "") for step in job["steps"])
            for command in ("auto-approve", "make deploy", "cdktf deploy", "terraform apply"):
                assert command not in text, f"{path.name}:{job_id}: {command}"


def test_versions_and_region(pipeline: dict[str, Any], configs: list[EnvironmentConfig]) -> None:
    env = pipeline["env"]
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


def test_checkov_github_actions_checks_pass(policy_scan: PolicyScan) -> None:
    """checkov's GitHub Actions checks on every workflow (the session's one scan)."""
    assert policy_scan.workflows.parsing_errors == []
    assert policy_scan.workflows.passed > 0
    assert policy_scan.workflows.failed == []


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


def test_the_recovery_drill_runs_quarterly_in_the_dr_region_and_keeps_its_report() -> None:
    """recovery-drill.yml (docs/runbooks/disaster-recovery.md, "Drill (quarterly)"): on a
    schedule and by hand, in production's account and DR region with its own role; it
    sweeps, drills, and uploads the report even when the drill failed."""
    from kreo_infra.recovery.__main__ import DEFAULT_ENVIRONMENT

    workflow = load("recovery-drill.yml")
    on = triggers(workflow)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["workflow_dispatch"] is None  # no inputs (checkov CKV_GHA_7)
    (schedule,) = on["schedule"]
    _minute, _hour, day, months, weekday = schedule["cron"].split()
    assert (day, weekday) == ("5", "*")
    assert months == "1,4,7,10"  # once a quarter
    assert workflow["concurrency"] == {"group": "recovery-drill", "cancel-in-progress": False}

    (job,) = workflow["jobs"].values()
    config = next(c for c in load_environments(CONFIG_DIR) if c.name == DEFAULT_ENVIRONMENT)
    assert job["env"]["ENVIRONMENT"] == config.name
    assert workflow["env"]["DR_REGION"] == config.dr_region != config.region
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assume = credentials(job)
    assert assume["aws-region"] == "${{ env.DR_REGION }}"
    # Its own role (the bootstrap's delivery.drill_role), never a deploy role.
    assert assume["role-to-assume"] == ACCOUNT_ROLE + config.delivery.drill_role
    assert config.delivery.workflows.drill == ".github/workflows/recovery-drill.yml"
    assert job["timeout-minutes"] * 60 <= assume["role-duration-seconds"] <= 6 * 3600
    commands = [" ".join(run.split()) for run in runs(job)]
    assert commands[-2:] == [
        'make recovery-sweep ENV="$ENVIRONMENT"',
        'make recovery-drill ENV="$ENVIRONMENT" SUBNET_GROUP="$SUBNET_GROUP" '
        'SECURITY_GROUPS="$SECURITY_GROUPS" REPORT=recovery-drill.json '
        'SUMMARY="$GITHUB_STEP_SUMMARY"',
    ]
    assert not any(word in " ".join(commands) for word in ("git ", "gh ", "push"))
    upload = job["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "${{ !cancelled() }}"
    assert upload["with"]["path"] == "recovery-drill.json"


# --- saved plans: approvers approve the plan that gets applied ---------------------------------


def step_index(job: dict[str, Any], predicate: Any) -> int:
    matches = [i for i, step in enumerate(job["steps"]) if predicate(step)]
    assert len(matches) == 1, matches
    return matches[0]


def plan_and_apply_jobs() -> list[tuple[str, str]]:
    """``(plan job, apply job)`` pairs of infra-deploy.yml, read from the workflow: an
    apply job is any job that runs ``make apply-plans``."""
    jobs = load("infra-deploy.yml")["jobs"]
    pairs = []
    for job_id, job in jobs.items():
        if any("apply-plans" in run for run in runs(job)):
            pairs.append((job["needs"], job_id))
    return pairs


def test_every_apply_applies_the_verified_plans_of_its_plan_job(
    configs: list[EnvironmentConfig],
) -> None:
    """No job applies anything but the plan files its plan job made in the same run,
    downloaded by artifact id and verified against the digest the plan job published,
    before the deploy role's credentials exist in the job."""
    jobs = load("infra-deploy.yml")["jobs"]
    by_name = {c.name: c for c in configs}
    pairs = plan_and_apply_jobs()
    assert [apply for _, apply in pairs] == [job for job, *_ in DEPLOY_JOBS]
    for plan_id, apply_id in pairs:
        plan, apply = jobs[plan_id], jobs[apply_id]
        assert plan_id == f"{apply_id}-plan"
        # The plan job publishes the manifest's digest and the artifact's id.
        assert plan["outputs"] == {
            "digest": "${{ steps.bundle.outputs.digest }}",
            "artifact-id": "${{ steps.upload.outputs.artifact-id }}",
        }
        plan_step = step_index(plan, lambda s: "make plan-phase" in s.get("run", ""))
        bundle = step_index(plan, lambda s: s.get("id") == "bundle")
        assert plan["steps"][bundle]["run"] == (
            'echo "digest=$(make --no-print-directory bundle-plans)" >> "$GITHUB_OUTPUT"'
        )
        upload = step_index(plan, lambda s: s.get("id") == "upload")
        assert plan["steps"][upload]["uses"].startswith("actions/upload-artifact@")
        assert plan["steps"][upload]["with"]["path"] == "plan-bundle"
        assert plan["steps"][upload]["with"]["include-hidden-files"] is True
        assert plan["steps"][upload]["with"]["if-no-files-found"] == "error"
        summary = step_index(plan, lambda s: "kreo_infra.review.plan" in s.get("run", ""))
        assert "$GITHUB_STEP_SUMMARY" in plan["steps"][summary]["run"]
        assert plan_step < summary < bundle < upload, plan_id

        download = step_index(apply, lambda s: "download-artifact" in s.get("uses", ""))
        assert apply["steps"][download]["with"] == {
            "artifact-ids": f"${{{{ needs.{plan_id}.outputs.artifact-id }}}}",
            "path": "plan-bundle",
        }
        verify = step_index(apply, lambda s: "make verify-plans" in s.get("run", ""))
        assert apply["steps"][verify]["run"] == 'make verify-plans DIGEST="$DIGEST"'
        assert apply["steps"][verify]["env"] == {
            "DIGEST": f"${{{{ needs.{plan_id}.outputs.digest }}}}"
        }
        assume = step_index(apply, lambda s: "configure-aws-credentials" in s.get("uses", ""))
        applies = step_index(apply, lambda s: "make apply-plans" in s.get("run", ""))
        converged = step_index(apply, lambda s: "make converged" in s.get("run", ""))
        assert download < verify < assume < applies < converged, apply_id
        # The one exception, documented in docs/operations.md: on a first deploy a
        # deferred stack is planned and applied in the job, only if it only creates.
        # A recovery's stacks are always a first deploy (none has state before it).
        environment = next(env for job, _, env, _ in DEPLOY_JOBS if job == apply_id)
        recovers = by_name[environment].recovery_of is not None
        first = "true" if recovers else "${{ inputs.first_deploy }}"
        assert apply["steps"][applies]["env"] == {"FIRST_DEPLOY": first}
        # Nothing applies but apply-plans (apply-plan, first-deploy-stack are its parts).
        for index, run in enumerate(s.get("run", "") for s in apply["steps"]):
            if index != applies:
                assert "apply-plan" not in run, apply_id
                assert "first-deploy-stack" not in run, apply_id


def test_apply_jobs_are_gated_and_plan_jobs_are_not(configs: list[EnvironmentConfig]) -> None:
    """The deploy roles trust only jobs in their GitHub environment, the plan role only jobs
    in none (kreo_infra.delivery.github): an apply job is in its environment, and each of
    the gated ones' (``delivery.approver_teams``: production's and its recovery's) needs
    its plan job, whose summary the reviewers read; a plan job has no environment and
    never the deploy role."""
    jobs = load("infra-deploy.yml")["jobs"]
    plan_jobs = {
        job_id
        for job_id, job in jobs.items()
        if any("make plan-phase" in run or "make plan " in run for run in runs(job))
    }
    assert plan_jobs == {job for job, *_ in PLANS}
    deploy_roles = {c.deploy_role for c in configs}
    for job_id in plan_jobs:
        assert "environment" not in jobs[job_id], job_id
        role = credentials(jobs[job_id])["role-to-assume"].rsplit("/", 1)[-1]
        assert role == configs[0].delivery.plan_role, job_id
        assert role not in deploy_roles, job_id
    for plan_id, apply_id in plan_and_apply_jobs():
        name = jobs[apply_id]["environment"]
        assert jobs[plan_id]["env"]["ENVIRONMENT"] == name
        assert jobs[apply_id]["needs"] == plan_id
        assert "plan-phase" not in " ".join(runs(jobs[apply_id])), apply_id
    approvers = configs[0].delivery.approver_teams
    gated = {job for job, _, name, _ in DEPLOY_JOBS if approvers.get(name)}
    assert gated
    # Every recovery's apply jobs are among them (its approvers: a disaster's deploy).
    recoveries = {c.name for c in configs if c.recovery_of is not None}
    assert {job for job, _, name, _ in DEPLOY_JOBS if name in recoveries} <= gated


# --- zizmor -------------------------------------------------------------------------------------

ZIZMOR = Path(sys.executable).parent / "zizmor"


def test_zizmor_finds_nothing() -> None:
    """zizmor (static analysis of GitHub Actions) with its strictest persona, ``auditor``:
    no finding of any severity; a workflow it cannot parse fails (--strict-collection)
    instead of being skipped. https://docs.zizmor.sh/usage/"""
    result = subprocess.run(
        [
            str(ZIZMOR),
            *("--offline", "--persona", "auditor", "--strict-collection"),
            *("--format", "json", str(WORKFLOWS)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], [(f["ident"], f["desc"]) for f in findings]
    assert result.returncode == 0, result.stderr


def test_zizmor_ignores_carry_their_reason() -> None:
    """An ignore comment is allowed only with a comment just above it that names the audit
    and says why."""
    for path in WORKFLOWS.iterdir():
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            if "zizmor: ignore[" in line:
                audit = re.search(r"zizmor: ignore\[([a-z-]+)\]", line)[1]
                above = "\n".join(lines[max(0, index - 4) : index])
                assert audit in above, f"{path.name}:{index + 1}"
                assert len(above) > 80, f"{path.name}:{index + 1}: say why"


# --- the Makefile's saved-plan targets, run on a scratch directory -----------------------------


def make(*args: str, path: str | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """``make`` in the project, never remaking ``install`` (no pipenv or npm here)."""
    # Set, so the Makefile does not ask pip for its index (seconds per call); unused here.
    env = {"PIP_INDEX_URL": "unused", **os.environ}
    if path:
        env["PATH"] = f"{path}:{env['PATH']}"
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "install", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=check,
        env=env,
    )


@pytest.fixture
def planned(tmp_path: Path) -> dict[str, Path]:
    stacks = tmp_path / "stacks"
    for stack, status in (("kreo-x-base", "2"), ("kreo-x-network", "0")):
        (stacks / stack / ".terraform" / "providers").mkdir(parents=True)
        (stacks / stack / ".terraform" / "providers" / "huge").write_text("provider binary")
        (stacks / stack / ".terraform.lock.hcl").write_text("# locks\n")
        (stacks / stack / "cdk.tf.json").write_text("{}\n")
        (stacks / stack / "plan.status").write_text(f"{status}\n")
        (stacks / stack / "plan.tfplan").write_bytes(b"PK\x03\x04 plan")
    (stacks / "kreo-x-base" / "assets").mkdir()
    (stacks / "kreo-x-base" / "assets" / "chart.tgz").write_bytes(b"chart")
    plan_list = tmp_path / "plan-stacks.txt"
    plan_list.write_text("kreo-x-base\nkreo-x-network\n")
    return {"stacks": stacks, "list": plan_list, "bundle": tmp_path / "bundle", "tmp": tmp_path}


def bundle(planned: dict[str, Path]) -> str:
    result = make(
        "bundle-plans",
        f"STACKS_DIR={planned['stacks']}",
        f"PLAN_LIST={planned['list']}",
        f"BUNDLE={planned['bundle']}",
        check=True,
    )
    return result.stdout.strip()


def verify(planned: dict[str, Path], digest: str) -> subprocess.CompletedProcess:
    return make(
        "verify-plans",
        f"BUNDLE={planned['bundle']}",
        f"DIGEST={digest}",
        f"STACKS_DIR={planned['tmp'] / 'restored'}",
        f"PLAN_LIST={planned['tmp'] / 'restored.txt'}",
    )


def test_bundle_holds_the_plans_and_their_manifest_without_providers(
    planned: dict[str, Path],
) -> None:
    digest = bundle(planned)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    root = planned["bundle"]
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == sorted(
        [
            "SHA256SUMS",
            "STACKS",
            "stacks/kreo-x-base/.terraform.lock.hcl",
            "stacks/kreo-x-base/assets/chart.tgz",
            "stacks/kreo-x-base/cdk.tf.json",
            "stacks/kreo-x-base/plan.status",
            "stacks/kreo-x-base/plan.tfplan",
            "stacks/kreo-x-network/.terraform.lock.hcl",
            "stacks/kreo-x-network/cdk.tf.json",
            "stacks/kreo-x-network/plan.status",
            "stacks/kreo-x-network/plan.tfplan",
        ]
    )
    import hashlib

    assert hashlib.sha256((root / "SHA256SUMS").read_bytes()).hexdigest() == digest
    named = {line.split("  ", 1)[1] for line in (root / "SHA256SUMS").read_text().splitlines()}
    assert named == set(files) - {"SHA256SUMS"}


def test_verified_bundle_is_restored(planned: dict[str, Path]) -> None:
    result = verify(planned, bundle(planned))
    assert result.returncode == 0, result.stderr
    restored = planned["tmp"] / "restored"
    assert (restored / "kreo-x-base" / "plan.tfplan").read_bytes() == b"PK\x03\x04 plan"
    assert (planned["tmp"] / "restored.txt").read_text() == planned["list"].read_text()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("changed plan", "a planned file differs from the manifest"),
        ("added file", "holds files the manifest does not name"),
        ("removed file", "a planned file differs from the manifest"),
        ("rewritten manifest", "is not the one the plan job made"),
        ("another digest", "is not the one the plan job made"),
        ("no digest", "DIGEST=<sha256 of SHA256SUMS> needed"),
    ],
)
def test_verify_refuses_a_bundle_that_is_not_the_plan_jobs(
    planned: dict[str, Path], tamper: str, message: str
) -> None:
    digest = bundle(planned)
    root = planned["bundle"]
    base = root / "stacks" / "kreo-x-base"
    if tamper == "changed plan":
        (base / "plan.tfplan").write_bytes(b"PK\x03\x04 another plan")
    elif tamper == "added file":
        (base / "override.tf.json").write_text("{}")
    elif tamper == "removed file":
        (base / "plan.tfplan").unlink()
    elif tamper == "rewritten manifest":
        (base / "plan.tfplan").write_bytes(b"PK\x03\x04 another plan")
        names = sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and p.name != "SHA256SUMS"
        )
        sums = subprocess.run(
            ["sha256sum", *names], cwd=root, capture_output=True, text=True, check=True
        )
        (root / "SHA256SUMS").write_text(sums.stdout)
    elif tamper == "another digest":
        digest = "0" * 64
    elif tamper == "no digest":
        digest = ""
    result = verify(planned, digest)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (planned["tmp"] / "restored").exists()


def test_apply_plan_needs_a_plan_file(planned: dict[str, Path]) -> None:
    result = make("apply-plan", "ENV=x", "STACK=network", f"STACKS_DIR={planned['tmp']}/none")
    assert result.returncode == 2
    assert "no plan file" in result.stderr


def test_apply_plans_skips_unchanged_and_deferred_stacks(planned: dict[str, Path]) -> None:
    (planned["stacks"] / "kreo-x-base" / "plan.status").write_text("deferred\n")
    result = make(
        "apply-plans", "ENV=x", f"STACKS_DIR={planned['stacks']}", f"PLAN_LIST={planned['list']}"
    )
    assert result.returncode == 0, result.stderr
    assert "::warning::kreo-x-base was deferred: nothing applied" in result.stdout
    assert "kreo-x-network: no changes" in result.stdout
    (planned["stacks"] / "kreo-x-network" / "plan.status").unlink()
    result = make(
        "apply-plans", "ENV=x", f"STACKS_DIR={planned['stacks']}", f"PLAN_LIST={planned['list']}"
    )
    assert result.returncode != 0
    assert "kreo-x-network: no plan status" in result.stderr


FAKE_TERRAFORM = """#!/bin/sh
# A stand-in for terraform: the first stack has changes, the second fails to plan
# (as one reading an output the first has yet to create would), the rest have none.
stack=$(basename "$PWD")
case "$1" in
init) exit 0 ;;
show) echo "Plan: 1 to add, 0 to change, 0 to destroy."; exit 0 ;;
plan)
  for arg in "$@"; do echo "$arg" >> ../args-$stack; done
  case "$stack" in
  "$FIRST") touch plan.tfplan; exit 2 ;;
  "$SECOND") echo "Error: Unsupported attribute" >&2; exit 1 ;;
  *) touch plan.tfplan; exit 0 ;;
  esac ;;
esac
"""


@pytest.fixture
def fake_terraform(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(FAKE_TERRAFORM)
    (bin_dir / "terraform").chmod(0o755)
    return bin_dir


def phase_stacks(config: EnvironmentConfig) -> list[str]:
    from kreo_infra.layers import environment_stacks

    return list(environment_stacks(config, "infrastructure"))


def plan_phase(config: EnvironmentConfig, tmp_path: Path, fake: Path, first: str, second: str):
    stacks = tmp_path / "stacks"
    for stack in phase_stacks(config):
        (stacks / stack).mkdir(parents=True)
    os.environ["FIRST"], os.environ["SECOND"] = first, second
    try:
        return make(
            "plan-phase",
            f"ENV={config.name}",
            "PHASE=infrastructure",
            "NO_SYNTH=1",
            "LOCK=false",
            f"STACKS_DIR={stacks}",
            f"PLAN_LIST={tmp_path / 'plan-stacks.txt'}",
            path=str(fake),
        )
    finally:
        del os.environ["FIRST"], os.environ["SECOND"]


def test_plan_phase_plans_in_order_without_the_lock_and_defers_after_changes(
    configs: list[EnvironmentConfig], tmp_path: Path, fake_terraform: Path
) -> None:
    config = configs[0]
    order = phase_stacks(config)
    result = plan_phase(config, tmp_path, fake_terraform, order[0], order[1])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plan-stacks.txt").read_text().split() == order
    status = {s: (tmp_path / "stacks" / s / "plan.status").read_text().strip() for s in order}
    assert status == {order[0]: "2", order[1]: "deferred", **dict.fromkeys(order[2:], "0")}
    assert not (tmp_path / "stacks" / order[1] / "plan.tfplan").exists()
    assert f"{order[1]} deferred" in result.stderr
    args = (tmp_path / "stacks" / f"args-{order[0]}").read_text().split()
    assert {"-lock=false", "-out=plan.tfplan", "-detailed-exitcode"} <= set(args)
    # The plan role's plans do not refresh: it may not read the write-only secret
    # versions' values, which provider 6.25's refresh reads (Makefile, REFRESH).
    assert "-refresh=false" in args


def test_plan_phase_fails_when_nothing_before_explains_the_failure(
    configs: list[EnvironmentConfig], tmp_path: Path, fake_terraform: Path
) -> None:
    config = configs[0]
    order = phase_stacks(config)
    # The first stack has no changes (FIRST names none), the second fails: an error.
    result = plan_phase(config, tmp_path, fake_terraform, "none", order[1])
    assert result.returncode != 0
    assert not (tmp_path / "stacks" / order[1] / "plan.status").exists()


# --- dependency updates (renovate.yml; docs/operations.md, "Dependency updates") ----------


def test_renovate_runs_weekly_in_its_environment(configs: list[EnvironmentConfig]) -> None:
    workflow = load("renovate.yml")
    on = triggers(workflow)
    assert set(on) == {"schedule", "workflow_dispatch"}
    (schedule,) = on["schedule"]
    _, hour, day, month, weekday = schedule["cron"].split()
    # Weekly, Monday early UTC; renovate.json5 has no schedule of its own.
    assert (day, month, weekday) == ("*", "*", "1")
    assert int(hour) < 6
    job = workflow["jobs"]["renovate"]
    assert job["environment"] == configs[0].delivery.update_environment
    assert job["if"] == "vars.RENOVATE_APP_CLIENT_ID != ''"  # no App yet: nothing to run
    assert job["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_renovate_gets_its_token_only_after_everything_is_installed() -> None:
    """No install step holds the App token: it is made after `make install
    renovate-install`, and only `make renovate` reads it."""
    steps = load("renovate.yml")["jobs"]["renovate"]["steps"]
    (token,) = [i for i, s in enumerate(steps) if "create-github-app-token" in s.get("uses", "")]
    (install,) = [i for i, s in enumerate(steps) if "renovate-install" in s.get("run", "")]
    assert install < token
    assert "make install" in steps[install]["run"]
    app = steps[token]["with"]
    assert app["private-key"] == "${{ secrets.RENOVATE_APP_PRIVATE_KEY }}"
    assert {k for k in app if k.startswith("permission-")} == {
        "permission-contents",
        "permission-pull-requests",
        "permission-issues",
        "permission-workflows",
        "permission-statuses",
        "permission-checks",
        "permission-vulnerability-alerts",
    }
    # Renovate's required permissions for a GitHub App: commit statuses (write) and
    # checks (read) besides contents, pull requests, issues and workflows.
    assert app["permission-statuses"] == "write"
    assert app["permission-checks"] == "read"
    assert app["permission-vulnerability-alerts"] == "read"  # security-fix PRs
    readers = [s for s in steps if "steps.app-token.outputs.token" in json.dumps(s)]
    assert [s.get("run") for s in readers] == ["make renovate"]
    assert steps.index(readers[0]) == len(steps) - 1


def test_pull_requests_check_renovate_and_report_even_when_tests_fail() -> None:
    ci = load("infra-ci.yml")["jobs"]
    runs = [s.get("run") for s in ci["test"]["steps"]]
    assert "make renovate-check" in runs
    # A dependency bump's review report shows even when a test fails.
    assert "needs" not in ci["review"]
    ci_run = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake renovate-check\n" in ci_run


@pytest.mark.parametrize("job", ["plan-infrastructure", "plan-workloads"])
def test_a_bots_pull_request_plans_only_in_the_plan_approved_labels_run(job: str) -> None:
    """The plan jobs install the pull request's lock files beside the plan role's
    credentials: a dependency bot's pull request waits for a reviewer's label."""
    condition = " ".join(load("infra-ci.yml")["jobs"][job]["if"].split())
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    # The label's own run, not its presence: a push to the labelled branch does not plan.
    assert (
        "&& (github.event.pull_request.user.type != 'Bot' "
        "|| (github.event.action == 'labeled' && github.event.label.name == 'plan-approved'))"
    ) in condition
    assert "labels.*.name, 'plan-approved'" not in condition
    assert "labeled" in triggers(load("infra-ci.yml"))["pull_request"]["types"]
