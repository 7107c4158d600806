"""ReplicatedCache: its defaults, member names and input validation."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.conftest import synth_stack
from tests.kreo_infra.data.conftest import data_placement, synth_construct

REQUIRED: dict[str, Any] = {"name": "env", "engine_version": "8.1", "node_type": "cache.t3.small"}
"""The props without a default."""

ABSENT = object()


def cache(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.data.cache import ReplicatedCache

    return ReplicatedCache(stack, "cache", placement=data_placement(), **{**REQUIRED, **overrides})


@pytest.fixture(scope="module")
def defaults(providers: None) -> dict[str, Any]:
    """The Terraform JSON of a ReplicatedCache given its required props only."""
    return synth_construct(cache)


def replication_group(synthesized: dict[str, Any]) -> dict[str, Any]:
    (group,) = synthesized["resource"]["aws_elasticache_replication_group"].values()
    return group


def test_engine_defaults_to_valkey(defaults: dict[str, Any]) -> None:
    users = defaults["resource"]["aws_elasticache_user"].values()
    assert replication_group(defaults)["engine"] == "valkey"
    assert {user["engine"] for user in users} == {"valkey"}


def test_one_replica_with_failover_by_default(defaults: dict[str, Any]) -> None:
    group = replication_group(defaults)
    assert group["num_cache_clusters"] == 2
    assert group["automatic_failover_enabled"] is True
    assert group["multi_az_enabled"] is True


def test_snapshots_kept_a_week_by_default(defaults: dict[str, Any]) -> None:
    assert replication_group(defaults)["snapshot_retention_limit"] == 7


@pytest.mark.parametrize("window", ["snapshot_window", "maintenance_window"])
def test_windows_left_to_elasticache_by_default(defaults: dict[str, Any], window: str) -> None:
    assert replication_group(defaults).get(window, ABSENT) is ABSENT


@pytest.mark.parametrize(
    ("replicas", "members"),
    [(0, ["env-cache-001"]), (2, ["env-cache-001", "env-cache-002", "env-cache-003"])],
)
def test_member_ids_follow_elasticache_naming(stack: Any, replicas: int, members: list) -> None:
    built = cache(stack, replicas_per_shard=replicas)
    assert built.member_ids == members
    assert replication_group(synth_stack(stack))["replication_group_id"] == "env-cache"


def test_no_failover_without_a_replica(stack: Any) -> None:
    cache(stack, replicas_per_shard=0)
    group = replication_group(synth_stack(stack))
    assert (group["automatic_failover_enabled"], group["multi_az_enabled"]) == (False, False)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"engine": "memcached"}, r"engine='memcached' .* \('valkey', 'redis'\)", id="engine"
        ),
        pytest.param({"replicas_per_shard": 6}, "replicas_per_shard=6 .* 0 to 5", id="replicas"),
        pytest.param(
            {"replicas_per_shard": -1}, "replicas_per_shard=-1 .* 0 to 5", id="negative-replicas"
        ),
        pytest.param(
            {"snapshot_retention_days": 0},
            "snapshot_retention_days=0 .* 1 to 35",
            id="no-snapshots",
        ),
        pytest.param(
            {"snapshot_retention_days": 36},
            "snapshot_retention_days=36 .* 1 to 35",
            id="long-snapshots",
        ),
    ],
)
def test_props_validated(stack: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsError, match=f"^ReplicatedCache: {message}"):
        cache(stack, **overrides)
