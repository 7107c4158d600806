"""ServiceIdentities: defaults and input validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


def identities(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.marketplace.identity import DataAccess, ServiceIdentities

    props: dict[str, Any] = {
        "services": ["api-gateway", "product-service"],
        "cluster_name": "kreo-test",
        "cluster_arn": "arn:aws:eks:us-east-1:123456789012:cluster/kreo-test",
        "account": ACCOUNT,
        "data_access": DataAccess(
            database_proxy_resource_id="prx-0123",
            database_replica_resource_ids=["db-REPLICA0"],
            cache_arn="arn:aws:elasticache:us-east-1:123456789012:replicationgroup:kreo-test-cache",
            cache_user_arn="arn:aws:elasticache:us-east-1:123456789012:user:kreo-test-app",
        ),
    }
    return ServiceIdentities(stack, "identities", **{**props, **overrides})


def test_every_service_gets_a_role_in_the_app_namespace(stack: Any) -> None:

    built = identities(stack)
    resources = synth_stack(stack)["resource"]
    associations = resources["aws_eks_pod_identity_association"].values()
    assert {(a["namespace"], a["service_account"]) for a in associations} == {
        ("kreo-marketplace", "api-gateway"),
        ("kreo-marketplace", "product-service"),
    }
    assert set(built.role_arns) == {"api-gateway", "product-service"}
    (gateway, product) = resources["aws_iam_role_policy"].values()
    database, cache = json.loads(gateway["policy"])["Statement"]
    # Its own roles: the writer through the proxy, the reader on the replica.
    assert database["Resource"] == [
        "arn:aws:rds-db:us-east-1:123456789012:dbuser:prx-0123/api_gateway",
        "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-REPLICA0/api_gateway_reader",
    ]
    assert cache["Action"] == "elasticache:Connect"
    database, _ = json.loads(product["policy"])["Statement"]
    assert database["Resource"][0].endswith("/product_service")


def test_without_replicas_the_reader_goes_through_the_proxy(stack: Any) -> None:
    from kreo_infra.marketplace.identity import DataAccess

    identities(
        stack,
        services=["order-service"],
        data_access=DataAccess(
            database_proxy_resource_id="prx-0123",
            database_replica_resource_ids=[],
            cache_arn="arn:cache",
            cache_user_arn="arn:user",
        ),
    )
    (policy,) = synth_stack(stack)["resource"]["aws_iam_role_policy"].values()
    database, _ = json.loads(policy["policy"])["Statement"]
    assert [r.rsplit(":", 1)[1] for r in database["Resource"]] == [
        "prx-0123/order_service",
        "prx-0123/order_service_reader",
    ]


def test_existing_role_gets_the_policy_and_no_new_role(stack: Any) -> None:

    built = identities(stack, existing_roles={"product-service": ("kreo-test-product", "arn:x")})
    resources = synth_stack(stack)["resource"]
    assert len(resources["aws_iam_role"]) == 1
    assert built.role_arns["product-service"] == "arn:x"
    roles = {p["role"] for p in resources["aws_iam_role_policy"].values()}
    assert "kreo-test-product" in roles


def test_existing_roles_must_name_services(stack: Any) -> None:
    with pytest.raises(PropsError, match=r"existing_roles=\['search-service'\]"):
        identities(stack, existing_roles={"search-service": ("r", "arn:r")})
