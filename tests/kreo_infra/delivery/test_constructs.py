"""GitHub OIDC trust and roles, and the state bucket: defaults and validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


@pytest.mark.parametrize(
    "subject",
    ["repo:kreo/*:pull_request", "repo:*:pull_request", "kreo/kreo-infra", "repo:kreo:main"],
)
def test_trust_refuses_wildcard_or_malformed_subjects(subject: str) -> None:
    from kreo_infra.delivery.github import github_trust

    with pytest.raises(PropsError, match="repo:<owner>/<repo>:<context>"):
        github_trust("arn:aws:iam::123456789012:oidc-provider/x", [subject])


def test_trust_pins_audience_and_subjects() -> None:
    from kreo_infra.delivery.github import github_trust

    subject = "repo:kreo/kreo-infra:environment:example"  # a GitHub environment's gate
    (statement,) = json.loads(github_trust("arn:provider", [subject]))["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [subject],
    }


def test_role_sessions_last_an_hour(stack: Any) -> None:

    from kreo_infra.delivery.github import GithubRole

    GithubRole(
        stack, "r", name="r", description="d", provider_arn="arn:p",
        subjects=["repo:kreo/kreo-infra:pull_request"], account=ACCOUNT,
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
