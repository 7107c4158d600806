"""GitHub OIDC trust and roles, and the state bucket: defaults and validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


INFRA = "kreo/kreo-infra"
CI = ".github/workflows/infra-ci.yml"
DEPLOY = ".github/workflows/infra-deploy.yml"
JOB_WORKFLOW = "job_workflow_ref:kreo/kreo-infra/.github/workflows"


def test_sub_claim_keys_put_the_workflow_in_the_subject() -> None:
    from kreo_infra.delivery.github import SUB_CLAIM_KEYS

    assert SUB_CLAIM_KEYS == ("repo", "context", "job_workflow_ref")


def test_workflow_subjects_of_each_context() -> None:
    from kreo_infra.delivery.github import (
        PULL_REQUEST_CONTEXT,
        PULL_REQUEST_REFS,
        branch_context,
        environment_context,
        workflow_subject,
    )

    deploy = workflow_subject(INFRA, context=environment_context("example"), workflow_path=DEPLOY)
    assert deploy == (
        f"repo:{INFRA}:environment:example:{JOB_WORKFLOW}/infra-deploy.yml@refs/heads/main"
    )
    plan = workflow_subject(INFRA, context=branch_context(), workflow_path=DEPLOY)
    assert (
        plan == f"repo:{INFRA}:ref:refs/heads/main:{JOB_WORKFLOW}/infra-deploy.yml@refs/heads/main"
    )
    pull_request = workflow_subject(
        INFRA, context=PULL_REQUEST_CONTEXT, workflow_path=CI, ref=PULL_REQUEST_REFS
    )
    assert (
        pull_request == f"repo:{INFRA}:pull_request:{JOB_WORKFLOW}/infra-ci.yml@refs/pull/*/merge"
    )
    release = workflow_subject(
        "kreo/kreo-marketplace", context=branch_context("main"),
        workflow_path=".github/workflows/release.yml",
    )  # fmt: skip
    assert release == (
        "repo:kreo/kreo-marketplace:ref:refs/heads/main:job_workflow_ref:"
        "kreo/kreo-marketplace/.github/workflows/release.yml@refs/heads/main"
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"repository": "kreo/*"}, r"repository='kreo/\*' .* no wildcard"),
        ({"repository": "kreo"}, r"repository='kreo'"),
        ({"context": "environment:prod:v1"}, r"context='environment:prod:v1'"),
        ({"context": "environment:*"}, r"context='environment:\*'"),
        ({"context": "ref:refs/heads/*"}, r"context='ref:refs/heads/\*'"),
        ({"context": "workflow_dispatch"}, r"context='workflow_dispatch'"),
        ({"workflow_path": ".github/workflows/*.yml"}, r"workflow_path='.github/workflows/\*.yml'"),
        ({"workflow_path": "ci/infra.yml"}, r"workflow_path='ci/infra.yml' .*one file"),
        ({"ref": "refs/heads/*"}, r"ref='refs/heads/\*' .* no wildcard"),
        ({"ref": "refs/pull/*/merge"}, r"ref='refs/pull/\*/merge' .* no wildcard"),
        ({"context": "pull_request", "ref": "refs/heads/main"}, r"ref='refs/heads/main' .* pull"),
    ],
)
def test_workflow_subject_validation(props: dict[str, Any], message: str) -> None:
    from kreo_infra.delivery.github import environment_context, workflow_subject

    arguments = {
        "repository": INFRA, "context": environment_context("example"),
        "workflow_path": DEPLOY, **props,
    }  # fmt: skip
    repository = arguments.pop("repository")
    with pytest.raises(PropsError, match=rf"workflow_subject: {message}"):
        workflow_subject(repository, **arguments)


def test_parse_subject_round_trips_and_refuses_another_repositorys_workflow() -> None:
    from kreo_infra.delivery.github import parse_subject, workflow_subject

    subject = workflow_subject(INFRA, context="ref:refs/heads/main", workflow_path=DEPLOY)
    parsed = parse_subject(subject)
    assert (parsed.repository, parsed.context, parsed.workflow_path, parsed.ref) == (
        INFRA, "ref:refs/heads/main", DEPLOY, "refs/heads/main",
    )  # fmt: skip
    assert str(parsed) == subject
    foreign = subject.replace(f"job_workflow_ref:{INFRA}/", "job_workflow_ref:kreo/other/")
    with pytest.raises(PropsError, match=r"github_trust: subjects=.*\(workflow_subject\)"):
        parse_subject(foreign)


@pytest.mark.parametrize(
    "subject",
    [
        "repo:kreo/*:pull_request",
        "repo:*:pull_request",
        "kreo/kreo-infra",
        "repo:kreo:main",
        f"repo:{INFRA}:environment:*",
        f"repo:{INFRA}:pull_request:{JOB_WORKFLOW}/*.yml@refs/pull/*/merge",
        f"repo:{INFRA}:environment:example:{JOB_WORKFLOW}/infra-deploy.yml@refs/heads/*",
        f"repo:{INFRA}:ref:refs/heads/main:{JOB_WORKFLOW}/infra-deploy.yml@refs/pull/*/merge",
    ],
)
def test_trust_refuses_wildcard_or_malformed_subjects(subject: str) -> None:
    from kreo_infra.delivery.github import github_trust

    with pytest.raises(PropsError, match=r"repo:<owner>/<repo>:<context>|no wildcard|pull"):
        github_trust("arn:aws:iam::123456789012:oidc-provider/x", [subject])


def test_trust_refuses_default_subjects_once_the_transition_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kreo_infra.delivery import github

    monkeypatch.setattr(github, "ACCEPT_UNPINNED_SUBJECTS", False, raising=False)
    with pytest.raises(PropsError, match="job_workflow_ref"):
        github.github_trust("arn:provider", [f"repo:{INFRA}:environment:example"])


def test_trust_needs_subjects() -> None:
    from kreo_infra.delivery.github import github_trust

    with pytest.raises(PropsError, match=r"github_trust: subjects=\[\]"):
        github_trust("arn:provider", [])


def test_trust_pins_audience_and_exact_subjects() -> None:
    from kreo_infra.delivery.github import environment_context, github_trust, workflow_subject

    subject = workflow_subject(INFRA, context=environment_context("example"), workflow_path=DEPLOY)
    (statement,) = json.loads(github_trust("arn:provider", [subject]))["Statement"]
    assert statement["Principal"] == {"Federated": "arn:provider"}
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [subject],
        }
    }


def test_trust_matches_pull_request_refs_alone_with_string_like() -> None:
    from kreo_infra.delivery.github import (
        PULL_REQUEST_CONTEXT,
        PULL_REQUEST_REFS,
        branch_context,
        github_trust,
        workflow_subject,
    )

    pull_request = workflow_subject(
        INFRA, context=PULL_REQUEST_CONTEXT, workflow_path=CI, ref=PULL_REQUEST_REFS
    )
    main = workflow_subject(INFRA, context=branch_context(), workflow_path=DEPLOY)
    exact, like = json.loads(github_trust("arn:provider", [pull_request, main]))["Statement"]
    assert exact["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": [main],
        }
    }
    assert like["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": [pull_request]},
    }
    assert like["Sid"] != exact["Sid"]


def test_role_sessions_last_an_hour(stack: Any) -> None:

    from kreo_infra.delivery.github import GithubRole

    GithubRole(
        stack, "r", name="r", description="d", provider_arn="arn:p",
        subjects=[f"repo:{INFRA}:environment:alpha:{JOB_WORKFLOW}/infra-deploy.yml@refs/heads/main"],
        account=ACCOUNT,
    )  # fmt: skip
    (role,) = synth_stack(stack)["resource"]["aws_iam_role"].values()
    assert role["max_session_duration"] == 3600


def test_role_needs_subjects(stack: Any) -> None:
    from kreo_infra.delivery.github import GithubRole

    with pytest.raises(PropsError, match="subjects=\\[\\]"):
        GithubRole(
            stack, "r", name="r", description="d", provider_arn="arn:p", subjects=[],
            account=ACCOUNT,
        )  # fmt: skip


def test_state_access_writes_only_for_deploys() -> None:
    from kreo_infra.delivery.github import state_access

    read = state_access(bucket_arn="arn:b", key_arn="arn:k", key_prefix="p", write=False)
    write = state_access(bucket_arn="arn:b", key_arn="arn:k", key_prefix="p", write=True)
    assert [s["Sid"] for s in write] == [s["Sid"] for s in read] + ["WriteState"]
    (locks,) = [s for s in read if s["Sid"] == "TakeStateLocks"]
    assert locks["Resource"] == "arn:b/p/*.tflock"


def _state_bucket(stack: Any, days: int = 365) -> dict[str, Any]:
    from kreo_infra.delivery.state import StateBucket

    StateBucket(
        stack, "state", name="state-x", noncurrent_version_expiry_days=days, account=ACCOUNT
    )
    return synth_stack(stack)["resource"]


def test_state_versions_are_locked_in_governance_mode(stack: Any) -> None:
    body = _state_bucket(stack)
    (lock,) = body["aws_s3_bucket_object_lock_configuration"].values()
    assert lock["rule"]["default_retention"] == {"mode": "GOVERNANCE", "days": 365}
    assert any("aws_s3_bucket_versioning" in d for d in lock["depends_on"])
    # Object Lock through the configuration, not the bucket's argument (forces a new bucket).
    bucket = next(b for b in body["aws_s3_bucket"].values() if b["bucket"] == "state-x")
    assert "object_lock_enabled" not in bucket


def test_state_bucket_policy_keeps_versions_for_break_glass_only(stack: Any) -> None:
    body = _state_bucket(stack)
    policy = next(
        p for p in body["aws_s3_bucket_policy"].values() if "StateVersionsStay" in p["policy"]
    )
    (stay,) = [
        s for s in json.loads(policy["policy"])["Statement"] if s["Sid"] == "StateVersionsStay"
    ]
    assert stay["Effect"] == "Deny"
    kept = {"s3:DeleteObjectVersion", "s3:BypassGovernanceRetention",
            "s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy"}  # fmt: skip
    assert kept <= set(stay["Action"])
    assert stay["Resource"] == ["arn:aws:s3:::state-x", "arn:aws:s3:::state-x/*"]
    assert stay["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/kreo-break-glass"}
    }
    # Created after what it locks everyone out of.
    depends = " ".join(policy["depends_on"])
    for kind in ("versioning", "object_lock_configuration", "lifecycle_configuration"):
        assert f"aws_s3_bucket_{kind}" in depends


def test_state_key_guards_recovery(stack: Any) -> None:
    (key,) = _state_bucket(stack)["aws_kms_key"].values()
    assert key["tags"] == {"kreo:guards": "recovery"}


@pytest.mark.parametrize("days", [0, 36501])
def test_state_retention_validated(stack: Any, days: int) -> None:
    with pytest.raises(PropsError, match=f"noncurrent_version_expiry_days={days}"):
        _state_bucket(stack, days)
