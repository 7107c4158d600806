"""kreo-<env>-network, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

TIERS = ("public", "private", "database")
ENDPOINT_SERVICES = {"s3", "ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager", "ec2"}


Env = tuple[Synthesis, str, EnvironmentConfig]


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-network", config


def zones(config: EnvironmentConfig) -> range:
    return range(config.network.az_count)


def routes_of(synthesis: Synthesis, stack: str, table_path: str) -> list[dict[str, Any]]:
    table = synthesis.ref(stack, "aws_route_table", table_path, "id")
    return [
        r for r in synthesis.resources(stack, "aws_route").values() if r["route_table_id"] == table
    ]


def test_vpc_from_config_with_dns(env: Env) -> None:
    synthesis, stack, config = env
    (vpc,) = synthesis.resources(stack, "aws_vpc").values()
    assert vpc["cidr_block"] == config.network.vpc_cidr
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_one_subnet_per_az_and_tier(env: Env) -> None:
    synthesis, stack, config = env
    subnets = synthesis.resources(stack, "aws_subnet")
    assert len(subnets) == config.network.az_count * len(TIERS)
    plan = config.network.subnet_plan()
    for tier in TIERS:
        tier_subnets = [subnets[f"vpc/{tier}-{i}"] for i in zones(config)]
        assert [
            s["availability_zone_id"] for s in tier_subnets
        ] == config.network.availability_zone_ids
        assert [s["cidr_block"] for s in tier_subnets] == list(getattr(plan, tier))
        assert all(s["map_public_ip_on_launch"] is False for s in tier_subnets)
    assert len(set(config.network.availability_zone_ids)) == config.network.az_count >= 2


def test_database_subnets_have_no_route_out(env: Env) -> None:
    synthesis, stack, config = env
    assert routes_of(synthesis, stack, "vpc/database-routes") == []
    table = synthesis.resources(stack, "aws_route_table")["vpc/database-routes"]
    assert "route" not in table
    table_ref = synthesis.ref(stack, "aws_route_table", "vpc/database-routes", "id")
    associations = synthesis.resources(stack, "aws_route_table_association")
    for i in zones(config):
        subnet = synthesis.ref(stack, "aws_subnet", f"vpc/database-{i}", "id")
        (association,) = [a for a in associations.values() if a["subnet_id"] == subnet]
        assert association["route_table_id"] == table_ref


def test_public_subnets_route_to_the_internet_gateway(env: Env) -> None:
    synthesis, stack, _ = env
    (route,) = routes_of(synthesis, stack, "vpc/public-routes")
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert route["gateway_id"] == synthesis.ref(
        stack, "aws_internet_gateway", "vpc/internet-gateway", "id"
    )


def test_private_subnets_use_a_nat_in_their_own_az_unless_single(env: Env) -> None:
    synthesis, stack, config = env
    nats = synthesis.resources(stack, "aws_nat_gateway")
    single = config.network.single_nat_gateway
    assert set(nats) == {f"vpc/nat-{i}" for i in (range(1) if single else zones(config))}
    for i in zones(config):
        nat = 0 if single else i
        (route,) = routes_of(synthesis, stack, f"vpc/private-{i}-routes")
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        assert route["nat_gateway_id"] == synthesis.ref(
            stack, "aws_nat_gateway", f"vpc/nat-{nat}", "id"
        )
    for i in range(len(nats)):
        assert nats[f"vpc/nat-{i}"]["subnet_id"] == synthesis.ref(
            stack, "aws_subnet", f"vpc/public-{i}", "id"
        )


def test_discovery_tags(env: Env) -> None:
    synthesis, stack, config = env
    subnets = synthesis.resources(stack, "aws_subnet")
    cluster_tag = f"kubernetes.io/cluster/{config.cluster_name}"
    for i in zones(config):
        public, private, database = (subnets[f"vpc/{t}-{i}"]["tags"] for t in TIERS)
        assert public["kubernetes.io/role/elb"] == "1"
        assert public[cluster_tag] == "shared"
        assert private["kubernetes.io/role/internal-elb"] == "1"
        assert private[cluster_tag] == "shared"
        assert "kubernetes.io/role/elb" not in private
        assert not any(k.startswith("kubernetes.io") for k in database)


def test_flow_logs_capture_everything_into_an_encrypted_group(env: Env) -> None:
    synthesis, stack, config = env
    (flow_log,) = synthesis.resources(stack, "aws_flow_log").values()
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["vpc_id"] == synthesis.ref(stack, "aws_vpc", "vpc/vpc", "id")
    assert flow_log["log_destination_type"] == "cloud-watch-logs"
    assert flow_log["log_destination"] == synthesis.ref(
        stack, "aws_cloudwatch_log_group", "flow-logs/logs/group", "arn"
    )
    group = synthesis.resources(stack, "aws_cloudwatch_log_group")["flow-logs/logs/group"]
    assert group["retention_in_days"] == config.network.flow_log_retention_days
    assert group["kms_key_id"] == synthesis.ref(
        stack, "aws_kms_key", "flow-logs/logs/key/key", "arn"
    )
    key = synthesis.resources(stack, "aws_kms_key")["flow-logs/logs/key/key"]
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30


def test_flow_log_key_lets_cloudwatch_use_it_for_this_group_only(env: Env) -> None:
    synthesis, stack, config = env
    key = synthesis.resources(stack, "aws_kms_key")["flow-logs/logs/key/key"]
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    logs = statements["CloudWatchLogsUseForThisLogGroup"]
    assert logs["Principal"] == {"Service": f"logs.{config.region}.amazonaws.com"}
    arn = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert arn.endswith(f":log-group:/aws/vpc/flow-logs/{config.stack_prefix}")


def test_flow_log_role_is_least_privilege(env: Env) -> None:
    synthesis, stack, config = env
    (role,) = synthesis.resources(stack, "aws_iam_role").values()
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    (policy,) = synthesis.resources(stack, "aws_iam_role_policy").values()
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert "*" not in statement["Resource"]
    assert all(
        r.split(":log-group:")[1].startswith(f"/aws/vpc/flow-logs/{config.stack_prefix}")
        for r in statement["Resource"]
    )
    assert all(a.startswith("logs:") and "*" not in a for a in statement["Action"])


def test_default_security_group_has_no_rules(env: Env) -> None:
    synthesis, stack, _ = env
    (default,) = synthesis.resources(stack, "aws_default_security_group").values()
    assert default["vpc_id"] == synthesis.ref(stack, "aws_vpc", "vpc/vpc", "id")
    assert "ingress" not in default
    assert "egress" not in default


def test_every_endpoint_exists(env: Env) -> None:
    synthesis, stack, config = env
    endpoints = synthesis.resources(stack, "aws_vpc_endpoint").values()
    prefix = f"com.amazonaws.{config.region}."
    assert {e["service_name"].removeprefix(prefix) for e in endpoints} == ENDPOINT_SERVICES


def test_s3_gateway_endpoint_on_the_private_route_tables(env: Env) -> None:
    synthesis, stack, config = env
    s3 = synthesis.resources(stack, "aws_vpc_endpoint")["endpoints/s3"]
    assert s3["vpc_endpoint_type"] == "Gateway"
    assert s3["route_table_ids"] == [
        synthesis.ref(stack, "aws_route_table", f"vpc/private-{i}-routes", "id")
        for i in zones(config)
    ]


def test_interface_endpoints_in_private_subnets_behind_https_from_the_vpc(env: Env) -> None:
    synthesis, stack, config = env
    group = synthesis.ref(stack, "aws_security_group", "endpoints/security-group", "id")
    private = [synthesis.ref(stack, "aws_subnet", f"vpc/private-{i}", "id") for i in zones(config)]
    interfaces = [
        e
        for e in synthesis.resources(stack, "aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Interface"
    ]
    assert len(interfaces) == len(ENDPOINT_SERVICES) - 1
    for endpoint in interfaces:
        assert endpoint["subnet_ids"] == private
        assert endpoint["security_group_ids"] == [group]
        assert endpoint["private_dns_enabled"] is True
    (rule,) = synthesis.resources(stack, "aws_vpc_security_group_ingress_rule").values()
    assert rule["security_group_id"] == group
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["cidr_ipv4"] == config.network.vpc_cidr
    sg = synthesis.resources(stack, "aws_security_group")["endpoints/security-group"]
    assert "ingress" not in sg
    assert "egress" not in sg
    assert synthesis.resources(stack, "aws_vpc_security_group_egress_rule") == {}


def test_outputs_for_later_stacks(env: Env) -> None:
    synthesis, stack, _ = env
    outputs = synthesis.stack(stack)["output"]
    assert {
        "vpc-id", "vpc-cidr", "public-subnet-ids", "private-subnet-ids", "database-subnet-ids",
        "public-subnet-cidrs", "private-subnet-cidrs", "database-subnet-cidrs",
        "endpoint-security-group-id", "availability-zone-ids",
    } <= set(outputs)  # fmt: skip
    assert outputs["vpc-id"]["value"] == synthesis.ref(stack, "aws_vpc", "vpc/vpc", "id")


def test_cross_stack_reference_reads_the_network_state(
    providers: None, configs: list[EnvironmentConfig], env_name: str, tmp_path
) -> None:
    """A later layer that uses ``vpc_id`` gets it through remote state, wired by cdktf."""
    from cdktf import App, TerraformOutput

    from kreo_infra.stacks import KreoStack, NetworkStack

    class Consumer(KreoStack):
        layer = "consumer"

    config = next(c for c in configs if c.name == env_name)
    app = App(outdir=str(tmp_path))
    network = NetworkStack(app, config=config)
    consumer = Consumer(app, config=config)
    TerraformOutput(consumer, "uses-vpc", value=network.outputs.vpc_id)
    app.synth()
    stack = tmp_path / "stacks" / f"{config.stack_prefix}-consumer" / "cdk.tf.json"
    body = json.loads(stack.read_text())
    (remote,) = body["data"]["terraform_remote_state"].values()
    assert remote["backend"] == "s3"
    assert remote["config"]["key"] == f"{config.state.key_prefix}/{config.name}/network.tfstate"
    assert remote["config"]["bucket"] == config.state.bucket
    assert "${data.terraform_remote_state." in body["output"]["uses-vpc"]["value"]
