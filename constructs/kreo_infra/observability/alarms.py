"""CloudWatch alarms built from AlarmSpecs, notifying a topic when they fire and clear."""

from __future__ import annotations

from collections.abc import Mapping

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from constructs import Construct

from kreo_infra.errors import PropsError
from kreo_infra.observability.spec import AlarmSpec, Ratio

RATIO_EXPRESSION = "100 * FILL(errors, 0) / requests"
"""A Ratio's percentage; a period without numerator data (no errors) counts as 0."""


class AlarmSet(Construct):
    """Alarms named ``<prefix>-<spec id>``, each notifying a topic on ALARM and on OK.

    ``add`` turns one ``AlarmSpec`` into an alarm (a child construct with the
    spec's id). An alarm notifies ``topic_arn``, or, when its spec names a
    region, the topic ``regional_topic_arns`` gives for that region (CloudWatch
    alarms notify topics of their own region; default: none, so every spec
    must be in the stack's region). ``alarms`` maps every id to its alarm, in
    the order added, for tests and the dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        topic_arn: str,
        regional_topic_arns: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.prefix = prefix
        self.topic_arn = topic_arn
        self.regional_topic_arns = dict(regional_topic_arns or {})
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}

    def _topic_arn(self, spec: AlarmSpec) -> str:
        if spec.region is None:
            return self.topic_arn
        if spec.region not in self.regional_topic_arns:
            raise PropsError(
                "AlarmSet",
                f"{spec.id}.region",
                spec.region,
                "an alarm notifies a topic of its own region; give regional_topic_arns one "
                f"for it (have: {sorted(self.regional_topic_arns)})",
            )
        return self.regional_topic_arns[spec.region]

    def add(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        """The alarm ``spec`` describes: on one metric, or on a ``Ratio`` of two."""
        if spec.id in self.alarms:
            raise PropsError("AlarmSet", "id", spec.id, "give every alarm its own id")
        topic = self._topic_arn(spec)
        common = {
            "alarm_name": f"{self.prefix}-{spec.id}",
            "alarm_description": spec.description,
            "comparison_operator": spec.comparison,
            "threshold": spec.threshold,
            "evaluation_periods": spec.evaluation_periods,
            "datapoints_to_alarm": spec.evaluation_periods,
            "treat_missing_data": spec.missing_data,
            "alarm_actions": [topic],
            "ok_actions": [topic],
            "region": spec.region,
        }
        if isinstance(spec.metric, Ratio):
            alarm = CloudwatchMetricAlarm(
                self, spec.id, metric_query=_ratio_queries(spec, spec.metric), **common
            )
        else:
            alarm = CloudwatchMetricAlarm(
                self,
                spec.id,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dict(spec.dimensions),
                statistic=spec.statistic,
                period=spec.period,
                **common,
            )
        self.alarms[spec.id] = alarm
        return alarm


def _ratio_queries(spec: AlarmSpec, ratio: Ratio) -> list[CloudwatchMetricAlarmMetricQuery]:
    """Metric math: the two metrics (not alarmed on themselves) and their percentage."""

    def query(query_id: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
        return CloudwatchMetricAlarmMetricQuery(
            id=query_id,
            return_data=False,
            metric=CloudwatchMetricAlarmMetricQueryMetric(
                namespace=spec.namespace,
                metric_name=metric,
                dimensions=dict(spec.dimensions),
                stat=spec.statistic,
                period=spec.period,
            ),
        )

    return [
        query("errors", ratio.numerator),
        query("requests", ratio.denominator),
        CloudwatchMetricAlarmMetricQuery(
            id="rate",
            expression=RATIO_EXPRESSION,
            label=f"{ratio.numerator} per {ratio.denominator} (%)",
            return_data=True,
        ),
    ]
