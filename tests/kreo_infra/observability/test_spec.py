"""AlarmSpec: its defaults and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from kreo_infra.observability.spec import AlarmSpec, Ratio

REQUIRED: dict[str, Any] = {
    "id": "x",
    "description": "d",
    "namespace": "N",
    "metric": "M",
    "dimensions": {"D": "v"},
    "statistic": "Average",
    "comparison": "GreaterThanThreshold",
    "threshold": 1,
}


def test_defaults_five_minute_periods_three_in_a_row_in_the_stacks_region() -> None:
    spec = AlarmSpec(**REQUIRED)
    assert (spec.period, spec.evaluation_periods) == (300, 3)
    assert spec.missing_data == "missing"
    assert spec.region is None


@pytest.mark.parametrize("period", [10, 20, 30, 60, 3600])
def test_periods_cloudwatch_accepts(period: int) -> None:
    assert AlarmSpec(**REQUIRED, period=period).period == period


@pytest.mark.parametrize("period", [0, 15, 90, -60])
def test_period_refused(period: int) -> None:
    with pytest.raises(PropsError, match=rf"period={period}.*multiple of 60"):
        AlarmSpec(**REQUIRED, period=period)


def test_evaluation_periods_refused() -> None:
    with pytest.raises(PropsError, match="evaluation_periods=0"):
        AlarmSpec(**REQUIRED, evaluation_periods=0)


@pytest.mark.parametrize(("period", "longest", "limit"), [(300, 288, 86_400), (3600, 168, 604_800)])
def test_evaluation_window_capped(period: int, longest: int, limit: int) -> None:
    """One day of periods under an hour, seven days of hourly ones (PutMetricAlarm)."""
    assert AlarmSpec(**REQUIRED, period=period, evaluation_periods=longest)
    with pytest.raises(PropsError, match=f"within {limit} seconds"):
        AlarmSpec(**REQUIRED, period=period, evaluation_periods=longest + 1)


def test_ratio_compares_sums() -> None:
    ratio = {**REQUIRED, "metric": Ratio(numerator="E", denominator="R")}
    assert AlarmSpec(**{**ratio, "statistic": "Sum"}).metric == Ratio("E", "R")
    with pytest.raises(PropsError, match=r"statistic='Average'.*'Sum'"):
        AlarmSpec(**ratio)
