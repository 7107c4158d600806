"""The CloudWatch dashboard body: every alarm's state, then each tier's key figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

WIDTH = 24
"""A dashboard's grid is 24 columns wide."""

PANEL_WIDTH, PANEL_HEIGHT = 8, 6
"""Metric panels: three to a row."""

ALARMS_HEIGHT = 6
"""The alarm-status widget's height; the panels start below it."""


def metric_widget(
    title: str, region: str, metrics: list[list[Any]], *, x: int, y: int
) -> dict[str, Any]:
    """A time-series panel of ``metrics`` (5-minute averages unless a metric says otherwise)."""
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": PANEL_WIDTH,
        "height": PANEL_HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "stat": "Average",
            "period": 300,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def alarms_widget(alarm_arns: Sequence[str]) -> dict[str, Any]:
    """The state of every alarm, the latest change first, across the top."""
    return {
        "type": "alarm",
        "x": 0,
        "y": 0,
        "width": WIDTH,
        "height": ALARMS_HEIGHT,
        "properties": {
            "title": "Alarms",
            "alarms": list(alarm_arns),
            "sortBy": "stateUpdatedTimestamp",
        },
    }


def _panels(
    *,
    region: str,
    cdn_region: str,
    database: str,
    cache_nodes: Sequence[str],
    search: Mapping[str, str],
    load_balancer: str,
    cluster_name: str,
    distributions: Mapping[str, str],
) -> list[tuple[str, str, list[list[Any]]]]:
    """``(title, region, metrics)`` of each panel, in reading order."""
    elb, rds, cache, es, cdn = (
        "AWS/ApplicationELB",
        "AWS/RDS",
        "AWS/ElastiCache",
        "AWS/ES",
        "AWS/CloudFront",
    )
    lb = ("LoadBalancer", load_balancer)
    db = ("DBInstanceIdentifier", database)
    domain = ("DomainName", search["DomainName"], "ClientId", search["ClientId"])
    sites = distributions.values()
    return [
        (
            "API requests and 5xx",
            region,
            [
                [elb, "RequestCount", *lb, {"stat": "Sum"}],
                [elb, "HTTPCode_Target_5XX_Count", *lb, {"stat": "Sum"}],
            ],
        ),
        ("API response time", region, [[elb, "TargetResponseTime", *lb]]),
        (
            "Cluster nodes",
            region,
            [["ContainerInsights", "cluster_node_count", "ClusterName", cluster_name]],
        ),
        (
            "PostgreSQL CPU and connections",
            region,
            [[rds, "CPUUtilization", *db], [rds, "DatabaseConnections", *db, {"yAxis": "right"}]],
        ),
        (
            "Valkey engine CPU and memory",
            region,
            [
                *[[cache, "EngineCPUUtilization", "CacheClusterId", n] for n in cache_nodes],
                *[
                    [cache, "DatabaseMemoryUsagePercentage", "CacheClusterId", n]
                    for n in cache_nodes
                ],
            ],
        ),
        (
            "OpenSearch JVM pressure and status",
            region,
            [
                [es, "JVMMemoryPressure", *domain],
                [es, "ClusterStatus.red", *domain, {"stat": "Maximum", "yAxis": "right"}],
            ],
        ),
        (
            "CloudFront requests",
            cdn_region,
            [
                [cdn, "Requests", "DistributionId", d, "Region", "Global", {"stat": "Sum"}]
                for d in sites
            ],
        ),
        (
            "CloudFront 5xx rate",
            cdn_region,
            [[cdn, "5xxErrorRate", "DistributionId", d, "Region", "Global"] for d in sites],
        ),
    ]


def dashboard_body(
    *,
    region: str,
    cdn_region: str,
    alarm_arns: Sequence[str],
    database: str,
    cache_nodes: Sequence[str],
    search: Mapping[str, str],
    load_balancer: str,
    cluster_name: str,
    distributions: Mapping[str, str],
) -> dict[str, Any]:
    """The dashboard: the alarms across the top, then panels three to a row.

    ``region`` is the environment's, ``cdn_region`` where CloudFront publishes
    metrics. ``database`` is the primary's identifier, ``cache_nodes`` the
    Valkey member ids, ``search`` OpenSearch's dimensions (``DomainName``,
    ``ClientId``), ``load_balancer`` the API load balancer's ARN suffix and
    ``distributions`` maps each site to its CloudFront distribution id (none: no
    CloudFront panels).
    """
    panels = _panels(
        region=region,
        cdn_region=cdn_region,
        database=database,
        cache_nodes=cache_nodes,
        search=search,
        load_balancer=load_balancer,
        cluster_name=cluster_name,
        distributions=distributions,
    )
    # PutDashboard refuses a metric widget without metrics (a recovery environment
    # has no distributions, so no CloudFront panels).
    panels = [panel for panel in panels if panel[2]]
    per_row = WIDTH // PANEL_WIDTH
    widgets = [alarms_widget(alarm_arns)]
    for index, (title, panel_region, metrics) in enumerate(panels):
        row, column = divmod(index, per_row)
        widgets.append(
            metric_widget(
                title,
                panel_region,
                metrics,
                x=column * PANEL_WIDTH,
                y=ALARMS_HEIGHT + row * PANEL_HEIGHT,
            )
        )
    return {"widgets": widgets}
