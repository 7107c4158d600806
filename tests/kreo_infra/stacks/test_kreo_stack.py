"""What every Kreo stack gets from KreoStack: provider, backend, versions."""

from __future__ import annotations

import re
from importlib.metadata import metadata

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.errors import PropsError
from tests.conftest import Synthesis


def test_aws_provider_in_the_environment_region(synthesis: Synthesis, stack_name: str) -> None:
    config = synthesis.config(stack_name)
    providers = synthesis.stack(stack_name)["provider"]["aws"]
    (default,) = [p for p in providers if "alias" not in p]
    assert default["region"] == config.region
    assert all(p["region"] == config.dr_region for p in providers if p.get("alias") == "dr")
    # parent-zone: the parent zone's account (the edge of a delegated zone only).
    assert {p.get("alias") for p in providers} <= {None, "dr", "parent-zone"}
    for provider in providers:
        if provider.get("alias") != "parent-zone":
            # Credentials of another environment's account fail before any call.
            assert provider["allowed_account_ids"] == [config.account_id]
        else:
            assert stack_name == f"{config.stack_prefix}-edge"
            assert config.dns.delegate_from


def test_s3_backend_with_own_key_encryption_and_locking(
    synthesis: Synthesis, stack_name: str
) -> None:
    config = synthesis.config(stack_name)
    backend = synthesis.stack(stack_name)["terraform"]["backend"]
    if synthesis.is_account_wide(stack_name):
        # Until the state bucket exists (config: state.bootstrap_backend).
        assert backend == {"local": {"path": f"../../../state/{stack_name}.tfstate"}}
        return
    layer = stack_name.removeprefix(f"{config.stack_prefix}-")
    if stack_name == f"{config.project}-github":
        # One stack for every environment, in the apex owner's bucket.
        assert backend["s3"]["key"] == f"{config.state.key_prefix}/github.tfstate"
        assert backend["s3"]["bucket"] == config.state.bucket
        assert config.dns.domain == config.dns.apex
        return
    assert backend == {
        "s3": {
            "bucket": config.state.bucket,
            "key": f"{config.state.key_prefix}/{config.name}/{layer}.tfstate",
            "region": config.state.region,
            "encrypt": True,
            "kms_key_id": f"alias/{config.state.bucket}",
            "use_lockfile": True,
        }
    }


def test_state_keys_are_unique(synthesis: Synthesis) -> None:
    keys = [
        synthesis.stack(name)["terraform"]["backend"]["s3"]["key"]
        for name in synthesis.stack_names
        if not synthesis.is_account_wide(name)
    ]
    assert len(keys) == len(set(keys))


def test_terraform_version_pinned_from_config(synthesis: Synthesis, stack_name: str) -> None:
    config = synthesis.config(stack_name)
    assert synthesis.stack(stack_name)["terraform"]["required_version"] == config.versions.terraform


def test_provider_versions_pinned_from_config(synthesis: Synthesis, stack_name: str) -> None:
    config = synthesis.config(stack_name)
    required = synthesis.stack(stack_name)["terraform"]["required_providers"]
    assert required, "no provider is pinned"
    for name, spec in required.items():
        assert spec["version"] == config.versions.providers[name]


def _binding_provider_version(provider: str) -> str:
    """The provider version a cdktf provider package was generated from.

    Its distribution's description (the generated README) opens with "CDKTF
    prebuilt bindings for <source> provider version <version>", written by the
    generator from the same value as the assembly's ``cdktf.provider.version``.
    Reading that from the 37 MB assembly archive took ~9 s; this takes
    milliseconds.
    """
    description = metadata(f"cdktf-cdktf-provider-{provider}").get_payload()
    found = re.search(r"prebuilt bindings for \S+ provider version (\S+)", str(description))
    assert found, f"cdktf-cdktf-provider-{provider}: no provider version in its description"
    return found.group(1)


@pytest.mark.parametrize("provider", ["aws", "kubernetes", "helm", "github"])
def test_config_pins_match_the_installed_bindings(
    configs: list[EnvironmentConfig], provider: str
) -> None:
    installed = _binding_provider_version(provider)
    assert {c.versions.providers[provider] for c in configs} == {installed}


def test_layer_name_is_validated(providers: None, configs: list[EnvironmentConfig]) -> None:
    from cdktf import Testing as CdktfTesting

    from kreo_infra.stacks import KreoStack

    class BadLayer(KreoStack):
        layer = "Bad Layer"

    with pytest.raises(
        PropsError, match=r"BadLayer: layer='Bad Layer' is not allowed; use a kebab"
    ):
        BadLayer(CdktfTesting.app(), config=configs[0])


def test_unpinned_provider_is_rejected(providers: None, configs: list[EnvironmentConfig]) -> None:
    from cdktf import Testing as CdktfTesting

    from kreo_infra.stacks import KreoStack

    class Probe(KreoStack):
        layer = "probe"

    stack = Probe(CdktfTesting.app(), config=configs[0])
    with pytest.raises(PropsError, match=r"provider='random' is not allowed; add its version"):
        stack.pin_provider("random")
