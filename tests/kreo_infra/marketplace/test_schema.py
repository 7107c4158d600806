"""values.schema.json (and the chart's own checks) reject bad values, one test per kind."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

CHART = PROJECT_ROOT / "charts" / "kreo-marketplace"


@pytest.fixture
def values() -> dict[str, Any]:
    """The chart's own defaults: valid on their own (the test below proves it)."""
    return copy.deepcopy(yaml.safe_load((CHART / "values.yaml").read_text()))


def errors_of(values: dict[str, Any]) -> list[str]:
    from helm_python.chart import lint

    return lint(CHART, values, strict=True, kube_version="v1.35.0")["errors"]


def test_defaults_are_valid(values: dict[str, Any]) -> None:
    assert errors_of(values) == []


def gateway(values: dict[str, Any]) -> dict[str, Any]:
    return values["services"]["api-gateway"]


def roles(values: dict[str, Any]) -> dict[str, Any]:
    return values["databaseRoles"]


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing image tag": (
        lambda v: v["services"].update(
            {"new-service": {"port": 3009, "image": {"repository": "registry.example/kreo/new"}}}
        ),
        "tag",
    ),
    "moving image tag": (lambda v: gateway(v)["image"].update(tag="latest"), "tag"),
    "unknown service key": (lambda v: gateway(v).update(replica=3), "replica"),
    "non-numeric port": (lambda v: gateway(v).update(port="3000"), "port"),
    "port out of range": (lambda v: gateway(v).update(port=70000), "port"),
    "service name not a DNS label": (
        lambda v: v["services"].update(Payments=copy.deepcopy(gateway(v))),
        "Payments",
    ),
    "route not a path": (lambda v: gateway(v).update(path="api/auth"), "path"),
    "CPU target above 100%": (
        lambda v: v["defaults"]["autoscaling"].update(targetCPUUtilizationPercentage=120),
        "targetCPUUtilizationPercentage",
    ),
    "malformed CIDR": (lambda v: v["networkPolicy"].update(dataCidrs=["10.0.0.0"]), "dataCidrs"),
    "TLS policy older than 1.3/1.2": (
        lambda v: v["ingress"].update(sslPolicy="ELBSecurityPolicy-2016-08"),
        "sslPolicy",
    ),
    "secret read into a lowercase variable": (
        lambda v: gateway(v).update(secrets={"jwt_secret": "kreo/example/jwt/signing-key"}),
        "jwt_secret",
    ),
    "database role not a PostgreSQL name": (
        lambda v: gateway(v)["database"].update(user="api-gateway"),
        "user",
    ),
    "reserved database role": (
        lambda v: roles(v)["services"]["api-gateway"].update(readerUser="rds_iam"),
        "readerUser",
    ),
    "service database without its reader": (
        lambda v: v["services"].update(
            {
                "new-service": {
                    "port": 3009,
                    "image": {"repository": "registry.example/kreo/new", "tag": "1.0.0"},
                    "database": {"user": "new_service"},
                }
            }
        ),
        "readerUser",
    ),
    "moving database client tag": (lambda v: roles(v)["image"].update(tag="latest"), "tag"),
    "database client digest not sha256": (
        lambda v: roles(v)["image"].update(digest="sha256:abc"),
        "digest",
    ),
    "database host with a scheme": (
        lambda v: roles(v).update(host="postgres://db.example.com"),
        "host",
    ),
    "password among the database role values": (
        lambda v: roles(v).update(password="hunter2"),
        "password",
    ),
    "role job without a deadline": (
        lambda v: roles(v).update(activeDeadlineSeconds=0),
        "activeDeadlineSeconds",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_schema_rejects(values: dict[str, Any], case: str) -> None:
    break_values, field = CASES[case]
    break_values(values)
    errors = errors_of(values)
    assert errors, case
    assert any("schema" in e and field in e for e in errors), errors


def render_error(values: dict[str, Any]) -> str:
    """The chart's own checks (``fail``) stop rendering; ``helm lint`` only logs them."""
    from helm_python import Chart
    from helm_python.errors import HelmRenderError

    with pytest.raises(HelmRenderError) as caught:
        Chart.load(CHART).render(values, name="kreo-marketplace", namespace="kreo-marketplace")
    return str(caught.value)


def test_min_replicas_above_max_fails_rendering(values: dict[str, Any]) -> None:
    # JSON Schema cannot compare two fields; the chart's autoscaling helper fails instead.
    gateway(values)["autoscaling"] = {
        "minReplicas": 5,
        "maxReplicas": 2,
        "targetCPUUtilizationPercentage": 70,
        "targetMemoryUtilizationPercentage": 80,
    }
    assert "services.api-gateway.autoscaling: minReplicas (5) is greater than maxReplicas (2)" in (
        render_error(values)
    )


def test_exactly_one_gateway(values: dict[str, Any]) -> None:
    values["services"]["auth-service"]["gateway"] = True
    assert "exactly one service needs gateway: true, found 2" in render_error(values)


def test_config_may_not_shadow_a_service_url(values: dict[str, Any]) -> None:
    values["config"]["SERVICE_URL_AUTH_SERVICE"] = "http://elsewhere"
    assert "config.SERVICE_URL_AUTH_SERVICE is set by the chart" in render_error(values)


def test_database_user_is_not_shared(values: dict[str, Any]) -> None:
    values["config"]["DATABASE_USER"] = "kreo_admin"
    assert "config.DATABASE_USER: the database user is per service" in render_error(values)


def test_service_roles_are_the_roles_the_job_creates(values: dict[str, Any]) -> None:
    values["services"]["auth-service"]["database"]["user"] = "auth"
    assert "services.auth-service.database differs from databaseRoles.services.auth-service" in (
        render_error(values)
    )


def test_job_roles_belong_to_services(values: dict[str, Any]) -> None:
    roles(values)["services"]["old-service"] = {"user": "old", "readerUser": "old_reader"}
    assert "databaseRoles.services.old-service: no such service" in render_error(values)


def test_no_role_serves_two_services(values: dict[str, Any]) -> None:
    shared = {"user": "api_gateway", "readerUser": "api_gateway_reader"}
    values["services"]["auth-service"]["database"] = dict(shared)
    roles(values)["services"]["auth-service"] = dict(shared)
    assert "role api_gateway is given twice" in render_error(values)
