"""The alarm catalogue: each tier's specs for given identifiers and thresholds."""

from __future__ import annotations

from kreo_infra.config.models import (
    CacheAlarms,
    CdnAlarms,
    ClusterAlarms,
    DatabaseAlarms,
    LoadBalancerAlarms,
    SearchAlarms,
)
from kreo_infra.observability import catalog
from kreo_infra.observability.spec import AlarmSpec, Ratio

# Thresholds all different, so each one is seen to reach its own alarm.
DATABASE = DatabaseAlarms(
    cpu_percent=81.0,
    free_storage_gb=7,
    freeable_memory_mb=300,
    connections=321,
    replica_lag_seconds=61,
    proxy_client_connections=999,
)
CACHE = CacheAlarms(
    engine_cpu_percent=71.0,
    memory_percent=72.0,
    evictions_per_5min=73,
    replication_lag_seconds=74,
    connections=75,
)
SEARCH = SearchAlarms(free_storage_gb=3, jvm_memory_pressure_percent=86.0)
LOAD_BALANCER = LoadBalancerAlarms(
    error_rate_percent=4.0, target_response_seconds=1.5, unhealthy_hosts=2
)
CLUSTER = ClusterAlarms(pod_restarts_per_5min=6)
CDN = CdnAlarms(error_rate_percent=3.0)


def by_id(specs: tuple[AlarmSpec, ...]) -> dict[str, AlarmSpec]:
    found = {s.id: s for s in specs}
    assert len(found) == len(specs)  # ids are unique
    return found


def summary(spec: AlarmSpec) -> tuple[object, ...]:
    return (spec.metric, spec.statistic, spec.comparison, spec.threshold)


def test_database() -> None:
    specs = catalog.database_alarms(
        primary="db", replicas=["r0", "r1"], proxy="proxy", thresholds=DATABASE
    )
    assert [s.id for s in specs] == [
        "database-cpu",
        "database-free-storage",
        "database-freeable-memory",
        "database-connections",
        "database-replica-0-lag",
        "database-replica-1-lag",
        "database-proxy-client-connections",
    ]
    assert {s.namespace for s in specs} == {"AWS/RDS"}
    alarms = by_id(specs)
    assert [summary(alarms[i]) for i in list(alarms)[:4]] == [
        ("CPUUtilization", "Average", "GreaterThanThreshold", 81.0),
        ("FreeStorageSpace", "Minimum", "LessThanThreshold", 7 * 1024**3),  # bytes
        ("FreeableMemory", "Minimum", "LessThanThreshold", 300 * 1024**2),
        ("DatabaseConnections", "Maximum", "GreaterThanThreshold", 321),
    ]
    for spec in specs[:4]:
        assert spec.dimensions == {"DBInstanceIdentifier": "db"}
    for index, replica in enumerate(["r0", "r1"]):
        lag = alarms[f"database-replica-{index}-lag"]
        assert summary(lag) == ("ReplicaLag", "Maximum", "GreaterThanThreshold", 61)
        assert lag.dimensions == {"DBInstanceIdentifier": replica}
        assert lag.description == f"PostgreSQL read replica {index} lags behind the primary"
    proxy = alarms["database-proxy-client-connections"]
    assert summary(proxy) == ("ClientConnections", "Maximum", "GreaterThanThreshold", 999)
    assert proxy.dimensions == {"ProxyName": "proxy"}


def test_database_without_replicas_has_no_lag_alarm() -> None:
    specs = catalog.database_alarms(primary="db", replicas=[], proxy="p", thresholds=DATABASE)
    assert [s.id for s in specs if "replica" in s.id] == []


def test_cache_per_node_and_replication_lag_on_replicas() -> None:
    nodes = ["kreo-x-cache-001", "kreo-x-cache-002", "kreo-x-cache-003"]
    specs = catalog.cache_alarms(nodes=nodes, thresholds=CACHE)
    alarms = by_id(specs)
    assert {s.namespace for s in specs} == {"AWS/ElastiCache"}
    for node in nodes:
        suffix = node[-3:]
        checks = {
            f"cache-{suffix}-engine-cpu": ("EngineCPUUtilization", "Average", 71.0),
            f"cache-{suffix}-memory": ("DatabaseMemoryUsagePercentage", "Maximum", 72.0),
            f"cache-{suffix}-evictions": ("Evictions", "Sum", 73),
            f"cache-{suffix}-connections": ("CurrConnections", "Maximum", 75),
        }
        for alarm_id, (metric, statistic, threshold) in checks.items():
            spec = alarms[alarm_id]
            assert (spec.metric, spec.statistic, spec.threshold) == (metric, statistic, threshold)
            assert spec.dimensions == {"CacheClusterId": node}
            assert node in spec.description
        # A node that evicts nothing reports no Evictions datapoints.
        assert alarms[f"cache-{suffix}-evictions"].missing_data == "notBreaching"
    lags = [s for s in specs if s.id.endswith("replication-lag")]
    assert [s.id for s in lags] == ["cache-002-replication-lag", "cache-003-replication-lag"]
    assert [s.dimensions["CacheClusterId"] for s in lags] == nodes[1:]
    assert {summary(s) for s in lags} == {("ReplicationLag", "Maximum", "GreaterThanThreshold", 74)}
    assert specs[-2:] == tuple(lags)  # after every node's own alarms


def test_cache_single_node_has_no_replication_lag_alarm() -> None:
    specs = catalog.cache_alarms(nodes=["c-001"], thresholds=CACHE)
    assert [s.id for s in specs] == [
        "cache-001-engine-cpu",
        "cache-001-memory",
        "cache-001-evictions",
        "cache-001-connections",
    ]


def test_search() -> None:
    specs = catalog.search_alarms(domain_name="dom", account_id="123", thresholds=SEARCH)
    alarms = by_id(specs)
    assert list(alarms) == [
        "search-status-red",
        "search-status-yellow",
        "search-free-storage",
        "search-jvm-memory-pressure",
        "search-snapshot-failure",
    ]
    for spec in specs:
        assert spec.namespace == "AWS/ES"
        assert spec.dimensions == {"DomainName": "dom", "ClientId": "123"}
    red, yellow = alarms["search-status-red"], alarms["search-status-yellow"]
    assert (red.threshold, red.period, red.evaluation_periods) == (1, 60, 1)  # at once
    assert (yellow.threshold, yellow.period, yellow.evaluation_periods) == (1, 60, 5)
    assert summary(alarms["search-free-storage"]) == (
        "FreeStorageSpace",
        "Minimum",
        "LessThanThreshold",
        3 * 1024,  # MiB
    )
    assert alarms["search-jvm-memory-pressure"].threshold == 86.0
    assert alarms["search-snapshot-failure"].missing_data == "notBreaching"


def test_search_dimensions() -> None:
    assert catalog.search_dimensions(domain_name="d", account_id="1") == {
        "DomainName": "d",
        "ClientId": "1",
    }


def test_backup() -> None:
    (spec,) = catalog.backup_alarms(vault_name="vault")
    assert spec.id == "backup-jobs-failed"
    assert (spec.namespace, spec.dimensions) == ("AWS/Backup", {"BackupVaultName": "vault"})
    assert summary(spec) == (
        "NumberOfBackupJobsFailed",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert (spec.period, spec.evaluation_periods, spec.missing_data) == (3600, 1, "notBreaching")


def test_load_balancer() -> None:
    specs = catalog.load_balancer_alarms(
        load_balancer="app/lb",
        target_groups={"gw": "tg/gw", "orders": "tg/o"},
        thresholds=LOAD_BALANCER,
    )
    assert [s.id for s in specs] == [
        "api-5xx-rate",
        "api-load-balancer-5xx-rate",
        "api-response-time",
        "api-gw-unhealthy-hosts",
        "api-orders-unhealthy-hosts",
    ]
    assert {s.namespace for s in specs} == {"AWS/ApplicationELB"}
    targets, balancer, response, *unhealthy = specs
    assert targets.metric == Ratio("HTTPCode_Target_5XX_Count", "RequestCount")
    assert balancer.metric == Ratio("HTTPCode_ELB_5XX_Count", "RequestCount")
    for rate in (targets, balancer):
        assert rate.dimensions == {"LoadBalancer": "app/lb"}
        assert (rate.comparison, rate.threshold) == ("GreaterThanThreshold", 4.0)
        assert rate.missing_data == "notBreaching"  # no requests, no errors
    assert summary(response) == ("TargetResponseTime", "Average", "GreaterThanThreshold", 1.5)
    assert [s.dimensions for s in unhealthy] == [
        {"LoadBalancer": "app/lb", "TargetGroup": "tg/gw"},
        {"LoadBalancer": "app/lb", "TargetGroup": "tg/o"},
    ]
    assert {summary(s) for s in unhealthy} == {
        ("UnHealthyHostCount", "Maximum", "GreaterThanOrEqualToThreshold", 2)
    }


def test_cluster() -> None:
    specs = catalog.cluster_alarms(
        cluster_name="eks",
        minimum_nodes=4,
        namespace="ns",
        services=["gw", "orders"],
        thresholds=CLUSTER,
    )
    nodes, *restarts = specs
    assert nodes.id == "cluster-node-count"
    assert summary(nodes) == ("cluster_node_count", "Minimum", "LessThanThreshold", 4)
    assert nodes.description.endswith("minimum (4)")
    assert nodes.missing_data == "breaching"  # no nodes report nothing
    assert nodes.dimensions == {"ClusterName": "eks"}
    assert [s.id for s in restarts] == ["pod-restarts-gw", "pod-restarts-orders"]
    assert [s.dimensions for s in restarts] == [
        {"ClusterName": "eks", "Namespace": "ns", "PodName": service}
        for service in ("gw", "orders")
    ]
    for spec in restarts:
        assert summary(spec) == (
            "pod_number_of_container_restarts",
            "Sum",
            "GreaterThanThreshold",
            6,
        )
        assert (spec.evaluation_periods, spec.missing_data) == (1, "notBreaching")
    assert {s.namespace for s in specs} == {"ContainerInsights"}


def test_cdn_per_site_in_cloudfronts_region() -> None:
    specs = catalog.cdn_alarms(
        distributions={"www": "E1", "media": "E2"}, region="us-east-1", thresholds=CDN
    )
    assert [s.id for s in specs] == ["cdn-www-5xx-rate", "cdn-media-5xx-rate"]
    assert [s.dimensions for s in specs] == [
        {"DistributionId": "E1", "Region": "Global"},
        {"DistributionId": "E2", "Region": "Global"},
    ]
    for spec in specs:
        assert spec.region == "us-east-1"  # so AlarmSet picks that region's topic
        assert spec.namespace == "AWS/CloudFront"
        assert summary(spec) == ("5xxErrorRate", "Average", "GreaterThanThreshold", 3.0)
        assert spec.missing_data == "notBreaching"


def test_only_cloudfront_alarms_leave_the_stacks_region() -> None:
    everything = (
        *catalog.database_alarms(primary="d", replicas=["r"], proxy="p", thresholds=DATABASE),
        *catalog.cache_alarms(nodes=["c-001", "c-002"], thresholds=CACHE),
        *catalog.search_alarms(domain_name="s", account_id="1", thresholds=SEARCH),
        *catalog.backup_alarms(vault_name="v"),
        *catalog.load_balancer_alarms(
            load_balancer="lb", target_groups={"gw": "tg"}, thresholds=LOAD_BALANCER
        ),
        *catalog.cluster_alarms(
            cluster_name="e", minimum_nodes=1, namespace="n", services=["gw"], thresholds=CLUSTER
        ),
        *catalog.cdn_alarms(distributions={"www": "E"}, region="us-east-1", thresholds=CDN),
    )
    alarms = by_id(everything)  # no two tiers share an id
    assert [i for i, s in alarms.items() if s.region is not None] == ["cdn-www-5xx-rate"]
