"""The EKS support table (kreo_infra/config/eks.py) against the calendar and the config.

From :data:`UPGRADE_NOTICE_DAYS` before a version's end of standard support every
synthesis warns for each environment still on it (``main.py --check``, the first step
of ``make synth``), naming the environment, the version and the date, so the upgrade
(docs/operations.md) starts while there is time. A warning, not a failing test: a
test that failed on a date would block every deploy. Versions EKS no longer supports
in standard support are refused by config validation outright.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kreo_infra.config import ConfigError, EnvironmentConfig, load_environment
from kreo_infra.config.eks import (
    EKS_STANDARD_SUPPORT,
    UPGRADE_NOTICE_DAYS,
    end_of_standard_support,
    support_notice,
)
from tests.conftest import PROJECT_ROOT
from tests.kreo_infra.config.conftest import APEX_OWNER, override


def test_support_table_is_minors_with_iso_dates() -> None:
    assert EKS_STANDARD_SUPPORT
    for version, end in EKS_STANDARD_SUPPORT.items():
        assert re.fullmatch(r"1\.\d+", version), version
        if end is not None:
            assert datetime.date.fromisoformat(end).isoformat() == end, (version, end)


def test_every_environment_runs_a_version_in_the_table(configs: list[EnvironmentConfig]) -> None:
    for config in configs:
        assert config.cluster.kubernetes_version in EKS_STANDARD_SUPPORT, config.name


def test_synthesis_warns_about_an_environment_near_the_end(fixture_config: Path) -> None:
    """``main.py --check`` (make synth's first step) warns, and still succeeds."""
    version = next(v for v, end in EKS_STANDARD_SUPPORT.items() if end)
    override(fixture_config, APEX_OWNER, {"cluster": {"kubernetes_version": version}})
    end = end_of_standard_support(version)
    assert end is not None
    today = end - datetime.timedelta(days=10)
    code = (
        "import datetime, runpy, sys\n"
        "class Day(datetime.date):\n"
        "    @classmethod\n"
        f"    def today(cls): return cls({today.year}, {today.month}, {today.day})\n"
        "datetime.date = Day\n"
        "sys.argv = ['main.py', '--check']\n"
        "runpy.run_path('main.py', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "KREO_CONFIG_DIR": str(fixture_config),
            "KREO_ENVIRONMENTS": APEX_OWNER,
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"warning: {APEX_OWNER}: EKS standard support of Kubernetes {version} ends " in (
        result.stderr
    )
    assert "in 10 days" in result.stderr


def test_the_notice_starts_upgrade_notice_days_before_the_end() -> None:
    """The check above bites: a version with a known end is flagged from
    UPGRADE_NOTICE_DAYS before it, and not the day before that."""
    version, end = next(
        (v, end_of_standard_support(v)) for v in EKS_STANDARD_SUPPORT if EKS_STANDARD_SUPPORT[v]
    )
    assert end is not None
    first_day = end - datetime.timedelta(days=UPGRADE_NOTICE_DAYS)
    assert support_notice(version, first_day - datetime.timedelta(days=1)) is None
    notice = support_notice(version, first_day)
    assert notice is not None
    assert f"Kubernetes {version} ends" in notice
    assert end.isoformat() in notice
    assert "docs/operations.md" in notice
    assert support_notice(version, end) is not None
    assert support_notice(version, end + datetime.timedelta(days=1)) is not None


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
