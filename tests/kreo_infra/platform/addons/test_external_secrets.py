"""External Secrets Operator: it installs its CRDs and only reads the environment's secrets."""

from __future__ import annotations

from kreo_infra.platform.addons import external_secrets
from tests.kreo_infra.platform.addons.conftest import IDENTITY_INPUTS, RELEASE_INPUTS


def test_installs_its_crds() -> None:
    """charts/kreo-platform's ClusterSecretStore needs them (it waits for this release)."""
    assert external_secrets.values(RELEASE_INPUTS)["installCRDs"] is True


def test_its_replicas_elect_a_leader() -> None:
    """Two replicas of the operator (and of its certificate controller) must not
    reconcile the same resources at once: the chart passes
    ``--enable-leader-election=true`` to both only when ``leaderElect`` is set, and
    it defaults to false.

    Cite: external-secrets/external-secrets @ helm-chart-2.9.0,
    deploy/charts/external-secrets/values.yaml line 91 (``leaderElect: false``);
    templates/deployment.yaml lines 73-75, templates/cert-controller-deployment.yaml
    lines 92-94.
    """
    values = external_secrets.values(RELEASE_INPUTS)
    assert values["replicaCount"] >= 2
    assert values["certController"]["replicaCount"] >= 2
    assert values["leaderElect"] is True


def test_reads_only_the_environments_secrets() -> None:
    read, decrypt = external_secrets.statements(IDENTITY_INPUTS)
    prefix = f"secret:{IDENTITY_INPUTS.secrets_prefix}*"
    assert read["Resource"].endswith(prefix)
    assert all(a.split(":")[1].startswith(("Get", "Describe", "List")) for a in read["Action"])
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:SecretARN": read["Resource"]
    }
