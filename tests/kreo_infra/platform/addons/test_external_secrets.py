"""External Secrets Operator: it installs its CRDs and only reads the environment's secrets."""

from __future__ import annotations

from kreo_infra.platform.addons import external_secrets
from tests.kreo_infra.platform.addons.conftest import IDENTITY_INPUTS, RELEASE_INPUTS


def test_installs_its_crds() -> None:
    """charts/kreo-platform's ClusterSecretStore needs them (it waits for this release)."""
    assert external_secrets.values(RELEASE_INPUTS)["installCRDs"] is True


def test_reads_only_the_environments_secrets() -> None:
    read, decrypt = external_secrets.statements(IDENTITY_INPUTS)
    prefix = f"secret:{IDENTITY_INPUTS.secrets_prefix}*"
    assert read["Resource"].endswith(prefix)
    assert all(a.split(":")[1].startswith(("Get", "Describe", "List")) for a in read["Action"])
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:SecretARN": read["Resource"]
    }
