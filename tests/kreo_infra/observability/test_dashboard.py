"""The dashboard body: the alarms across the top, then each tier's panels three to a row."""

from __future__ import annotations

import json
from typing import Any

from kreo_infra.observability.dashboard import dashboard_body

INPUTS: dict[str, Any] = {
    "region": "eu-west-1",
    "cdn_region": "us-east-1",
    "alarm_arns": ["arn:b", "arn:a"],
    "database": "db",
    "cache_nodes": ["c-001", "c-002"],
    "search": {"DomainName": "dom", "ClientId": "123"},
    "load_balancer": "app/lb",
    "cluster_name": "eks",
    "distributions": {"www": "E1", "media": "E2"},
}


def test_alarm_states_across_the_top() -> None:
    status, *panels = dashboard_body(**INPUTS)["widgets"]
    assert status["type"] == "alarm"
    assert (status["x"], status["y"], status["width"], status["height"]) == (0, 0, 24, 6)
    assert status["properties"]["alarms"] == ["arn:b", "arn:a"]
    assert status["properties"]["sortBy"] == "stateUpdatedTimestamp"
    assert {p["type"] for p in panels} == {"metric"}


def test_panels_three_to_a_row_below_the_alarms() -> None:
    _, *panels = dashboard_body(**INPUTS)["widgets"]
    assert [(p["x"], p["y"], p["width"], p["height"]) for p in panels] == [
        (0, 6, 8, 6),
        (8, 6, 8, 6),
        (16, 6, 8, 6),
        (0, 12, 8, 6),
        (8, 12, 8, 6),
        (16, 12, 8, 6),
        (0, 18, 8, 6),
        (8, 18, 8, 6),
    ]


def test_panel_titles_regions_and_defaults() -> None:
    _, *panels = dashboard_body(**INPUTS)["widgets"]
    assert [(p["properties"]["title"], p["properties"]["region"]) for p in panels] == [
        ("API requests and 5xx", "eu-west-1"),
        ("API response time", "eu-west-1"),
        ("Cluster nodes", "eu-west-1"),
        ("PostgreSQL CPU and connections", "eu-west-1"),
        ("Valkey engine CPU and memory", "eu-west-1"),
        ("OpenSearch JVM pressure and status", "eu-west-1"),
        ("CloudFront requests", "us-east-1"),  # where CloudFront publishes metrics
        ("CloudFront 5xx rate", "us-east-1"),
    ]
    for panel in panels:
        properties = panel["properties"]
        assert (properties["stat"], properties["period"]) == ("Average", 300)
        assert properties["view"] == "timeSeries"


def test_panel_metrics_name_the_inputs() -> None:
    _, *panels = dashboard_body(**INPUTS)["widgets"]
    metrics = {p["properties"]["title"]: p["properties"]["metrics"] for p in panels}
    assert metrics["API requests and 5xx"] == [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/lb", {"stat": "Sum"}],
        [
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            "LoadBalancer",
            "app/lb",
            {"stat": "Sum"},
        ],
    ]
    assert metrics["API response time"] == [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/lb"]
    ]
    assert metrics["Cluster nodes"] == [
        ["ContainerInsights", "cluster_node_count", "ClusterName", "eks"]
    ]
    assert metrics["PostgreSQL CPU and connections"] == [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "db"],
        ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "db", {"yAxis": "right"}],
    ]
    assert metrics["Valkey engine CPU and memory"] == [
        ["AWS/ElastiCache", metric, "CacheClusterId", node]
        for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage")
        for node in ("c-001", "c-002")
    ]
    assert metrics["OpenSearch JVM pressure and status"] == [
        ["AWS/ES", "JVMMemoryPressure", "DomainName", "dom", "ClientId", "123"],
        [
            "AWS/ES",
            "ClusterStatus.red",
            "DomainName",
            "dom",
            "ClientId",
            "123",
            {"stat": "Maximum", "yAxis": "right"},
        ],
    ]
    assert metrics["CloudFront requests"] == [
        ["AWS/CloudFront", "Requests", "DistributionId", d, "Region", "Global", {"stat": "Sum"}]
        for d in ("E1", "E2")
    ]
    assert metrics["CloudFront 5xx rate"] == [
        ["AWS/CloudFront", "5xxErrorRate", "DistributionId", d, "Region", "Global"]
        for d in ("E1", "E2")
    ]


def test_body_is_json() -> None:
    body = dashboard_body(**INPUTS)
    assert json.loads(json.dumps(body)) == body


def test_no_distributions_no_cloudfront_panel() -> None:
    """A recovery environment has no distributions: PutDashboard refuses a metric
    widget without metrics, so the CloudFront panels are left out, and the others
    close up."""
    _, *panels = dashboard_body(**{**INPUTS, "distributions": {}})["widgets"]
    assert all(p["properties"]["metrics"] for p in panels)
    assert not [p for p in panels if "CloudFront" in p["properties"]["title"]]
    _, *every = dashboard_body(**INPUTS)["widgets"]
    assert len(every) - len(panels) == 2
