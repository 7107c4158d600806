"""charts/kreo-platform rendered and linted with the exact values the stack passes."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.policy.checkov import PolicyScan
from tests.conftest import PROJECT_ROOT, Synthesis

CHART = PROJECT_ROOT / "charts" / "kreo-platform"


def stack_values(synthesis: Synthesis, env: str) -> dict[str, Any]:
    """The values the platform stack of environment ``env`` passes to the chart."""
    from tests.charts import values

    return values(synthesis, env, "kreo-platform")


@pytest.fixture
def config(env_name: str, synthesis: Synthesis) -> EnvironmentConfig:
    return synthesis.environment(env_name)


@pytest.fixture
def rendered(env_name: str, synthesis: Synthesis) -> tuple[dict, list[dict]]:
    from tests.charts import installed

    return stack_values(synthesis, env_name), installed(synthesis, env_name, "kreo-platform")


def by_kind(documents: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_lint_clean_with_the_stack_values(
    synthesis: Synthesis, env_name: str, config: EnvironmentConfig
) -> None:
    from helm_python.chart import lint

    kube_version = f"v{config.cluster.kubernetes_version}.0"
    report = lint(CHART, stack_values(synthesis, env_name), strict=True, kube_version=kube_version)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_schema_rejects_wrong_values() -> None:
    from helm_python.chart import lint

    report = lint(CHART, {"secretStore": {"namespaces": "kreo-marketplace"}}, strict=True)
    assert any("namespaces" in error for error in report["errors"])


def test_default_encrypted_gp3_storage_class(
    rendered: tuple[dict, list[dict]], config: EnvironmentConfig
) -> None:
    values, documents = rendered
    (storage,) = by_kind(documents, "StorageClass").values()
    assert (
        storage["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    )
    assert storage["provisioner"] == "ebs.csi.aws.com"
    tags = values["storageClass"]["volumeTags"]
    assert tags == {
        "kreo.com/backup": "daily",
        "Environment": config.name,
        "Project": config.project,
    }
    assert storage["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": values["storageClass"]["kmsKeyId"],
        **{f"tagSpecification_{i}": f"{k}={tags[k]}" for i, k in enumerate(sorted(tags), 1)},
    }
    # The cluster's own volume key (cluster layer), not the account's aws/ebs.
    cluster = f"cross-stack-reference-input-{config.stack_prefix}-cluster"
    assert cluster in storage["parameters"]["kmsKeyId"]
    assert "aws_kms_keyvolume-key" in storage["parameters"]["kmsKeyId"]
    assert storage["reclaimPolicy"] == "Retain"


def test_no_issuers_nobody_asks_for(rendered: tuple[dict, list[dict]]) -> None:
    """TLS ends at the ALB (ACM); cert-manager serves only the load balancer
    controller's webhook, through the controller chart's own Issuer."""
    _, documents = rendered
    kinds = {d["kind"] for d in documents}
    assert kinds == {
        "StorageClass",
        "ClusterSecretStore",
        "ExternalSecret",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
    assert not kinds & {"Issuer", "ClusterIssuer", "Certificate"}


def test_storage_binds_where_the_pod_lands(rendered: tuple[dict, list[dict]]) -> None:
    _, documents = rendered
    (storage,) = by_kind(documents, "StorageClass").values()
    assert storage["volumeBindingMode"] == "WaitForFirstConsumer"


def test_secret_store_and_grafana_admin(rendered: tuple[dict, list[dict]]) -> None:
    values, documents = rendered
    (store,) = by_kind(documents, "ClusterSecretStore").values()
    assert store["spec"]["provider"]["aws"] == {
        "service": "SecretsManager",
        "region": values["region"],
    }
    assert "auth" not in store["spec"]["provider"]["aws"]
    # Only the marketplace and Grafana's namespace may read through the store: an
    # ExternalSecret elsewhere cannot pull kreo/<env>/* (the master password too).
    assert store["spec"]["conditions"] == [{"namespaces": ["kreo-marketplace", "monitoring"]}]
    (admin,) = by_kind(documents, "ExternalSecret").values()
    assert admin["metadata"]["namespace"] == "monitoring"
    assert admin["spec"]["target"]["name"] == "grafana-admin"
    assert admin["spec"]["dataFrom"] == [{"extract": {"key": values["grafanaAdmin"]["remoteKey"]}}]


def test_manifests_match_the_kubernetes_api(
    rendered: tuple[dict, list[dict]], config: EnvironmentConfig
) -> None:
    """The StorageClass and the admission policies against the cluster's Kubernetes
    API schema (strict); the secret store and ExternalSecret are custom kinds
    (external-secrets' CRDs)."""
    import kubernetes_validate

    unchecked = set()
    for document in rendered[1]:
        try:
            kubernetes_validate.validate(document, config.cluster.kubernetes_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.add(document["kind"])
    assert unchecked == {"ClusterSecretStore", "ExternalSecret"}


def test_rendered_manifests_pass_checkov(policy_scan: PolicyScan, env_name: str) -> None:
    """checkov's Kubernetes checks on the release's manifests (the session's one scan;
    its cluster-scoped kinds have few workload checks, so none may pass)."""
    report = policy_scan.manifests[f"kreo-platform/{env_name}"]
    assert report.parsing_errors == []
    assert report.failed == []
