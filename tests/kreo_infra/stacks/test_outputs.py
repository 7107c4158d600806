"""kreo_infra.stacks.outputs: what each stack publishes, and KreoStack.publish."""

from __future__ import annotations

import dataclasses

import pytest

from kreo_infra.stacks import outputs as published
from tests.conftest import Synthesis

CROSS_STACK = "cross-stack-output-"
"""cdktf's own outputs for the values other stacks read (not ours to name)."""


def _stacks(synthesis: Synthesis) -> dict[str, object]:
    from kreo_infra.stacks.kreo_stack import KreoStack

    return {
        child.stack_name: child
        for child in synthesis.app.node.children
        if isinstance(child, KreoStack)
    }


def _expected_names(outputs: object) -> set[str]:
    names = set()
    for item in dataclasses.fields(outputs):  # type: ignore[arg-type]
        name = item.metadata.get(published.OUTPUT_KEY, item.name.replace("_", "-"))
        if name is not None and getattr(outputs, item.name) is not None:
            names.add(name)
    return names


def test_every_consumed_stack_publishes_frozen_outputs(synthesis: Synthesis) -> None:
    """Every stack but the release-only ones (platform, GitHub) hands on a frozen dataclass."""
    without = sorted(
        name
        for name, stack in _stacks(synthesis).items()
        if getattr(stack, "outputs", None) is None
    )
    assert all(name.endswith(("-platform", "-github")) for name in without), without
    for stack in _stacks(synthesis).values():
        outputs = getattr(stack, "outputs", None)
        if outputs is not None:
            assert dataclasses.is_dataclass(outputs)
            assert type(outputs).__dataclass_params__.frozen  # type: ignore[attr-defined]
            assert type(outputs).__module__ == published.__name__


def test_terraform_outputs_are_exactly_the_published_fields(synthesis: Synthesis) -> None:
    """No hand-written output beside the contract, none of the contract missing."""
    for name, stack in _stacks(synthesis).items():
        written = {
            output
            for output in synthesis.stack(name).get("output", {})
            if not output.startswith(CROSS_STACK)
        }
        outputs = getattr(stack, "outputs", None)
        assert written == (_expected_names(outputs) if outputs is not None else set()), name


def test_renamed_and_internal_fields(synthesis: Synthesis, env_name: str) -> None:
    """``output(name)`` renames a field's output; ``INTERNAL`` fields are read by other
    stacks but written as no output of their own."""
    data = synthesis.stack(f"kreo-{env_name}-data")["output"]
    assert "database-master-secret-arn" in data
    assert "database-secret-arn" not in data
    assert not {"database-identifier", "cache-member-ids", "search-domain-name"} & set(data)
    cluster = synthesis.stack(f"kreo-{env_name}-cluster")["output"]
    assert {"cluster-certificate-authority-data", "workload-role-arns"} <= set(cluster)


def test_fields_left_none_are_not_written(synthesis: Synthesis) -> None:
    """The registry's outputs exist in the apex owner's bootstrap only (a recovery
    environment has no bootstrap); a recovery's edge writes no distribution or
    web-app bucket, its data layer no access-logs bucket; the DR API certificate is
    a recoverable environment's."""
    from kreo_infra.config.loader import apex_owner

    apex = apex_owner(synthesis.configs)
    cdn = {
        "media-distribution-arn", "media-distribution-domain", "www-bucket",
        "www-distribution-id", "vendors-bucket", "vendors-distribution-id",
    }  # fmt: skip
    for config in synthesis.configs:
        own = config.recovery_of is None
        if own:
            written = synthesis.stack(f"{config.stack_prefix}-bootstrap")["output"]
            assert ("repository-urls" in written) == (config is apex), config.name
            assert ("image-push-role-arn" in written) == (config is apex), config.name
        else:
            assert f"{config.stack_prefix}-bootstrap" not in synthesis.stack_names
        edge = set(synthesis.stack(f"{config.stack_prefix}-edge")["output"])
        assert (cdn & edge) == (cdn if own else set()), config.name
        assert ("dr-api-certificate-arn" in edge) == config.recoverable, config.name
        data = set(synthesis.stack(f"{config.stack_prefix}-data")["output"])
        assert ("access-logs-bucket" in data) == own, config.name


def test_network_outputs_pair_zones_with_private_subnets() -> None:
    network = published.NetworkOutputs(
        vpc_id="vpc",
        vpc_cidr="10.0.0.0/16",
        availability_zone_ids=["use1-az1", "use1-az2"],
        public_subnet_ids=["pub-a", "pub-b"],
        private_subnet_ids=["priv-a", "priv-b"],
        database_subnet_ids=["db-a", "db-b"],
        public_subnet_cidrs=[],
        private_subnet_cidrs=[],
        database_subnet_cidrs=[],
        endpoint_security_group_id="sg",
    )
    assert network.private_subnet_ids_by_zone == {"use1-az1": "priv-a", "use1-az2": "priv-b"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        network.vpc_id = "other"  # type: ignore[misc]


def test_edge_outputs_name_every_distribution(synthesis: Synthesis) -> None:
    """Every site's, or none in a recovery (its edge makes no distributions)."""
    for name, stack in _stacks(synthesis).items():
        if not name.endswith("-edge"):
            continue
        edge = stack.outputs  # type: ignore[attr-defined]
        if synthesis.config(name).recovery_of is not None:
            assert edge.distribution_ids == {}, name
            continue
        assert set(edge.distribution_ids) == {"media", "www", "vendors"}, name
        assert edge.distribution_ids["www"] == edge.www_distribution_id


def test_network_outputs_are_named_in_kebab_case(synthesis: Synthesis, env_name: str) -> None:
    """The names operators and runbooks read (``terraform output vpc-id``), spelled out."""
    written = synthesis.stack(f"kreo-{env_name}-network")["output"]
    assert {name for name in written if not name.startswith(CROSS_STACK)} == {
        "vpc-id",
        "vpc-cidr",
        "availability-zone-ids",
        "public-subnet-ids",
        "private-subnet-ids",
        "database-subnet-ids",
        "public-subnet-cidrs",
        "private-subnet-cidrs",
        "database-subnet-cidrs",
        "endpoint-security-group-id",
    }
