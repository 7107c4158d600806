"""The alarm catalogue: each tier's alarms as AlarmSpecs, from plain inputs.

One function per tier; each takes the identifiers its metrics carry as
dimensions (names, ids, ARN suffixes: literals or Terraform references) and
that tier's thresholds from the environment's config, and returns the specs in
the order their alarms are created. Nothing here builds a construct:
``AlarmSet.add`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kreo_infra.config.models import (
    CacheAlarms,
    CdnAlarms,
    ClusterAlarms,
    DatabaseAlarms,
    LoadBalancerAlarms,
    SearchAlarms,
)
from kreo_infra.observability.spec import AlarmSpec, Ratio

GB = 1024**3
MB = 1024**2
MIB_PER_GB = 1024
"""OpenSearch reports FreeStorageSpace in MiB (RDS in bytes)."""

RDS = "AWS/RDS"
ELASTICACHE = "AWS/ElastiCache"
OPENSEARCH = "AWS/ES"
BACKUP = "AWS/Backup"
APPLICATION_ELB = "AWS/ApplicationELB"
CONTAINER_INSIGHTS = "ContainerInsights"
CLOUDFRONT = "AWS/CloudFront"


def database_alarms(
    *, primary: str, replicas: Sequence[str], proxy: str, thresholds: DatabaseAlarms
) -> tuple[AlarmSpec, ...]:
    """PostgreSQL: the primary's CPU, storage, memory and connections, each read
    replica's lag (``database-replica-<index>-lag``) and RDS Proxy's clients."""
    dimensions = {"DBInstanceIdentifier": primary}
    return (
        AlarmSpec(
            id="database-cpu",
            description="PostgreSQL primary CPU is high",
            namespace=RDS,
            metric="CPUUtilization",
            dimensions=dimensions,
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=thresholds.cpu_percent,
        ),
        AlarmSpec(
            id="database-free-storage",
            description="PostgreSQL primary is running out of storage",
            namespace=RDS,
            metric="FreeStorageSpace",
            dimensions=dimensions,
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=thresholds.free_storage_gb * GB,
        ),
        AlarmSpec(
            id="database-freeable-memory",
            description="PostgreSQL primary is short of memory",
            namespace=RDS,
            metric="FreeableMemory",
            dimensions=dimensions,
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=thresholds.freeable_memory_mb * MB,
        ),
        AlarmSpec(
            id="database-connections",
            description="PostgreSQL primary has many connections",
            namespace=RDS,
            metric="DatabaseConnections",
            dimensions=dimensions,
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.connections,
        ),
        *(
            AlarmSpec(
                id=f"database-replica-{index}-lag",
                description=f"PostgreSQL read replica {index} lags behind the primary",
                namespace=RDS,
                metric="ReplicaLag",
                dimensions={"DBInstanceIdentifier": replica},
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                threshold=thresholds.replica_lag_seconds,
            )
            for index, replica in enumerate(replicas)
        ),
        AlarmSpec(
            id="database-proxy-client-connections",
            description="RDS Proxy holds many client connections",
            namespace=RDS,
            metric="ClientConnections",
            dimensions={"ProxyName": proxy},
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.proxy_client_connections,
        ),
    )


def _node_suffix(node: str) -> str:
    """``003`` of ``kreo-staging-cache-003``: ElastiCache numbers a group's members."""
    return node.rsplit("-", 1)[1]


def cache_alarms(*, nodes: Sequence[str], thresholds: CacheAlarms) -> tuple[AlarmSpec, ...]:
    """Valkey, per node (``cache-<member number>-...``): engine CPU, memory,
    evictions and connections; then the replication lag of every node but the
    first, the one created as the primary."""
    per_node = [
        spec
        for node in nodes
        for spec in (
            AlarmSpec(
                id=f"cache-{_node_suffix(node)}-engine-cpu",
                description=f"Valkey node {node}: engine CPU is high",
                namespace=ELASTICACHE,
                metric="EngineCPUUtilization",
                dimensions={"CacheClusterId": node},
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=thresholds.engine_cpu_percent,
            ),
            AlarmSpec(
                id=f"cache-{_node_suffix(node)}-memory",
                description=f"Valkey node {node}: memory nearly full",
                namespace=ELASTICACHE,
                metric="DatabaseMemoryUsagePercentage",
                dimensions={"CacheClusterId": node},
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                threshold=thresholds.memory_percent,
            ),
            AlarmSpec(
                id=f"cache-{_node_suffix(node)}-evictions",
                description=f"Valkey node {node} evicts keys",
                namespace=ELASTICACHE,
                metric="Evictions",
                dimensions={"CacheClusterId": node},
                statistic="Sum",
                comparison="GreaterThanThreshold",
                threshold=thresholds.evictions_per_5min,
                missing_data="notBreaching",
            ),
            AlarmSpec(
                id=f"cache-{_node_suffix(node)}-connections",
                description=f"Valkey node {node}: many connections",
                namespace=ELASTICACHE,
                metric="CurrConnections",
                dimensions={"CacheClusterId": node},
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                threshold=thresholds.connections,
            ),
        )
    ]
    replication = [
        AlarmSpec(
            id=f"cache-{_node_suffix(node)}-replication-lag",
            description=f"Valkey replica {node} lags behind the primary",
            namespace=ELASTICACHE,
            metric="ReplicationLag",
            dimensions={"CacheClusterId": node},
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.replication_lag_seconds,
        )
        for node in nodes[1:]
    ]
    return (*per_node, *replication)


def search_dimensions(*, domain_name: str, account_id: str) -> dict[str, str]:
    """OpenSearch's metric dimensions: a domain is named within its account."""
    return {"DomainName": domain_name, "ClientId": account_id}


def search_alarms(
    *, domain_name: str, account_id: str, thresholds: SearchAlarms
) -> tuple[AlarmSpec, ...]:
    """OpenSearch: red status at once, yellow after 5 minutes, storage, JVM
    memory pressure, and a failed automated snapshot."""
    dimensions = search_dimensions(domain_name=domain_name, account_id=account_id)
    return (
        AlarmSpec(
            id="search-status-red",
            description="OpenSearch: a primary shard is unassigned (red)",
            namespace=OPENSEARCH,
            metric="ClusterStatus.red",
            dimensions=dimensions,
            statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=60,
            evaluation_periods=1,
        ),
        # Yellow is normal for minutes while a replica shard is relocated.
        AlarmSpec(
            id="search-status-yellow",
            description="OpenSearch: a replica shard is unassigned (yellow)",
            namespace=OPENSEARCH,
            metric="ClusterStatus.yellow",
            dimensions=dimensions,
            statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=60,
            evaluation_periods=5,
        ),
        AlarmSpec(
            id="search-free-storage",
            description="OpenSearch: a node is running out of storage",
            namespace=OPENSEARCH,
            metric="FreeStorageSpace",
            dimensions=dimensions,
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=thresholds.free_storage_gb * MIB_PER_GB,
        ),
        AlarmSpec(
            id="search-jvm-memory-pressure",
            description="OpenSearch: JVM memory pressure is high",
            namespace=OPENSEARCH,
            metric="JVMMemoryPressure",
            dimensions=dimensions,
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.jvm_memory_pressure_percent,
        ),
        AlarmSpec(
            id="search-snapshot-failure",
            description="OpenSearch: the automated snapshot failed",
            namespace=OPENSEARCH,
            metric="AutomatedSnapshotFailure",
            dimensions=dimensions,
            statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=60,
            evaluation_periods=1,
            missing_data="notBreaching",
        ),
    )


def backup_alarms(*, vault_name: str) -> tuple[AlarmSpec, ...]:
    """AWS Backup: any failed job of the vault in an hour."""
    return (
        AlarmSpec(
            id="backup-jobs-failed",
            description="AWS Backup: a backup job failed",
            namespace=BACKUP,
            metric="NumberOfBackupJobsFailed",
            dimensions={"BackupVaultName": vault_name},
            statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
            period=3600,
            evaluation_periods=1,
            missing_data="notBreaching",
        ),
    )


def load_balancer_alarms(
    *, load_balancer: str, target_groups: Mapping[str, str], thresholds: LoadBalancerAlarms
) -> tuple[AlarmSpec, ...]:
    """The API's load balancer (``load_balancer``: its ARN suffix): the share of
    5xx answers from the targets and from the load balancer itself, the response
    time, and unhealthy targets per service (``target_groups``: service name to
    its target group's ARN suffix)."""
    dimensions = {"LoadBalancer": load_balancer}
    # No requests, no errors: an idle period is not breaching.
    rates = (
        AlarmSpec(
            id="api-5xx-rate",
            description="API: share of requests answered with 5xx is high",
            namespace=APPLICATION_ELB,
            metric=Ratio(numerator="HTTPCode_Target_5XX_Count", denominator="RequestCount"),
            dimensions=dimensions,
            statistic="Sum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.error_rate_percent,
            missing_data="notBreaching",
        ),
        AlarmSpec(
            id="api-load-balancer-5xx-rate",
            description="API: the load balancer itself answers with 5xx (no healthy target?)",
            namespace=APPLICATION_ELB,
            metric=Ratio(numerator="HTTPCode_ELB_5XX_Count", denominator="RequestCount"),
            dimensions=dimensions,
            statistic="Sum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.error_rate_percent,
            missing_data="notBreaching",
        ),
    )
    response_time = AlarmSpec(
        id="api-response-time",
        description="API: average target response time is high",
        namespace=APPLICATION_ELB,
        metric="TargetResponseTime",
        dimensions=dimensions,
        statistic="Average",
        comparison="GreaterThanThreshold",
        threshold=thresholds.target_response_seconds,
        missing_data="notBreaching",
    )
    unhealthy = (
        AlarmSpec(
            id=f"api-{service}-unhealthy-hosts",
            description=f"API: {service} has unhealthy targets behind the load balancer",
            namespace=APPLICATION_ELB,
            metric="UnHealthyHostCount",
            dimensions={**dimensions, "TargetGroup": target_group},
            statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=thresholds.unhealthy_hosts,
        )
        for service, target_group in target_groups.items()
    )
    return (*rates, response_time, *unhealthy)


def cluster_alarms(
    *,
    cluster_name: str,
    minimum_nodes: int,
    namespace: str,
    services: Iterable[str],
    thresholds: ClusterAlarms,
) -> tuple[AlarmSpec, ...]:
    """EKS (Container Insights): fewer nodes than ``minimum_nodes`` (the node
    groups' minimum; no data, no nodes: breaching), and restarting containers
    of each service's pods in ``namespace``."""
    node_count = AlarmSpec(
        id="cluster-node-count",
        description=f"EKS: fewer nodes than the node groups' minimum ({minimum_nodes})",
        namespace=CONTAINER_INSIGHTS,
        metric="cluster_node_count",
        dimensions={"ClusterName": cluster_name},
        statistic="Minimum",
        comparison="LessThanThreshold",
        threshold=minimum_nodes,
        missing_data="breaching",
    )
    restarts = (
        AlarmSpec(
            id=f"pod-restarts-{service}",
            description=f"EKS: {service} containers keep restarting",
            namespace=CONTAINER_INSIGHTS,
            metric="pod_number_of_container_restarts",
            dimensions={"ClusterName": cluster_name, "Namespace": namespace, "PodName": service},
            statistic="Sum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.pod_restarts_per_5min,
            evaluation_periods=1,
            missing_data="notBreaching",
        )
        for service in services
    )
    return (node_count, *restarts)


def cdn_alarms(
    *, distributions: Mapping[str, str], region: str, thresholds: CdnAlarms
) -> tuple[AlarmSpec, ...]:
    """CloudFront, per site (``distributions``: site to distribution id): the
    share of 5xx answers. CloudFront publishes its metrics in one ``region``
    (us-east-1), so the alarms are there too, notifying that region's topic."""
    return tuple(
        AlarmSpec(
            id=f"cdn-{site}-5xx-rate",
            description=f"CloudFront ({site}): share of 5xx answers is high",
            namespace=CLOUDFRONT,
            metric="5xxErrorRate",
            dimensions={"DistributionId": distribution_id, "Region": "Global"},
            statistic="Average",
            comparison="GreaterThanThreshold",
            threshold=thresholds.error_rate_percent,
            missing_data="notBreaching",
            region=region,
        )
        for site, distribution_id in distributions.items()
    )
