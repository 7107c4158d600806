"""AlarmSpec: one CloudWatch alarm as data, before any construct exists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kreo_infra.errors import PropsError

Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
Statistic = Literal["Average", "Minimum", "Maximum", "Sum", "SampleCount"]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]

PERIOD_SECONDS = 300
"""Five-minute periods: the resolution of the AWS service metrics alarmed on."""

EVALUATION_PERIODS = 3
"""An alarm fires after 3 of 3 breaching periods (15 minutes): no page for a blip."""

HIGH_RESOLUTION_PERIODS = (10, 20, 30)
"""The periods under a minute CloudWatch accepts; longer ones are whole minutes
(PutMetricAlarm, ``Period``: "10, 20, 30, and any multiple of 60")."""

MAX_EVALUATION_SECONDS = 86_400
"""``period`` x ``evaluation_periods`` of an alarm with a period under an hour: at
most one day (PutMetricAlarm, ``EvaluationPeriods``)."""

MAX_EVALUATION_SECONDS_HOURLY = 7 * 86_400
"""The same for a period of an hour or more: at most seven days."""


@dataclass(frozen=True)
class Ratio:
    """The percentage ``100 * numerator / denominator`` of two metrics of one
    namespace and dimensions (metric math; periods without ``numerator`` data
    count as 0)."""

    numerator: str
    denominator: str


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: ``statistic`` of ``metric`` (or, for a ``Ratio``, of each of its
    two metrics) per ``period`` seconds, compared with ``threshold``.

    It fires after ``evaluation_periods`` breaching periods in a row (default
    3 of 5 minutes, ``EVALUATION_PERIODS``/``PERIOD_SECONDS``). ``missing_data``
    says how a period without data counts (default ``"missing"``: it neither
    breaches nor clears). ``region`` is where the metric lives (default None:
    the stack's region); an alarm there notifies the topic of that region.
    ``id`` names the alarm's construct and, after the prefix, the alarm.
    """

    id: str
    description: str
    namespace: str
    metric: str | Ratio
    dimensions: Mapping[str, str]
    statistic: Statistic
    comparison: Comparison
    threshold: float
    period: int = PERIOD_SECONDS
    evaluation_periods: int = EVALUATION_PERIODS
    missing_data: MissingData = "missing"
    region: str | None = None

    def __post_init__(self) -> None:
        if not (
            self.period in HIGH_RESOLUTION_PERIODS or (self.period > 0 and self.period % 60 == 0)
        ):
            raise PropsError(
                "AlarmSpec",
                "period",
                self.period,
                f"use {' or '.join(map(str, HIGH_RESOLUTION_PERIODS))} or a multiple of 60 seconds",
            )
        if self.evaluation_periods < 1:
            raise PropsError(
                "AlarmSpec", "evaluation_periods", self.evaluation_periods, "use 1 or more"
            )
        limit = MAX_EVALUATION_SECONDS_HOURLY if self.period >= 3600 else MAX_EVALUATION_SECONDS
        if self.period * self.evaluation_periods > limit:
            raise PropsError(
                "AlarmSpec",
                "evaluation_periods",
                self.evaluation_periods,
                f"keep period x evaluation_periods within {limit} seconds (period {self.period})",
            )
        # The ratio's expression divides the sums of its metrics over a period;
        # any other statistic would give a percentage of nothing meaningful.
        if isinstance(self.metric, Ratio) and self.statistic != "Sum":
            raise PropsError(
                "AlarmSpec", "statistic", self.statistic, "a Ratio compares sums: use 'Sum'"
            )
