"""cert-manager: its CRDs outlive the release, and it needs no AWS role."""

from __future__ import annotations

from kreo_infra.platform.addons import cert_manager
from tests.kreo_infra.platform.addons.conftest import RELEASE_INPUTS


def test_crds_installed_and_kept() -> None:
    """Uninstalling the release must not delete the CRDs, and with them every
    Certificate (the load balancer controller's webhook certificate)."""
    assert cert_manager.values(RELEASE_INPUTS)["crds"] == {"enabled": True, "keep": True}


def test_every_component_survives_a_node_drain() -> None:
    values = cert_manager.values(RELEASE_INPUTS)
    for component in (values, values["webhook"], values["cainjector"]):
        assert component["replicaCount"] >= 2
        assert component["podDisruptionBudget"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_no_aws_role() -> None:
    assert cert_manager.ADDON.statements is None
