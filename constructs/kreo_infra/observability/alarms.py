"""CloudWatch alarms that notify one topic when they fire and when they clear."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from constructs import Construct

from kreo_infra.errors import PropsError

Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]

PERIOD_SECONDS = 300
"""Five-minute periods: the resolution of the AWS service metrics alarmed on."""

EVALUATION_PERIODS = 3
"""An alarm fires after 3 of 3 breaching periods (15 minutes): no page for a blip."""


class AlarmSet(Construct):
    """Alarms named ``<prefix>-<id>``, each notifying ``topic_arn`` on ALARM and on OK.

    ``metric`` adds a threshold on one metric; ``ratio`` one on the percentage
    ``100 * numerator / denominator`` of two metrics (metric math). ``alarms``
    maps every id to its alarm, for tests and the dashboard.
    """

    def __init__(self, scope: Construct, id: str, *, prefix: str, topic_arn: str) -> None:
        super().__init__(scope, id)
        self.prefix = prefix
        self.topic_arn = topic_arn
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}

    def _check(self, id: str) -> None:
        if id in self.alarms:
            raise PropsError("AlarmSet", "id", id, "give every alarm its own id")

    def metric(
        self,
        id: str,
        *,
        description: str,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, str],
        statistic: str,
        comparison: Comparison,
        threshold: float,
        period: int = PERIOD_SECONDS,
        evaluation_periods: int = EVALUATION_PERIODS,
        missing_data: MissingData = "missing",
        topic_arn: str | None = None,
        region: str | None = None,
    ) -> CloudwatchMetricAlarm:
        """An alarm on ``statistic`` of one metric compared with ``threshold``."""
        self._check(id)
        topic = topic_arn or self.topic_arn
        alarm = CloudwatchMetricAlarm(
            self,
            id,
            alarm_name=f"{self.prefix}-{id}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=statistic,
            comparison_operator=comparison,
            threshold=threshold,
            period=period,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=missing_data,
            alarm_actions=[topic],
            ok_actions=[topic],
            region=region,
        )
        self.alarms[id] = alarm
        return alarm

    def ratio(
        self,
        id: str,
        *,
        description: str,
        namespace: str,
        numerator: str,
        denominator: str,
        dimensions: Mapping[str, str],
        threshold_percent: float,
        period: int = PERIOD_SECONDS,
        evaluation_periods: int = EVALUATION_PERIODS,
    ) -> CloudwatchMetricAlarm:
        """An alarm when ``100 * sum(numerator) / sum(denominator)`` exceeds a percentage."""
        self._check(id)

        def query(query_id: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
            return CloudwatchMetricAlarmMetricQuery(
                id=query_id,
                return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=namespace,
                    metric_name=metric,
                    dimensions=dict(dimensions),
                    stat="Sum",
                    period=period,
                ),
            )

        alarm = CloudwatchMetricAlarm(
            self,
            id,
            alarm_name=f"{self.prefix}-{id}",
            alarm_description=description,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold_percent,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data="notBreaching",  # no requests, no errors
            metric_query=[
                query("errors", numerator),
                query("requests", denominator),
                CloudwatchMetricAlarmMetricQuery(
                    id="rate",
                    expression="100 * FILL(errors, 0) / requests",
                    label=f"{numerator} per {denominator} (%)",
                    return_data=True,
                ),
            ],
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
        )
        self.alarms[id] = alarm
        return alarm
