"""kreo-<env>-app, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import apex_owner
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-app", config


def release_of(synthesis: Synthesis, stack: str) -> dict[str, Any]:
    return synthesis.resources(stack, "helm_release")["kreo-marketplace/release"]


def remote(config: EnvironmentConfig, layer: str) -> str:
    return (
        f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-{layer}"
    )


def test_namespace_enforces_the_restricted_pod_security_standard(env: Env) -> None:
    synthesis, stack, config = env
    namespace = synthesis.resources(stack, "kubernetes_namespace_v1")["namespace"]
    metadata = namespace["metadata"]
    assert metadata["name"] == "kreo-marketplace"
    labels = metadata["labels"]
    version = f"v{config.cluster.kubernetes_version}"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version


def test_namespace_gets_load_balancer_readiness_gates(env: Env) -> None:
    """The controller injects target-health readiness gates into pods created in
    namespaces with this label only (its docs/deploy/pod_readiness_gate.md)."""
    synthesis, stack, _ = env
    namespace = synthesis.resources(stack, "kubernetes_namespace_v1")["namespace"]
    labels = namespace["metadata"]["labels"]
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_release_is_atomic_and_waits(env: Env) -> None:
    synthesis, stack, _ = env
    release = release_of(synthesis, stack)
    assert release["name"] == "kreo-marketplace"
    assert release["namespace"] == "kreo-marketplace"
    assert release["atomic"] is True
    assert release["wait"] is True
    assert release["timeout"] == 600
    assert release["create_namespace"] is False
    assert "kubernetes_namespace_v1.namespace" in release["depends_on"]


def test_chart_travels_with_the_stack(env: Env) -> None:
    synthesis, stack, _ = env
    chart = release_of(synthesis, stack)["chart"]
    assert chart.startswith("assets/marketplace-chart/")
    copied = synthesis.outdir / "stacks" / stack / chart
    assert (copied / "Chart.yaml").is_file()
    assert (copied / "values.schema.json").is_file()
    assert (copied / "templates" / "deployment.yaml").is_file()


def test_app_deploys_after_the_layers_it_needs(env: Env) -> None:
    synthesis, stack, config = env
    manifest = json.loads((synthesis.outdir / "manifest.json").read_text())
    dependencies = set(manifest["stacks"][stack]["dependencies"])
    layers = ("edge", "cluster", "data", "platform")
    assert dependencies == {f"{config.stack_prefix}-{layer}" for layer in layers}


def test_providers_authenticate_with_short_lived_tokens(env: Env) -> None:
    synthesis, stack, config = env
    (kubernetes,) = synthesis.stack(stack)["provider"]["kubernetes"]
    (exec_block,) = kubernetes["exec"]
    assert exec_block["command"] == "aws"
    assert exec_block["args"][:2] == ["eks", "get-token"]
    assert config.cluster_name in exec_block["args"]
    assert kubernetes["host"].startswith(remote(config, "cluster"))


def values_of(synthesis: Synthesis, stack: str) -> dict[str, Any]:
    (document,) = release_of(synthesis, stack)["values"]
    return yaml.safe_load(document)


def test_values_name_every_configured_service(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack)
    assert sorted(values["services"]) == sorted(config.services)
    for name, service in values["services"].items():
        assert service["port"] == config.services[name].port
        assert service["image"]["tag"] == config.application.image_tag
        if config.services[name].path:
            assert service["path"] == config.services[name].path
        else:
            assert service["gateway"] is True


def test_images_come_from_the_registry_account(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack)
    # The apex owner (a recovery of it shares its domain, not its bootstrap).
    owner = apex_owner(synthesis.configs)
    repositories = synthesis.resources(f"{owner.stack_prefix}-bootstrap", "aws_ecr_repository")
    created = {r["name"] for r in repositories.values()}
    for name, service in values["services"].items():
        repository = service["image"]["repository"]
        # The apex owner's bootstrap's repositories (deployed before any environment).
        assert repository == (
            f"{owner.account_id}.dkr.ecr.{config.region}.amazonaws.com/kreo/{name}"
        )
        assert f"kreo/{name}" in created
    if config.region != owner.region:
        # Another region's copies (a recovery's, in the owner's DR region) are the
        # registry's replicas of the same repositories.
        bootstrap = f"{owner.stack_prefix}-bootstrap"
        replications = synthesis.resources(bootstrap, "aws_ecr_replication_configuration")
        regions = {
            destination["region"]
            for replication in replications.values()
            for rule in replication["replication_configuration"]["rule"]
            for destination in rule["destination"]
        }
        assert config.region in regions


# --- identities ---------------------------------------------------------------------------------


def test_a_pod_identity_role_per_service(env: Env) -> None:
    synthesis, stack, config = env
    associations = synthesis.resources(stack, "aws_eks_pod_identity_association")
    bound = {(a["namespace"], a["service_account"]) for a in associations.values()}
    own = {n for n in config.services if n != "product-service"}
    assert bound == {("kreo-marketplace", n) for n in own}
    roles = synthesis.resources(stack, "aws_iam_role")
    for name in own:
        role = roles[f"identities/{name}/role"]
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].startswith(
            remote(config, "cluster")
        )


def test_product_service_keeps_its_cluster_role(env: Env) -> None:
    synthesis, stack, config = env
    policy = synthesis.resources(stack, "aws_iam_role_policy")[
        "identities/product-service-data-access"
    ]
    assert policy["name"] == "data-access"
    assert policy["role"].startswith(remote(config, "cluster"))
    values = values_of(synthesis, stack)
    assert values["services"]["product-service"]["iamRoleArn"].startswith(remote(config, "cluster"))


def data_access_statements(synthesis: Synthesis, stack: str, service: str) -> list[dict[str, Any]]:
    policies = synthesis.resources(stack, "aws_iam_role_policy")
    path = (
        "identities/product-service-data-access"
        if service == "product-service"
        else f"identities/{service}/policy"
    )
    return json.loads(policies[path]["policy"])["Statement"]


def test_services_reach_the_data_tier_with_iam_only(env: Env) -> None:
    synthesis, stack, config = env
    from kreo_infra.marketplace.database_users import database_reader, database_user

    for service in config.services:
        database, cache = data_access_statements(synthesis, stack, service)
        assert database["Action"] == "rds-db:connect"
        # Its own roles, never the master user: the writer through the proxy, the
        # reader on each replica (without replicas: through the proxy too).
        writer, *readers = database["Resource"]
        assert writer.endswith(f"/{database_user(service)}")
        assert len(readers) == max(config.database.read_replicas, 1)
        assert all(r.endswith(f"/{database_reader(service)}") for r in readers)
        for resource in database["Resource"]:
            assert ":dbuser:" in resource
            assert not resource.endswith(f"/{config.database.master_username}")
            assert remote(config, "data") in resource  # the proxy's / replica's resource id
        assert cache["Action"] == "elasticache:Connect"
        assert len(cache["Resource"]) == 2
        assert all(r.startswith(remote(config, "data")) for r in cache["Resource"])


def test_release_waits_for_the_identities(env: Env) -> None:
    synthesis, stack, _ = env
    depends = set(release_of(synthesis, stack)["depends_on"])
    for kind in ("aws_iam_role_policy", "aws_eks_pod_identity_association"):
        for body in synthesis.resources(stack, kind).values():
            assert f"{kind}.{body['//']['metadata']['uniqueId']}" in depends


def test_values_carry_each_services_role(env: Env) -> None:
    synthesis, stack, _ = env
    values = values_of(synthesis, stack)
    roles = synthesis.resources(stack, "aws_iam_role")
    for name, service in values["services"].items():
        if name == "product-service":
            continue
        assert service["iamRoleArn"] == synthesis.ref(
            stack, "aws_iam_role", f"identities/{name}/role", "arn"
        )
        assert f"identities/{name}/role" in roles
