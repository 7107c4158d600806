"""The EKS support table (kreo_infra/config/eks.py) against the calendar and the config.

Every environment of config/ must be off a Kubernetes version well before EKS ends
its standard support: from :data:`UPGRADE_NOTICE_DAYS` before that date this module
fails, naming the environment, the version and the date, so the upgrade
(docs/operations.md) starts while there is time for it. Versions EKS no longer
supports in standard support are refused by config validation outright.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from kreo_infra.config import ConfigError, EnvironmentConfig, load_environment
from kreo_infra.config.eks import EKS_STANDARD_SUPPORT, UPGRADE_NOTICE_DAYS
from tests.kreo_infra.config.conftest import APEX_OWNER, override


def end_of_standard_support(version: str) -> datetime.date | None:
    """The last day of ``version``'s standard support, None where AWS has not said."""
    end = EKS_STANDARD_SUPPORT[version]
    return None if end is None else datetime.date.fromisoformat(end)


def upgrade_notice(version: str, today: datetime.date) -> str | None:
    """Why ``version`` must be upgraded from ``today`` on, or None while it need not."""
    end = end_of_standard_support(version)
    if end is None or (end - today).days > UPGRADE_NOTICE_DAYS:
        return None
    left = (end - today).days
    when = (
        f"ends {end.isoformat()}, in {left} days"
        if left >= 0
        else f"ended {end.isoformat()}, {-left} days ago"
    )
    return (
        f"EKS standard support of Kubernetes {version} {when} ("
        f"notice period {UPGRADE_NOTICE_DAYS} days): upgrade the cluster to a newer "
        f"minor (docs/operations.md), then update kubernetes_version in config/"
    )


def test_support_table_is_minors_with_iso_dates() -> None:
    assert EKS_STANDARD_SUPPORT
    for version, end in EKS_STANDARD_SUPPORT.items():
        assert re.fullmatch(r"1\.\d+", version), version
        if end is not None:
            assert datetime.date.fromisoformat(end).isoformat() == end, (version, end)


def test_no_environment_is_near_the_end_of_standard_support(
    env_name: str, configs: list[EnvironmentConfig]
) -> None:
    config = next(c for c in configs if c.name == env_name)
    version = config.cluster.kubernetes_version
    notice = upgrade_notice(version, datetime.date.today())
    assert notice is None, f"environment {env_name}: {notice}"


def test_the_notice_starts_upgrade_notice_days_before_the_end() -> None:
    """The check above bites: a version with a known end is flagged from
    UPGRADE_NOTICE_DAYS before it, and not the day before that."""
    version, end = next(
        (v, end_of_standard_support(v)) for v in EKS_STANDARD_SUPPORT if EKS_STANDARD_SUPPORT[v]
    )
    assert end is not None
    first_day = end - datetime.timedelta(days=UPGRADE_NOTICE_DAYS)
    assert upgrade_notice(version, first_day - datetime.timedelta(days=1)) is None
    notice = upgrade_notice(version, first_day)
    assert notice is not None
    assert f"Kubernetes {version} ends" in notice
    assert end.isoformat() in notice
    assert "docs/operations.md" in notice
    assert upgrade_notice(version, end + datetime.timedelta(days=1)) is not None


def test_kubernetes_1_34_is_refused(fixture_config: Path) -> None:
    """1.34 left standard support on 2026-12-02; config naming it does not load."""
    assert "1.34" not in EKS_STANDARD_SUPPORT
    override(fixture_config, APEX_OWNER, {"cluster": {"kubernetes_version": "1.34"}})
    with pytest.raises(ConfigError) as caught:
        load_environment(fixture_config, APEX_OWNER)
    error = caught.value
    assert error.path == "cluster.kubernetes_version"
    assert error.problem == (
        f"1.34 is not in EKS standard support; use one of {', '.join(EKS_STANDARD_SUPPORT)}"
    )
    assert "1.35" in error.problem
