"""A config directory of the loader and model tests' own: the committed defaults and
two environments that are not the committed ones, so these tests never depend on
which environments config/ happens to define."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from kreo_infra.config.loader import deep_merge
from tests.conftest import CONFIG_DIR

APEX_OWNER = "alpha"
"""Owns the apex (``kreo.com``) and sets its names explicitly, as production does."""

SUBDOMAIN = "beta"
"""Everything derived from its name: ``beta.kreo.com``, ``kreo-marketplace-beta-*``."""

APEX_OWNER_YAML = """\
account_id: "111111111111"
tags: {cost_center: marketplace-alpha}
storage:
  media_bucket: kreo-alpha-media
  access_logs_bucket: kreo-alpha-media-access-logs
dns: {domain: kreo.com}
edge:
  www_bucket: kreo-alpha-www
  vendors_bucket: kreo-alpha-vendors
  logs_bucket: kreo-alpha-cdn-logs
"""

SUBDOMAIN_YAML = """\
account_id: "222222222222"
tags: {cost_center: marketplace-beta}
cluster: {node_groups: {general: {min_size: 1, desired_size: 1, max_size: 2}}}
"""


def write_fixture_config(target: Path) -> Path:
    """``target`` with the committed defaults.yaml, alpha.yaml and beta.yaml."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG_DIR / "defaults.yaml", target / "defaults.yaml")
    (target / f"{APEX_OWNER}.yaml").write_text(APEX_OWNER_YAML)
    (target / f"{SUBDOMAIN}.yaml").write_text(SUBDOMAIN_YAML)
    return target


@pytest.fixture
def fixture_config(tmp_path: Path) -> Path:
    """A fresh fixture config directory to read or break."""
    return write_fixture_config(tmp_path / "config")


def override(config_dir: Path, stem: str, data: dict[str, Any]) -> Path:
    """Merge ``data`` into ``<stem>.yaml`` (an environment or the defaults); the file."""
    path = config_dir / f"{stem}.yaml"
    current = yaml.safe_load(path.read_text()) or {}
    path.write_text(yaml.safe_dump(deep_merge(current, data)))
    return path
