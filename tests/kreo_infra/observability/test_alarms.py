"""AlarmSet: every AlarmSpec becomes one alarm notifying the topic of its region."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from kreo_infra.observability.spec import AlarmSpec, Ratio
from tests.conftest import synth_stack

METRIC = AlarmSpec(
    id="x",
    description="d",
    namespace="N",
    metric="M",
    dimensions={"D": "v"},
    statistic="Average",
    comparison="GreaterThanThreshold",
    threshold=1,
)


def alarms(stack: Any) -> dict[str, dict[str, Any]]:
    return {
        body["alarm_name"]: body
        for body in synth_stack(stack)["resource"]["aws_cloudwatch_metric_alarm"].values()
    }


def test_metric_alarm(stack: Any) -> None:
    from kreo_infra.observability.alarms import AlarmSet

    AlarmSet(stack, "a", prefix="kreo", topic_arn="arn:topic").add(METRIC)
    alarm = alarms(stack)["kreo-x"]
    assert alarm["alarm_description"] == "d"
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("N", "M", "Average")
    assert alarm["dimensions"] == {"D": "v"}
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanThreshold", 1)
    assert (alarm["period"], alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (
        300,
        3,
        3,
    )
    assert alarm["treat_missing_data"] == "missing"
    assert alarm["alarm_actions"] == alarm["ok_actions"] == ["arn:topic"]
    assert "region" not in alarm  # the default: the stack's region


def test_ratio_alarm_is_metric_math_on_sums(stack: Any) -> None:
    from kreo_infra.observability.alarms import AlarmSet

    spec = AlarmSpec(
        id="rate",
        description="d",
        namespace="N",
        metric=Ratio(numerator="Errors", denominator="Requests"),
        dimensions={"D": "v"},
        statistic="Sum",
        comparison="GreaterThanThreshold",
        threshold=5,
        period=60,
        evaluation_periods=2,
        missing_data="notBreaching",
    )
    AlarmSet(stack, "a", prefix="kreo", topic_arn="arn:topic").add(spec)
    alarm = alarms(stack)["kreo-rate"]
    assert "metric_name" not in alarm
    assert "statistic" not in alarm
    assert (alarm["threshold"], alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (
        5,
        2,
        2,
    )
    assert alarm["treat_missing_data"] == "notBreaching"
    errors, requests, rate = alarm["metric_query"]
    for query, metric in ((errors, "Errors"), (requests, "Requests")):
        assert query["return_data"] is False
        assert query["metric"] == {
            "namespace": "N",
            "metric_name": metric,
            "dimensions": {"D": "v"},
            "stat": "Sum",
            "period": 60,
        }
    assert rate["expression"] == f"100 * FILL({errors['id']}, 0) / {requests['id']}"
    assert rate["label"] == "Errors per Requests (%)"
    assert rate["return_data"] is True


def test_alarm_in_another_region_notifies_that_regions_topic(stack: Any) -> None:
    from dataclasses import replace

    from kreo_infra.observability.alarms import AlarmSet

    regional = {"us-east-1": "arn:east"}
    AlarmSet(stack, "a", prefix="k", topic_arn="arn:topic", regional_topic_arns=regional).add(
        replace(METRIC, region="us-east-1")
    )
    alarm = alarms(stack)["k-x"]
    assert alarm["region"] == "us-east-1"
    assert alarm["alarm_actions"] == alarm["ok_actions"] == ["arn:east"]


def test_alarm_in_a_region_without_a_topic_refused(stack: Any) -> None:
    from dataclasses import replace

    from kreo_infra.observability.alarms import AlarmSet

    alarm_set = AlarmSet(stack, "a", prefix="k", topic_arn="arn:topic")
    with pytest.raises(PropsError, match=r"x\.region='us-east-1'.*have: \[\]"):
        alarm_set.add(replace(METRIC, region="us-east-1"))


def test_alarm_ids_are_unique(stack: Any) -> None:
    from kreo_infra.observability.alarms import AlarmSet

    alarm_set = AlarmSet(stack, "a", prefix="kreo", topic_arn="arn:topic")
    alarm_set.add(METRIC)
    with pytest.raises(PropsError, match="id='x'"):
        alarm_set.add(METRIC)


def test_alarms_kept_by_id_in_the_order_added(stack: Any) -> None:
    from dataclasses import replace

    from kreo_infra.observability.alarms import AlarmSet

    alarm_set = AlarmSet(stack, "a", prefix="kreo", topic_arn="arn:topic")
    added = [alarm_set.add(replace(METRIC, id=i)) for i in ("b", "a", "c")]
    assert list(alarm_set.alarms) == ["b", "a", "c"]
    assert list(alarm_set.alarms.values()) == added
