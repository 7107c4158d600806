"""kreo_infra.alerting.topic: AlarmTopic defaults and input validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="eu-west-1")


def test_topic_in_another_region_scopes_its_policy_there(stack: Any) -> None:
    from kreo_infra.alerting.topic import AlarmTopic

    AlarmTopic(stack, "t", name="t", emails=["a@kreo.com"], account=ACCOUNT, region="us-east-1")
    resources = synth_stack(stack)["resource"]
    (topic,) = resources["aws_sns_topic"].values()
    assert topic["region"] == "us-east-1"
    (policy,) = resources["aws_sns_topic_policy"].values()
    allow = json.loads(policy["policy"])["Statement"][0]
    assert allow["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"
    }


def test_topic_with_a_pager(stack: Any) -> None:
    from kreo_infra.alerting.topic import AlarmTopic

    AlarmTopic(
        stack,
        "t",
        name="t",
        emails=["a@kreo.com"],
        account=ACCOUNT,
        pager_url="https://p.example/x",
    )
    protocols = sorted(
        s["protocol"] for s in synth_stack(stack)["resource"]["aws_sns_topic_subscription"].values()
    )
    assert protocols == ["email", "https"]


@pytest.mark.parametrize(
    ("props", "message"),
    [({"emails": []}, "name at least one address"), ({"pager_url": "http://p"}, "https://")],
)
def test_topic_validated(stack: Any, props: dict[str, Any], message: str) -> None:
    from kreo_infra.alerting.topic import AlarmTopic

    with pytest.raises(PropsError, match=message):
        AlarmTopic(
            stack, "t", **{"name": "t", "emails": ["a@kreo.com"], "account": ACCOUNT, **props}
        )
