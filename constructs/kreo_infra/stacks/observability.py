"""``kreo-<env>-observability``: the alarm topic, alarms on every tier, and a dashboard."""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.data_aws_lb import DataAwsLb
from cdktf_cdktf_provider_aws.data_aws_lb_target_group import DataAwsLbTargetGroup
from constructs import Construct

from kreo_infra.cluster.workload_identity import APP_NAMESPACE
from kreo_infra.config import EnvironmentConfig
from kreo_infra.edge.waf import CLOUDFRONT_REGION
from kreo_infra.marketplace.values import INGRESS_NAME
from kreo_infra.observability.alarms import AlarmSet
from kreo_infra.observability.topic import AlarmTopic
from kreo_infra.stacks.app import AppStack
from kreo_infra.stacks.backup import BackupStack
from kreo_infra.stacks.cluster import ClusterStack
from kreo_infra.stacks.data import DataStack
from kreo_infra.stacks.edge import EdgeStack
from kreo_infra.stacks.kreo_stack import KreoStack

GB = 1024**3
MB = 1024**2


class ObservabilityStack(KreoStack):
    """Alarms on the database, cache, search, load balancer, cluster and CDN,
    each notifying the environment's topic on ALARM and on OK, and a dashboard.

    The API's load balancer is created by the AWS Load Balancer Controller from
    the marketplace Ingress, so this stack finds it (and its target groups) by
    the tags the controller sets: it is deployed after the app layer, once the
    load balancer exists. Thresholds come from ``observability.alarms``.
    """

    layer = "observability"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        edge: EdgeStack,
        cluster: ClusterStack,
        data: DataStack,
        app: AppStack,
        backup: BackupStack,
    ) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        settings = config.observability
        thresholds = settings.alarms
        aws = self.account
        self.topic = AlarmTopic(
            self,
            "alarm-topic",
            name=config.alarm_topic_name,
            emails=settings.alarm_emails,
            pager_url=settings.pager_url,
            account=aws,
        )
        # CloudWatch alarms notify topics of their own region; CloudFront's
        # metrics (and so its alarms) live in us-east-1.
        self.cdn_topic = (
            self.topic
            if config.region == CLOUDFRONT_REGION
            else AlarmTopic(
                self,
                "cdn-alarm-topic",
                name=f"{name}-cdn-alarms",
                emails=settings.alarm_emails,
                pager_url=settings.pager_url,
                account=aws,
                region=CLOUDFRONT_REGION,
            )
        )
        alarms = AlarmSet(self, "alarms", prefix=name, topic_arn=self.topic.arn)
        self.alarms = alarms

        # --- RDS ------------------------------------------------------------------------------
        db, primary = thresholds.database, {"DBInstanceIdentifier": data.database_identifier}
        rds = "AWS/RDS"
        alarms.metric(
            "database-cpu", description="PostgreSQL primary CPU is high", namespace=rds,
            metric="CPUUtilization", dimensions=primary, statistic="Average",
            comparison="GreaterThanThreshold", threshold=db.cpu_percent,
        )  # fmt: skip
        alarms.metric(
            "database-free-storage", description="PostgreSQL primary is running out of storage",
            namespace=rds, metric="FreeStorageSpace", dimensions=primary, statistic="Minimum",
            comparison="LessThanThreshold", threshold=db.free_storage_gb * GB,
        )  # fmt: skip
        alarms.metric(
            "database-freeable-memory", description="PostgreSQL primary is short of memory",
            namespace=rds, metric="FreeableMemory", dimensions=primary, statistic="Minimum",
            comparison="LessThanThreshold", threshold=db.freeable_memory_mb * MB,
        )  # fmt: skip
        alarms.metric(
            "database-connections", description="PostgreSQL primary has many connections",
            namespace=rds, metric="DatabaseConnections", dimensions=primary, statistic="Maximum",
            comparison="GreaterThanThreshold", threshold=db.connections,
        )  # fmt: skip
        for index, replica in enumerate(data.database_replica_identifiers):
            alarms.metric(
                f"database-replica-{index}-lag",
                description=f"PostgreSQL read replica {index} lags behind the primary",
                namespace=rds, metric="ReplicaLag", dimensions={"DBInstanceIdentifier": replica},
                statistic="Maximum", comparison="GreaterThanThreshold",
                threshold=db.replica_lag_seconds,
            )  # fmt: skip
        alarms.metric(
            "database-proxy-client-connections",
            description="RDS Proxy holds many client connections",
            namespace=rds, metric="ClientConnections",
            dimensions={"ProxyName": data.database_proxy_name}, statistic="Maximum",
            comparison="GreaterThanThreshold", threshold=db.proxy_client_connections,
        )  # fmt: skip

        # --- Valkey ---------------------------------------------------------------------------
        cache, elasticache = thresholds.cache, "AWS/ElastiCache"
        for node in data.cache_member_ids:
            node_dimensions = {"CacheClusterId": node}
            suffix = node.rsplit("-", 1)[1]
            alarms.metric(
                f"cache-{suffix}-engine-cpu", description=f"Valkey node {node}: engine CPU is high",
                namespace=elasticache, metric="EngineCPUUtilization",
                dimensions=node_dimensions, statistic="Average",
                comparison="GreaterThanThreshold", threshold=cache.engine_cpu_percent,
            )  # fmt: skip
            alarms.metric(
                f"cache-{suffix}-memory", description=f"Valkey node {node}: memory nearly full",
                namespace=elasticache, metric="DatabaseMemoryUsagePercentage",
                dimensions=node_dimensions, statistic="Maximum",
                comparison="GreaterThanThreshold", threshold=cache.memory_percent,
            )  # fmt: skip
            alarms.metric(
                f"cache-{suffix}-evictions", description=f"Valkey node {node} evicts keys",
                namespace=elasticache, metric="Evictions", dimensions=node_dimensions,
                statistic="Sum", comparison="GreaterThanThreshold",
                threshold=cache.evictions_per_5min, missing_data="notBreaching",
            )  # fmt: skip
            alarms.metric(
                f"cache-{suffix}-connections", description=f"Valkey node {node}: many connections",
                namespace=elasticache, metric="CurrConnections", dimensions=node_dimensions,
                statistic="Maximum", comparison="GreaterThanThreshold",
                threshold=cache.connections,
            )  # fmt: skip
        for node in data.cache_member_ids[1:]:
            suffix = node.rsplit("-", 1)[1]
            alarms.metric(
                f"cache-{suffix}-replication-lag",
                description=f"Valkey replica {node} lags behind the primary",
                namespace=elasticache, metric="ReplicationLag",
                dimensions={"CacheClusterId": node}, statistic="Maximum",
                comparison="GreaterThanThreshold", threshold=cache.replication_lag_seconds,
            )  # fmt: skip

        # --- OpenSearch -----------------------------------------------------------------------
        search = thresholds.search
        domain = {"DomainName": data.search_domain_name, "ClientId": self.account_id}
        es = "AWS/ES"
        alarms.metric(
            "search-status-red", description="OpenSearch: a primary shard is unassigned (red)",
            namespace=es, metric="ClusterStatus.red", dimensions=domain, statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold", threshold=1, period=60,
            evaluation_periods=1,
        )  # fmt: skip
        alarms.metric(
            "search-status-yellow",
            description="OpenSearch: a replica shard is unassigned (yellow)",
            namespace=es, metric="ClusterStatus.yellow", dimensions=domain, statistic="Maximum",
            comparison="GreaterThanOrEqualToThreshold", threshold=1, period=60,
            evaluation_periods=5,
        )  # fmt: skip
        alarms.metric(
            "search-free-storage", description="OpenSearch: a node is running out of storage",
            namespace=es, metric="FreeStorageSpace", dimensions=domain, statistic="Minimum",
            comparison="LessThanThreshold", threshold=search.free_storage_gb * 1024,  # MiB
        )  # fmt: skip
        alarms.metric(
            "search-jvm-memory-pressure", description="OpenSearch: JVM memory pressure is high",
            namespace=es, metric="JVMMemoryPressure", dimensions=domain, statistic="Maximum",
            comparison="GreaterThanThreshold", threshold=search.jvm_memory_pressure_percent,
        )  # fmt: skip
        alarms.metric(
            "search-snapshot-failure", description="OpenSearch: the automated snapshot failed",
            namespace=es, metric="AutomatedSnapshotFailure", dimensions=domain,
            statistic="Maximum", comparison="GreaterThanOrEqualToThreshold", threshold=1,
            period=60, evaluation_periods=1, missing_data="notBreaching",
        )  # fmt: skip

        # --- AWS Backup -----------------------------------------------------------------------
        alarms.metric(
            "backup-jobs-failed", description="AWS Backup: a backup job failed",
            namespace="AWS/Backup", metric="NumberOfBackupJobsFailed",
            dimensions={"BackupVaultName": backup.vault_name}, statistic="Sum",
            comparison="GreaterThanOrEqualToThreshold", threshold=1, period=3600,
            evaluation_periods=1, missing_data="notBreaching",
        )  # fmt: skip

        # --- the API's load balancer (created by the controller) ---------------------------------
        lb_tags = {
            "elbv2.k8s.aws/cluster": config.cluster_name,
            "ingress.k8s.aws/stack": f"{APP_NAMESPACE}/{INGRESS_NAME}",
        }
        self.load_balancer = DataAwsLb(self, "api-load-balancer", tags=lb_tags)
        alb = {"LoadBalancer": self.load_balancer.arn_suffix}
        lb = thresholds.load_balancer
        alarms.ratio(
            "api-5xx-rate", description="API: share of requests answered with 5xx is high",
            namespace="AWS/ApplicationELB", numerator="HTTPCode_Target_5XX_Count",
            denominator="RequestCount", dimensions=alb, threshold_percent=lb.error_rate_percent,
        )  # fmt: skip
        alarms.ratio(
            "api-load-balancer-5xx-rate",
            description="API: the load balancer itself answers with 5xx (no healthy target?)",
            namespace="AWS/ApplicationELB", numerator="HTTPCode_ELB_5XX_Count",
            denominator="RequestCount", dimensions=alb, threshold_percent=lb.error_rate_percent,
        )  # fmt: skip
        alarms.metric(
            "api-response-time", description="API: average target response time is high",
            namespace="AWS/ApplicationELB", metric="TargetResponseTime", dimensions=alb,
            statistic="Average", comparison="GreaterThanThreshold",
            threshold=lb.target_response_seconds, missing_data="notBreaching",
        )  # fmt: skip
        for service_name, service in config.services.items():
            group = DataAwsLbTargetGroup(
                self,
                f"target-group-{service_name}",
                tags={
                    **lb_tags,
                    "ingress.k8s.aws/resource": (
                        f"{APP_NAMESPACE}/{INGRESS_NAME}-{service_name}:{service.port}"
                    ),
                },
            )
            alarms.metric(
                f"api-{service_name}-unhealthy-hosts",
                description=f"API: {service_name} has unhealthy targets behind the load balancer",
                namespace="AWS/ApplicationELB", metric="UnHealthyHostCount",
                dimensions={**alb, "TargetGroup": group.arn_suffix}, statistic="Maximum",
                comparison="GreaterThanOrEqualToThreshold", threshold=lb.unhealthy_hosts,
            )  # fmt: skip

        # --- EKS (Container Insights) ---------------------------------------------------------
        insights, eks = "ContainerInsights", thresholds.cluster
        zones = len(config.network.availability_zone_ids)
        minimum_nodes = sum(g.node_bounds(zones)[0] for g in config.cluster.node_groups.values())
        alarms.metric(
            "cluster-node-count",
            description=f"EKS: fewer nodes than the node groups' minimum ({minimum_nodes})",
            namespace=insights, metric="cluster_node_count",
            dimensions={"ClusterName": cluster.cluster_name}, statistic="Minimum",
            comparison="LessThanThreshold", threshold=minimum_nodes, missing_data="breaching",
        )  # fmt: skip
        for service_name in config.services:
            alarms.metric(
                f"pod-restarts-{service_name}",
                description=f"EKS: {service_name} containers keep restarting",
                namespace=insights, metric="pod_number_of_container_restarts",
                dimensions={
                    "ClusterName": cluster.cluster_name,
                    "Namespace": APP_NAMESPACE,
                    "PodName": service_name,
                },
                statistic="Sum", comparison="GreaterThanThreshold",
                threshold=eks.pod_restarts_per_5min, evaluation_periods=1,
                missing_data="notBreaching",
            )  # fmt: skip

        # --- CloudFront (metrics in us-east-1) ------------------------------------------------
        for site, distribution_id in edge.distribution_ids.items():
            alarms.metric(
                f"cdn-{site}-5xx-rate",
                description=f"CloudFront ({site}): share of 5xx answers is high",
                namespace="AWS/CloudFront", metric="5xxErrorRate",
                dimensions={"DistributionId": distribution_id, "Region": "Global"},
                statistic="Average", comparison="GreaterThanThreshold",
                threshold=thresholds.cdn.error_rate_percent, missing_data="notBreaching",
                topic_arn=self.cdn_topic.arn, region=CLOUDFRONT_REGION,
            )  # fmt: skip

        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=name,
            dashboard_body=json.dumps(
                _dashboard(
                    config=config,
                    alarm_arns=[a.arn for a in alarms.alarms.values()],
                    database=data.database_identifier,
                    cache_nodes=data.cache_member_ids,
                    search=domain,
                    load_balancer=self.load_balancer.arn_suffix,
                    cluster_name=cluster.cluster_name,
                    distributions=edge.distribution_ids,
                )
            ),
        )
        self.add_dependency(app)  # the load balancer exists once the app is released

        outputs = {
            "alarm-topic-arn": self.topic.arn,
            "alarm-names": [a.alarm_name for a in alarms.alarms.values()],
            "dashboard-name": name,
        }
        for output_id, value in outputs.items():
            TerraformOutput(self, output_id, value=value)


def _metric_widget(
    title: str, region: str, metrics: list[list[Any]], *, x: int, y: int
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 8,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": "Average",
            "period": 300,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def _dashboard(
    *,
    config: EnvironmentConfig,
    alarm_arns: list[str],
    database: str,
    cache_nodes: list[str],
    search: dict[str, str],
    load_balancer: str,
    cluster_name: str,
    distributions: dict[str, str],
) -> dict[str, Any]:
    """The environment's dashboard: every alarm's state, then each tier's key figures."""
    region = config.region
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 6,
            "properties": {
                "title": "Alarms",
                "alarms": alarm_arns,
                "sortBy": "stateUpdatedTimestamp",
            },
        }
    ]
    panels = [
        ("API requests and 5xx", region, [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", load_balancer, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", load_balancer,
             {"stat": "Sum"}],
        ]),
        ("API response time", region, [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", load_balancer],
        ]),
        ("Cluster nodes", region, [
            ["ContainerInsights", "cluster_node_count", "ClusterName", cluster_name],
        ]),
        ("PostgreSQL CPU and connections", region, [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", database],
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", database,
             {"yAxis": "right"}],
        ]),
        ("Valkey engine CPU and memory", region, [
            *[["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", n]
              for n in cache_nodes],
            *[["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", n]
              for n in cache_nodes],
        ]),
        ("OpenSearch JVM pressure and status", region, [
            ["AWS/ES", "JVMMemoryPressure", "DomainName", search["DomainName"], "ClientId",
             search["ClientId"]],
            ["AWS/ES", "ClusterStatus.red", "DomainName", search["DomainName"], "ClientId",
             search["ClientId"], {"stat": "Maximum", "yAxis": "right"}],
        ]),
        ("CloudFront requests", CLOUDFRONT_REGION, [
            ["AWS/CloudFront", "Requests", "DistributionId", d, "Region", "Global", {"stat": "Sum"}]
            for d in distributions.values()
        ]),
        ("CloudFront 5xx rate", CLOUDFRONT_REGION, [
            ["AWS/CloudFront", "5xxErrorRate", "DistributionId", d, "Region", "Global"]
            for d in distributions.values()
        ]),
    ]  # fmt: skip
    for index, (title, panel_region, metrics) in enumerate(panels):
        widgets.append(
            _metric_widget(title, panel_region, metrics, x=(index % 3) * 8, y=6 + (index // 3) * 6)
        )
    return {"widgets": widgets}
