"""metrics-server: replicated, and it needs no AWS role."""

from __future__ import annotations

from kreo_infra.platform.addons import metrics_server
from tests.kreo_infra.platform.addons.conftest import RELEASE_INPUTS


def test_survives_a_node_drain() -> None:
    values = metrics_server.values(RELEASE_INPUTS)
    assert values["replicas"] >= 2
    assert values["podDisruptionBudget"] == {
        "enabled": True,
        "minAvailable": 1,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def test_no_aws_role() -> None:
    assert metrics_server.ADDON.statements is None
