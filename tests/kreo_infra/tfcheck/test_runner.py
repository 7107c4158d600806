"""Tier 1 and 2 mechanics: preparation, the no-change rule, and the for_each guard."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from kreo_infra.tfcheck.runner import (
    _only_schema_defaults,
    equivalent,
    mock_test,
    prepare,
    provider_schema,
    validate_bundle,
)
from kreo_infra.tfcheck.toolchain import ToolchainError, discover
from tests.conftest import PROJECT_ROOT, synth_stack

# --- the no-change rule -------------------------------------------------------------------------


def test_null_equals_the_zero_value_at_any_depth() -> None:
    assert equivalent({"a": [{"b": False}]}, {"a": [{"b": None}]})
    assert equivalent({"a": 0, "b": ""}, {})
    assert not equivalent({"a": [{"b": True}]}, {"a": [{"b": None}]})
    assert not equivalent({"a": "x"}, {"a": "y"})
    assert not equivalent([1], [1, 2])


def test_only_state_zero_versus_planned_null_is_forgiven() -> None:
    assert not equivalent({"x": None}, {"x": False})  # the configuration sets it
    assert not equivalent({"x": "a"}, {"x": None})  # a real value would be removed


def change(before: Any, after: Any, unknown: Any = None, actions=("update",)) -> dict:
    return {"actions": list(actions), "before": before, "after": after, "after_unknown": unknown}


def test_an_update_of_schema_defaults_only_is_not_a_change() -> None:
    assert _only_schema_defaults(change({"x": False}, {"x": None}, {}))


def test_a_real_update_is_a_change() -> None:
    assert not _only_schema_defaults(change({"x": "a"}, {"x": "b"}, {}))


def test_an_unknown_value_is_a_change() -> None:
    assert not _only_schema_defaults(change({"x": None}, {"x": None}, {"x": True}))


def test_a_replacement_is_always_a_change() -> None:
    assert not _only_schema_defaults(change({}, {}, {}, actions=("delete", "create")))


# --- preparation ------------------------------------------------------------------------------


def fake_toolchain(tmp_path: Path, available: dict[str, tuple[str, ...]]) -> Any:
    from kreo_infra.tfcheck.toolchain import Toolchain

    return Toolchain(
        terraform=Path("/nonexistent/terraform"),
        terraform_version="1.11.4",
        mirrors=(),
        available=available,
        registry=False,
        cli_config=tmp_path / "rc",
    )


def write_stack(directory: Path, providers: dict[str, str]) -> Path:
    directory.mkdir(parents=True)
    required = {name: {"version": version} for name, version in providers.items()}
    document = {"terraform": {"required_providers": required}}
    (directory / "cdk.tf.json").write_text(json.dumps(document))
    return directory


def test_a_stack_whose_providers_are_missing_is_reported_not_checked(tmp_path: Path) -> None:
    stack_dir = write_stack(tmp_path / "kreo-x-app", {"aws": "6.25.0", "helm": "3.1.1"})
    toolchain = fake_toolchain(tmp_path, {"aws": ("5.100.0",)})
    prepared = prepare(stack_dir, tmp_path / "work", toolchain, {})
    assert prepared.workdir is None
    assert prepared.unchecked is not None
    assert "helm 3.1.1" in prepared.unchecked
    assert "aws" not in prepared.unchecked.split("provider ")[1].split(" not")[0]
    result = validate_bundle({"kreo-x-app": prepared}, toolchain, {})["kreo-x-app"]
    assert result.ok
    assert result.skipped == prepared.unchecked


def test_without_any_aws_plugin_the_aws_provider_is_named(tmp_path: Path) -> None:
    stack_dir = write_stack(tmp_path / "kreo-x-base", {"aws": "6.25.0"})
    prepared = prepare(stack_dir, tmp_path / "work", fake_toolchain(tmp_path, {}), {})
    assert prepared.unchecked is not None
    assert "aws 6.25.0" in prepared.unchecked


# --- the real engine on a small stack ----------------------------------------------------------


@pytest.fixture(scope="module")
def toolchain() -> Any:
    cache = PROJECT_ROOT / ".cache" / "terraform"
    try:
        found = discover(dict(os.environ), cache)
    except ToolchainError as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
    if not found.versions("aws") and not found.registry:
        if os.environ.get("CI"):
            pytest.fail("no AWS provider plugin (KREO_TF_PLUGIN_MIRROR / KREO_TF_REGISTRY)")
        pytest.skip("no AWS provider plugin")
    return found


OLD_FOR_EACH = (
    "${{ for key, val in tolist(aws_acm_certificate.%s.domain_validation_options): "
    "val.domain_name => val }}"
)
"""What ``TerraformIterator.from_complex_list(..., "domain_name")`` emitted: the keys
come from the certificate, unknown until it exists."""


@pytest.fixture(scope="module")
def certificate_stack(providers: None, tmp_path_factory) -> Path:
    """A stack with the edge's three-name DNS-validated certificate, synthesized."""
    from cdktf import TerraformStack
    from cdktf import Testing as CdktfTesting
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.route53_zone import Route53Zone

    from kreo_infra.edge.dns import DnsValidatedCertificate

    scope = TerraformStack(CdktfTesting.app(), "certificate")
    AwsProvider(scope, "aws", region="eu-west-1")
    zone = Route53Zone(scope, "zone", name="example.com")
    DnsValidatedCertificate(
        scope,
        "cdn-certificate",
        domain_name="cdn.example.com",
        alternative_names=["www.example.com", "vendors.example.com"],
        zone_id=zone.zone_id,
    )
    document = synth_stack(scope)
    document.setdefault("terraform", {}).setdefault("required_providers", {})["aws"] = {
        "source": "aws",
        "version": "6.25.0",
    }
    directory = tmp_path_factory.mktemp("stacks") / "certificate"
    directory.mkdir()
    (directory / "cdk.tf.json").write_text(json.dumps(document))
    return directory


def run_tier2(stack_dir: Path, toolchain: Any, workdir: Path) -> Any:
    env = dict(os.environ)
    prepared = prepare(stack_dir, workdir, toolchain, env)
    assert prepared.init_error is None, prepared.init_error
    version = toolchain.versions("aws")[0] if toolchain.versions("aws") else "6.25.0"
    schema = provider_schema(toolchain, env, toolchain.cli_config.parent, version)
    return mock_test(prepared, toolchain, env, schema, {})


def test_validation_records_are_keyed_by_configured_names(certificate_stack: Path) -> None:
    document = json.loads((certificate_stack / "cdk.tf.json").read_text())
    (records,) = document["resource"]["aws_route53_record"].values()
    keys = re.search(r"toset\((\[.*?\])\)", records["for_each"])
    assert keys is not None
    assert json.loads(keys.group(1)) == [
        "cdn.example.com",
        "www.example.com",
        "vendors.example.com",
    ]


def test_first_plan_of_the_certificate_succeeds(certificate_stack, toolchain, tmp_path) -> None:
    result = run_tier2(certificate_stack, toolchain, tmp_path / "work")
    assert result.ok, result.errors + result.changes
    # the zone, the certificate, its validation and one record per name
    assert result.applied == 6


def test_the_old_for_each_fails_the_first_plan(certificate_stack, toolchain, tmp_path) -> None:
    """Guard: keys from the certificate's validation options fail the first plan in a
    new account ("Invalid for_each argument"), which tier 2 must catch."""
    document = json.loads((certificate_stack / "cdk.tf.json").read_text())
    (certificate,) = document["resource"]["aws_acm_certificate"]
    for record in document["resource"]["aws_route53_record"].values():
        record["for_each"] = OLD_FOR_EACH % certificate
    old = tmp_path / "old"
    old.mkdir()
    (old / "cdk.tf.json").write_text(json.dumps(document))
    result = run_tier2(old, toolchain, tmp_path / "work")
    assert not result.ok
    assert any("Invalid for_each argument" in error for error in result.errors), result.errors


def test_one_validate_attributes_each_error_to_its_stack(
    certificate_stack: Path, toolchain: Any, tmp_path: Path
) -> None:
    """Tier 1 validates every stack in one process; an error fails only its stack."""
    from kreo_infra.tfcheck.runner import validate_bundle

    document = json.loads((certificate_stack / "cdk.tf.json").read_text())
    (zone,) = document["resource"]["aws_route53_zone"].values()
    zone["no_such_argument"] = True
    broken = tmp_path / "stacks" / "kreo-x-broken"
    broken.mkdir(parents=True)
    (broken / "cdk.tf.json").write_text(json.dumps(document))
    env = dict(os.environ)
    prepared = {
        name: prepare(directory, tmp_path / "work" / name, toolchain, env)
        for name, directory in (("kreo-x-good", certificate_stack), ("kreo-x-broken", broken))
    }
    results = validate_bundle(prepared, toolchain, env)
    assert results["kreo-x-good"].ok, results["kreo-x-good"].errors
    assert not results["kreo-x-broken"].ok
    assert any("no_such_argument" in e for e in results["kreo-x-broken"].errors), results[
        "kreo-x-broken"
    ].errors
