"""The platform stack's releases of one environment, and sample inputs, for the add-on tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.platform.addons import IdentityInputs, ReleaseInputs
from tests.conftest import Synthesis

RELEASE_INPUTS = ReleaseInputs(
    cluster_name="kreo-test",
    region="eu-west-1",
    vpc_id="vpc-1",
    domain="test.kreo.com",
    zone_id="Z1",
    alert_topic_arn="arn:aws:sns:eu-west-1:123456789012:kreo-test-alarms",
    prometheus_retention="15d",
    prometheus_storage_gb=100,
    external_dns_policy="sync",
)
IDENTITY_INPUTS = IdentityInputs(
    partition="aws",
    region="eu-west-1",
    account_id="123456789012",
    cluster_name="kreo-test",
    zone_id="Z1",
    record_hosts=("api.test.kreo.com",),
    alarm_topic="kreo-test-alarms",
    secrets_prefix="kreo/test/",
)
"""Sample inputs for the add-ons' functions, called without a synthesis."""


@dataclass(frozen=True)
class Platform:
    """``kreo-<env>-platform`` as synthesized, with its environment's config."""

    synthesis: Synthesis
    config: EnvironmentConfig

    @property
    def stack(self) -> str:
        return f"{self.config.stack_prefix}-platform"

    def releases(self) -> dict[str, dict[str, Any]]:
        """Every ``helm_release`` by release name."""
        found = self.synthesis.resources(self.stack, "helm_release").values()
        return {release["name"]: release for release in found}

    def values(self, name: str) -> dict[str, Any]:
        """The values release ``name`` installs with (one YAML document)."""
        (document,) = self.releases()[name]["values"]
        return yaml.safe_load(document)

    def ref(self, name: str) -> str:
        """What a ``depends_on`` on release ``name`` reads."""
        return f"helm_release.{self.releases()[name]['//']['metadata']['uniqueId']}"


@pytest.fixture
def platform(env_name: str, synthesis: Synthesis) -> Platform:
    return Platform(synthesis, synthesis.environment(env_name))
