"""kreo-<env>-observability, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]

GB, MB = 1024**3, 1024**2


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-observability", config


def alarms_of(synthesis: Synthesis, stack: str) -> dict[str, dict[str, Any]]:
    return {
        path.removeprefix("alarms/"): body
        for path, body in synthesis.resources(stack, "aws_cloudwatch_metric_alarm").items()
    }


def remote(config: EnvironmentConfig, layer: str) -> str:
    return (
        f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-{layer}"
    )


# --- the topic ----------------------------------------------------------------------------------


def test_topic_is_encrypted_and_only_alarms_publish(env: Env) -> None:
    synthesis, stack, config = env
    topic = synthesis.resources(stack, "aws_sns_topic")["alarm-topic/topic"]
    assert topic["name"] == config.alarm_topic_name == f"{config.stack_prefix}-alarms"
    assert topic["kms_master_key_id"] == synthesis.ref(
        stack, "aws_kms_key", "alarm-topic/key/key", "arn"
    )
    policy = synthesis.resources(stack, "aws_sns_topic_policy")["alarm-topic/policy"]
    allow, deny = json.loads(policy["policy"])["Statement"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "${data.aws_caller_identity.caller-identity.account_id}"
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key = synthesis.resources(stack, "aws_kms_key")["alarm-topic/key/key"]
    services = [s["Principal"] for s in json.loads(key["policy"])["Statement"][1:]]
    assert services == [{"Service": "cloudwatch.amazonaws.com"}]


def test_email_subscriptions_from_config(env: Env) -> None:
    synthesis, stack, config = env
    subscriptions = synthesis.resources(stack, "aws_sns_topic_subscription").values()
    topic = synthesis.ref(stack, "aws_sns_topic", "alarm-topic/topic", "arn")
    emails = [s["endpoint"] for s in subscriptions if s["protocol"] == "email"]
    assert emails == config.observability.alarm_emails
    assert all(s["topic_arn"] == topic for s in subscriptions)
    assert [s for s in subscriptions if s["protocol"] == "https"] == []  # no pager configured


# --- every alarm notifies on ALARM and OK ---------------------------------------------


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(env: Env) -> None:
    synthesis, stack, config = env
    topic = synthesis.ref(stack, "aws_sns_topic", "alarm-topic/topic", "arn")
    alarms = alarms_of(synthesis, stack)
    assert len(alarms) > 20
    for name, alarm in alarms.items():
        assert alarm["alarm_actions"] == [topic], name
        assert alarm["ok_actions"] == [topic], name
        assert alarm["alarm_name"] == f"{config.stack_prefix}-{name}"
        assert alarm["alarm_description"]


def dimension(alarm: dict[str, Any], key: str) -> str:
    return alarm["dimensions"][key]


def test_database_alarms(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    db = config.observability.alarms.database
    expected = {
        "database-cpu": ("CPUUtilization", "GreaterThanThreshold", db.cpu_percent),
        "database-free-storage": ("FreeStorageSpace", "LessThanThreshold", db.free_storage_gb * GB),
        "database-freeable-memory": (
            "FreeableMemory",
            "LessThanThreshold",
            db.freeable_memory_mb * MB,
        ),
        "database-connections": ("DatabaseConnections", "GreaterThanThreshold", db.connections),
    }
    for name, (metric, comparison, threshold) in expected.items():
        alarm = alarms[name]
        assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/RDS", metric)
        assert (alarm["comparison_operator"], alarm["threshold"]) == (comparison, threshold)
        assert "postgres_primary" in dimension(alarm, "DBInstanceIdentifier")
        assert dimension(alarm, "DBInstanceIdentifier").startswith(remote(config, "data"))
    lags = [n for n in alarms if n.startswith("database-replica-")]
    assert len(lags) == config.database.read_replicas
    for index, name in enumerate(sorted(lags)):
        assert alarms[name]["metric_name"] == "ReplicaLag"
        assert alarms[name]["threshold"] == db.replica_lag_seconds
        assert f"postgres_replica-{index}" in dimension(alarms[name], "DBInstanceIdentifier")
    proxy = alarms["database-proxy-client-connections"]
    assert proxy["metric_name"] == "ClientConnections"
    assert proxy["threshold"] == db.proxy_client_connections
    assert "postgres_proxy" in dimension(proxy, "ProxyName")


def test_cache_alarms_per_node(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    cache = config.observability.alarms.cache
    nodes = [
        f"{config.stack_prefix}-cache-{i:03d}"
        for i in range(1, 2 + config.cache.replicas_per_shard)
    ]
    for node in nodes:
        suffix = node[-3:]
        checks = {
            f"cache-{suffix}-engine-cpu": ("EngineCPUUtilization", cache.engine_cpu_percent),
            f"cache-{suffix}-memory": ("DatabaseMemoryUsagePercentage", cache.memory_percent),
            f"cache-{suffix}-evictions": ("Evictions", cache.evictions_per_5min),
            f"cache-{suffix}-connections": ("CurrConnections", cache.connections),
        }
        for name, (metric, threshold) in checks.items():
            assert alarms[name]["metric_name"] == metric
            assert alarms[name]["threshold"] == threshold
            assert alarms[name]["dimensions"] == {"CacheClusterId": node}
    lags = sorted(n for n in alarms if n.startswith("cache-") and n.endswith("replication-lag"))
    assert lags == [f"cache-{n[-3:]}-replication-lag" for n in nodes[1:]]
    for name in lags:
        assert alarms[name]["threshold"] == cache.replication_lag_seconds


def test_search_alarms(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    search = config.observability.alarms.search
    expected = {
        "search-status-red": ("ClusterStatus.red", 1),
        "search-status-yellow": ("ClusterStatus.yellow", 1),
        "search-free-storage": ("FreeStorageSpace", search.free_storage_gb * 1024),
        "search-jvm-memory-pressure": ("JVMMemoryPressure", search.jvm_memory_pressure_percent),
        "search-snapshot-failure": ("AutomatedSnapshotFailure", 1),
    }
    for name, (metric, threshold) in expected.items():
        alarm = alarms[name]
        assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/ES", metric)
        assert alarm["threshold"] == threshold
        assert "search_domain" in dimension(alarm, "DomainName")
        assert (
            dimension(alarm, "ClientId") == "${data.aws_caller_identity.caller-identity.account_id}"
        )


def test_load_balancer_found_by_the_controllers_tags(env: Env) -> None:
    synthesis, stack, config = env
    lookups = synthesis.stack(stack)["data"]
    (lb,) = lookups["aws_lb"].values()
    assert lb["tags"] == {
        "elbv2.k8s.aws/cluster": config.cluster_name,
        "ingress.k8s.aws/stack": "kreo-marketplace/kreo-marketplace-api",
    }
    groups = {
        g["tags"]["ingress.k8s.aws/resource"] for g in lookups["aws_lb_target_group"].values()
    }
    assert groups == {
        f"kreo-marketplace/kreo-marketplace-api-{n}:{s.port}" for n, s in config.services.items()
    }


def test_ingress_name_matches_the_chart(env: Env) -> None:
    from kreo_infra.workloads import INGRESS_NAME
    from tests.charts import installed

    synthesis, _, config = env
    (ingress,) = [d for d in installed(synthesis, config.name, "kreo-marketplace")
                  if d["kind"] == "Ingress"]  # fmt: skip
    assert ingress["metadata"]["name"] == INGRESS_NAME


def test_load_balancer_alarms(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    lb = config.observability.alarms.load_balancer
    for name, numerator in (
        ("api-5xx-rate", "HTTPCode_Target_5XX_Count"),
        ("api-load-balancer-5xx-rate", "HTTPCode_ELB_5XX_Count"),
    ):
        alarm = alarms[name]
        assert alarm["threshold"] == lb.error_rate_percent
        queries = {q["id"]: q for q in alarm["metric_query"]}
        assert queries["errors"]["metric"]["metric_name"] == numerator
        assert queries["requests"]["metric"]["metric_name"] == "RequestCount"
        assert queries["rate"]["expression"] == "100 * FILL(errors, 0) / requests"
        assert queries["rate"]["return_data"] is True
    assert alarms["api-response-time"]["threshold"] == lb.target_response_seconds
    for service in config.services:
        alarm = alarms[f"api-{service}-unhealthy-hosts"]
        assert alarm["metric_name"] == "UnHealthyHostCount"
        assert alarm["threshold"] == lb.unhealthy_hosts
        assert set(alarm["dimensions"]) == {"LoadBalancer", "TargetGroup"}


def test_cluster_alarms(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    nodes = alarms["cluster-node-count"]
    assert (nodes["namespace"], nodes["metric_name"]) == ("ContainerInsights", "cluster_node_count")
    assert nodes["comparison_operator"] == "LessThanThreshold"
    # Every group at its minimum (a zonal group once per zone).
    zones = config.network.az_count
    groups = config.cluster.node_groups.values()
    expected = sum(g.min_size * (zones if g.zonal else 1) for g in groups)
    assert nodes["threshold"] == expected > 0
    assert nodes["treat_missing_data"] == "breaching"  # no nodes report nothing
    for service in config.services:
        restarts = alarms[f"pod-restarts-{service}"]
        assert restarts["metric_name"] == "pod_number_of_container_restarts"
        assert restarts["dimensions"]["Namespace"] == "kreo-marketplace"
        assert restarts["dimensions"]["PodName"] == service
        assert restarts["threshold"] == config.observability.alarms.cluster.pod_restarts_per_5min


def test_container_insights_runs_in_the_cluster(env: Env) -> None:
    synthesis, _, config = env
    addons = synthesis.resources(f"{config.stack_prefix}-cluster", "aws_eks_addon").values()
    assert "amazon-cloudwatch-observability" in {a["addon_name"] for a in addons}


@pytest.mark.own_environments
def test_cdn_alarms_in_us_east_1(env: Env) -> None:
    synthesis, stack, config = env
    alarms = alarms_of(synthesis, stack)
    for site in ("media", "www", "vendors"):
        alarm = alarms[f"cdn-{site}-5xx-rate"]
        assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/CloudFront", "5xxErrorRate")
        assert alarm["region"] == "us-east-1"
        assert alarm["dimensions"]["Region"] == "Global"
        assert alarm["dimensions"]["DistributionId"].startswith(remote(config, "edge"))
        assert alarm["threshold"] == config.observability.alarms.cdn.error_rate_percent


def test_backup_failures_alarm(env: Env) -> None:
    synthesis, stack, config = env
    alarm = alarms_of(synthesis, stack)["backup-jobs-failed"]
    assert alarm["metric_name"] == "NumberOfBackupJobsFailed"
    assert alarm["dimensions"]["BackupVaultName"].startswith(remote(config, "backup"))


def test_dashboard_shows_every_alarm_and_every_tier(env: Env) -> None:
    synthesis, stack, config = env
    (dashboard,) = synthesis.resources(stack, "aws_cloudwatch_dashboard").values()
    assert dashboard["dashboard_name"] == config.stack_prefix
    body = json.loads(dashboard["dashboard_body"])
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    expected = {
        synthesis.ref(stack, "aws_cloudwatch_metric_alarm", f"alarms/{n}", "arn")
        for n in alarms_of(synthesis, stack)
    }
    assert set(status["properties"]["alarms"]) == expected
    namespaces = {
        m[0] for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]
    }
    # CloudFront's where the environment's edge has distributions (a recovery's has none).
    edge = f"{config.stack_prefix}-edge"
    cdn = {"AWS/CloudFront"} if synthesis.resources(edge, "aws_cloudfront_distribution") else set()
    assert namespaces == {
        "AWS/ApplicationELB", "ContainerInsights", "AWS/RDS", "AWS/ElastiCache", "AWS/ES", *cdn,
    }  # fmt: skip


def test_every_log_group_has_retention_and_encryption(synthesis: Synthesis) -> None:
    groups = [
        body
        for name in synthesis.stack_names
        for body in synthesis.resources(name, "aws_cloudwatch_log_group").values()
    ]
    assert groups
    for group in groups:
        assert group["retention_in_days"] > 0, group["name"]
        assert group["kms_key_id"].startswith("${aws_kms_key."), group["name"]


def runbook_form(alarm_id: str, config: EnvironmentConfig) -> str:
    """An alarm id as alarms.md lists it: repeated parts as <placeholders>."""
    form = re.sub(r"^cache-\d{3}-", "cache-<node>-", alarm_id)
    form = re.sub(r"^database-replica-\d+-", "database-replica-<n>-", form)
    form = re.sub(r"^cdn-(media|www|vendors)-", "cdn-<site>-", form)
    for service in config.services:
        form = form.replace(f"-{service}-", "-<service>-")
        form = re.sub(f"-{service}$", "-<service>", form)
    return form


def test_alarms_runbook_covers_every_alarm(env: Env) -> None:
    from tests.conftest import PROJECT_ROOT

    synthesis, stack, config = env
    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "alarms.md").read_text()
    missing = [
        alarm_id
        for alarm_id in alarms_of(synthesis, stack)
        if f"`{runbook_form(alarm_id, config)}`" not in runbook
    ]
    assert missing == []


def test_disaster_recovery_runbook_names_real_resources(synthesis: Synthesis) -> None:
    from tests.conftest import PROJECT_ROOT

    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    # The runbook spells out one environment's names (the others: the same with
    # their own name): the one environment of its own whose stacks it names (and,
    # for a region loss, its recovery's).
    (config,) = [
        c for c in synthesis.configs if c.recovery_of is None and f"`{c.stack_prefix}-" in runbook
    ]
    # ... one with every DR copy and a read replica, which the names below include.
    assert config.backup.copy_to_dr_region
    assert config.storage.replicate_to_dr_region
    assert config.database.read_replicas >= 1
    stack = config.stack_prefix
    names = {
        synthesis.resources(f"{stack}-backup", "aws_backup_vault")["vault/vault"]["name"],
        synthesis.resources(f"{stack}-backup", "aws_backup_vault")["dr-vault/vault"]["name"],
        synthesis.resources(f"{stack}-data", "aws_db_instance")["postgres/primary"]["identifier"],
        synthesis.resources(f"{stack}-data", "aws_db_instance")["postgres/replica-0"]["identifier"],
        synthesis.resources(f"{stack}-data", "aws_db_subnet_group")["postgres/subnet-group"][
            "name"
        ],
        synthesis.resources(f"{stack}-data", "aws_s3_bucket")["storage/replica/bucket"]["bucket"],
        synthesis.resources(f"{stack}-data", "aws_s3_bucket")["storage/media/bucket"]["bucket"],
        synthesis.resources(f"{stack}-observability", "aws_sns_topic")["alarm-topic/topic"]["name"],
    }
    assert [n for n in names if n not in runbook] == []
    # A recovery of it: the runbook names every stack of it the app makes, and no
    # other layer's (a recovery has no bootstrap).
    from kreo_infra.layers import ACCOUNT_LAYERS, ENVIRONMENT_LAYERS

    for recovery in [c for c in synthesis.configs if c.recovery_of == config.name]:
        named = {
            f"{recovery.stack_prefix}-{layer}"
            for layer in (*ACCOUNT_LAYERS, *ENVIRONMENT_LAYERS)
            if f"`{recovery.stack_prefix}-{layer}`" in runbook
        }
        made = {n for n in synthesis.stack_names if n.startswith(f"{recovery.stack_prefix}-")}
        assert named == made
    others = [c for c in synthesis.configs if c.recovery_of not in (None, config.name)]
    assert [c.name for c in others if f"`{c.stack_prefix}-" in runbook] == []
    for failure in ("Availability-zone loss", "Region loss", "Bad deploy", "Accidental deletion"):
        assert f"## {failure}" in runbook


def test_the_stack_is_wiring_only() -> None:
    """Which alarms exist and how they read is the catalogue's (observability/catalog.py),
    the dashboard's body observability/dashboard.py's: the stack defines neither."""
    import ast
    import inspect

    from kreo_infra.stacks import observability

    tree = ast.parse(inspect.getsource(observability))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"AlarmSpec", "Ratio"}
    assert not [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name != "__init__"
    ]
