"""charts/kreo-marketplace rendered and linted with the exact values the app stack passes."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.policy.checkov import PolicyScan
from tests.conftest import PROJECT_ROOT, Synthesis
from tests.runtime.capacity import render_chart

CHART = PROJECT_ROOT / "charts" / "kreo-marketplace"
NAMESPACE = "kreo-marketplace"

Rendered = tuple[EnvironmentConfig, dict[str, Any], list[dict[str, Any]]]


def stack_values(synthesis: Synthesis, env: str) -> dict[str, Any]:
    """The values the app stack of environment ``env`` passes to the chart."""
    from tests.charts import values

    return values(synthesis, env, "kreo-marketplace")


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    return render_chart(CHART, values, name="kreo-marketplace", namespace=NAMESPACE)


@pytest.fixture(scope="module")
def rendered(env_name: str, synthesis: Synthesis) -> Rendered:
    config = synthesis.environment(env_name)
    values = stack_values(synthesis, env_name)
    return config, values, render(values)


def is_hook(document: dict[str, Any]) -> bool:
    return "helm.sh/hook" in (document["metadata"].get("annotations") or {})


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The release's own objects of ``kind`` by name; hooks (the database-roles
    job and its objects) are tested in test_database_roles.py."""
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind and not is_hook(d)}


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


# --- lint and policy -----------------------------------------------------------------------------

CUSTOM_KINDS = {"ExternalSecret", "ServiceMonitor", "PrometheusRule"}
"""Kinds from the platform layer's CRDs (external-secrets, the Prometheus Operator):
not in the Kubernetes API schemas; the pinned charts' CRDs define them."""


def test_manifests_match_the_kubernetes_api(rendered: Rendered) -> None:
    """Every object, hooks included, against the OpenAPI schema of the cluster's
    Kubernetes minor (kubernetes-validate, strict: unknown fields are errors), so a
    field the API server would reject or silently drop fails here."""
    import kubernetes_validate

    config, _, documents = rendered
    unchecked = set()
    for document in documents:
        try:
            kubernetes_validate.validate(document, config.cluster.kubernetes_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.add(document["kind"])
    assert unchecked == CUSTOM_KINDS


def test_kubernetes_api_check_bites(rendered: Rendered) -> None:
    import kubernetes_validate

    config, _, documents = rendered
    deployment = copy.deepcopy(next(iter(by_kind(documents, "Deployment").values())))
    container_of(deployment)["lifecycle"]["preStop"]["slep"] = {"seconds": 20}
    with pytest.raises(kubernetes_validate.ValidationError, match="'slep' was unexpected"):
        kubernetes_validate.validate(deployment, config.cluster.kubernetes_version, strict=True)


def test_lint_clean_with_the_stack_values(synthesis: Synthesis, env_name: str) -> None:
    from helm_python.chart import lint

    kube_version = f"v{synthesis.environment(env_name).cluster.kubernetes_version}.0"
    report = lint(CHART, stack_values(synthesis, env_name), strict=True, kube_version=kube_version)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert re.match(r"^\d+\.\d+\.\d+$", chart["version"])
    assert chart["appVersion"]
    assert (CHART / "templates" / "NOTES.txt").is_file()
    assert (CHART / "README.md").is_file()


def test_rendered_manifests_pass_checkov(policy_scan: PolicyScan, env_name: str) -> None:
    """checkov's Kubernetes checks on the release's manifests (the session's one scan)."""
    report = policy_scan.manifests[f"kreo-marketplace/{env_name}"]
    assert report.parsing_errors == []
    assert report.passed > 0
    assert report.failed == []


def test_every_inline_checkov_skip_is_documented(rendered: Rendered) -> None:
    _, _, documents = rendered
    skipped = {
        value.split("=")[0]
        for d in documents
        for key, value in (d["metadata"].get("annotations") or {}).items()
        if key.startswith("checkov.io/skip")
    }
    assert skipped == {"CKV_K8S_35", "CKV_K8S_43"}
    security = (PROJECT_ROOT / "docs" / "security.md").read_text()
    assert [check for check in skipped if check not in security] == []


# --- one set of objects per service --------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount"],
)
def test_one_object_of_each_kind_per_service(rendered: Rendered, kind: str) -> None:
    config, _, documents = rendered
    objects = by_kind(documents, kind)
    assert sorted(objects) == sorted(config.services)
    assert all(o["metadata"]["namespace"] == NAMESPACE for o in objects.values())


def test_every_object_is_namespaced_and_named_within_limits(rendered: Rendered) -> None:
    _, _, documents = rendered
    for document in documents:
        assert document["metadata"]["namespace"] == NAMESPACE
        assert len(document["metadata"]["name"]) <= 63
        for value in (document["metadata"].get("labels") or {}).values():
            assert len(value) <= 63


def test_images_from_ecr_with_the_release_tag(rendered: Rendered) -> None:
    config, values, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        container = container_of(deployment)
        repository = values["services"][name]["image"]["repository"]
        assert container["image"] == f"{repository}:{config.application.image_tag}"
        assert container["imagePullPolicy"] == "Always"


def test_images_by_digest_when_config_names_one(synthesis: Synthesis, env_name: str) -> None:
    """``<tag>@sha256:<hex>`` in config: the Deployment pulls ``<repository>@sha256:<hex>``."""
    values = copy.deepcopy(stack_values(synthesis, env_name))
    digest = "sha256:" + "ab" * 32
    name = next(iter(values["services"]))
    values["services"][name]["image"] = {
        "repository": values["services"][name]["image"]["repository"],
        "tag": "1.4.2",
        "digest": digest,
    }
    deployments = by_kind(render(values), "Deployment")
    repository = values["services"][name]["image"]["repository"]
    assert container_of(deployments[name])["image"] == f"{repository}@{digest}"
    # A digest alone is enough; neither tag nor digest fails the chart's schema.
    values["services"][name]["image"].pop("tag")
    assert container_of(by_kind(render(values), "Deployment")[name])["image"] == (
        f"{repository}@{digest}"
    )
    from helm_python.chart import lint

    # Neither (null removes the chart default's tag, as Helm merges values).
    values["services"][name]["image"] = {"repository": repository, "tag": None}
    report = lint(CHART, values, strict=True)
    assert any("missing property 'digest'" in error for error in report["errors"])


def test_ports_and_services(rendered: Rendered) -> None:
    config, _, documents = rendered
    services = by_kind(documents, "Service")
    for name, deployment in by_kind(documents, "Deployment").items():
        port = config.services[name].port
        (container_port,) = container_of(deployment)["ports"]
        assert container_port == {"name": "http", "containerPort": port, "protocol": "TCP"}
        service = services[name]
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["ports"] == [
            {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}
        ]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert service["spec"]["selector"] == selector
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_ports_are_distinct_and_unprivileged(rendered: Rendered) -> None:
    """Containers run as non-root with every capability dropped: they cannot bind
    below 1024, and two services on one port would collide in the Ingress."""
    _, _, documents = rendered
    ports = [
        container_of(d)["ports"][0]["containerPort"]
        for d in by_kind(documents, "Deployment").values()
    ]
    assert len(set(ports)) == len(ports)
    assert all(1024 < port <= 65535 for port in ports)


def test_probes_with_the_seed_timings(rendered: Rendered) -> None:
    _, _, documents = rendered
    for deployment in by_kind(documents, "Deployment").values():
        container = container_of(deployment)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        assert (liveness["initialDelaySeconds"], liveness["periodSeconds"]) == (30, 10)
        assert (readiness["initialDelaySeconds"], readiness["periodSeconds"]) == (5, 5)
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_resources_from_config(rendered: Rendered) -> None:
    config, _, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        service = config.services[name]
        assert container_of(deployment)["resources"] == {
            "requests": {"cpu": service.requests.cpu, "memory": service.requests.memory},
            "limits": {"cpu": service.limits.cpu, "memory": service.limits.memory},
        }


def quantity(value: str) -> float:
    """A Kubernetes CPU or memory quantity in cores or bytes."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value.removesuffix(suffix)) * factor
    return float(value)


def test_requests_fit_within_limits(rendered: Rendered) -> None:
    _, _, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        resources = container_of(deployment)["resources"]
        for resource in ("cpu", "memory"):
            request = quantity(resources["requests"][resource])
            assert 0 < request <= quantity(resources["limits"][resource]), (name, resource)


def test_pods_are_locked_down(rendered: Rendered) -> None:
    _, _, documents = rendered
    for deployment in by_kind(documents, "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        context = container_of(deployment)["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["privileged"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert context["runAsUser"] >= 10000
        (mount,) = container_of(deployment)["volumeMounts"]
        assert mount == {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - the pod's own emptyDir
        (volume,) = pod["volumes"]
        assert volume["name"] == "tmp"
        assert "emptyDir" in volume


def test_spread_across_zones_and_nodes(rendered: Rendered) -> None:
    _, _, documents = rendered
    for deployment in by_kind(documents, "Deployment").values():
        spread = {
            c["topologyKey"]: c
            for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        }
        assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert all(c["labelSelector"]["matchLabels"] == selector for c in spread.values())


def test_rolling_update_never_drops_below_capacity(rendered: Rendered) -> None:
    _, _, documents = rendered
    for deployment in by_kind(documents, "Deployment").values():
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0
        assert "replicas" not in deployment["spec"]  # the HPA owns the count


def test_env_from_config_and_secrets(rendered: Rendered) -> None:
    config, _, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        sources = container_of(deployment)["envFrom"]
        assert {"configMapRef": {"name": "kreo-marketplace-config"}} in sources
        assert {"secretRef": {"name": "kreo-marketplace-shared-secrets"}} in sources
        own = {"secretRef": {"name": f"{name}-secrets"}}
        assert (own in sources) is bool(config.services[name].secrets)


def test_each_service_its_own_database_roles(rendered: Rendered) -> None:
    config, _, documents = rendered
    master = config.database.master_username
    users = []
    for name, deployment in by_kind(documents, "Deployment").items():
        env = {e["name"]: e.get("value") for e in container_of(deployment)["env"]}
        assert env["DATABASE_USER"] == database_user(name)
        assert env["DATABASE_READER_USER"] == database_reader(name)
        assert master not in (env["DATABASE_USER"], env["DATABASE_READER_USER"])
        users += [env["DATABASE_USER"], env["DATABASE_READER_USER"]]
    assert len(set(users)) == len(users) == 2 * len(config.services)


def test_configmap_names_no_database_user(rendered: Rendered) -> None:
    config, _, documents = rendered
    (configmap,) = by_kind(documents, "ConfigMap").values()
    assert "DATABASE_USER" not in configmap["data"]
    assert "DATABASE_READER_USER" not in configmap["data"]
    assert config.database.master_username not in configmap["data"].values()


def test_service_accounts_name_their_roles(rendered: Rendered) -> None:
    _, values, documents = rendered
    for name, account in by_kind(documents, "ServiceAccount").items():
        assert account["automountServiceAccountToken"] is False
        annotation = account["metadata"]["annotations"]["kreo.com/iam-role-arn"]
        assert annotation == values["services"][name]["iamRoleArn"]
    for name, deployment in by_kind(documents, "Deployment").items():
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name


# --- autoscaling and disruption -------------------------------------------------------------------


def test_autoscaling_v2_from_config(rendered: Rendered) -> None:
    config, _, documents = rendered
    for name, hpa in by_kind(documents, "HorizontalPodAutoscaler").items():
        scaling = config.services[name].autoscaling
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
            scaling.min_replicas,
            scaling.max_replicas,
        )
        targets = {
            m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
            for m in hpa["spec"]["metrics"]
        }
        assert targets == {
            "cpu": scaling.target_cpu_percent,
            "memory": scaling.target_memory_percent,
        }


def test_disruption_budgets_keep_all_but_one(rendered: Rendered) -> None:
    _, _, documents = rendered
    deployments = by_kind(documents, "Deployment")
    for name, pdb in by_kind(documents, "PodDisruptionBudget").items():
        assert pdb["spec"]["maxUnavailable"] == 1
        assert (
            pdb["spec"]["selector"]["matchLabels"]
            == (deployments[name]["spec"]["selector"]["matchLabels"])
        )


def test_unhealthy_pods_never_block_a_drain(rendered: Rendered) -> None:
    _, _, documents = rendered
    for name, pdb in by_kind(documents, "PodDisruptionBudget").items():
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow", name


def test_pods_leave_the_load_balancer_before_they_stop(rendered: Rendered) -> None:
    """preStop pause 20 s, then SIGTERM; the grace period (60 s) outlasts the pause
    and the target group's 30 s deregistration delay."""
    _, _, documents = rendered
    (ingress,) = by_kind(documents, "Ingress").values()
    attributes = ingress["metadata"]["annotations"][
        "alb.ingress.kubernetes.io/target-group-attributes"
    ].split(",")
    assert "deregistration_delay.timeout_seconds=30" in attributes
    annotations = ingress["metadata"]["annotations"]
    prefix = "alb.ingress.kubernetes.io/"
    # A new pod is Ready (its readiness gate) after two 5 s checks.
    assert (
        annotations[f"{prefix}healthcheck-interval-seconds"],
        annotations[f"{prefix}healthcheck-timeout-seconds"],
        annotations[f"{prefix}healthy-threshold-count"],
    ) == ("5", "3", "2")
    for name, deployment in by_kind(documents, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] == 60, name
        assert container_of(deployment)["lifecycle"] == {"preStop": {"sleep": {"seconds": 20}}}


@pytest.mark.parametrize(
    ("defaults", "ingress", "message"),
    [
        ({"terminationGracePeriodSeconds": 30}, {}, r"DelaySeconds \(30\) must be less"),
        ({"preStopSleepSeconds": 60}, {}, r"preStopSleepSeconds \(60\) must be less"),
        ({}, {"deregistrationDelaySeconds": 300}, r"deregistrationDelaySeconds \(300\)"),
    ],
)
def test_grace_period_must_outlast_draining(
    synthesis: Synthesis, env_name: str, defaults: dict, ingress: dict, message: str
) -> None:
    from helm_python.errors import HelmRenderError

    values = copy.deepcopy(stack_values(synthesis, env_name))
    values.setdefault("defaults", {}).update(defaults)
    values["ingress"].update(ingress)
    with pytest.raises(HelmRenderError, match=message):
        render(values)


def test_home_is_writable(rendered: Rendered) -> None:
    """UID 10001 has no passwd entry and / is read-only: HOME points at /tmp."""
    _, _, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        container = container_of(deployment)
        env = {e["name"]: e.get("value") for e in container["env"]}
        scratch = "/tmp"  # noqa: S108 - the pod's own emptyDir, not the host's
        assert env["HOME"] == scratch, name
        assert {"name": "tmp", "mountPath": scratch} in container["volumeMounts"]


# --- ingress --------------------------------------------------------------------------------------


def test_ingress_routes_from_config(rendered: Rendered) -> None:
    config, _, documents = rendered
    (ingress,) = by_kind(documents, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "alb"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == config.dns.api_fqdn
    routes = {
        p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
        for p in rule["http"]["paths"]
    }
    # Every service with a path at its path; the gateway (no path) catches the rest.
    assert routes == {
        (service.path or "/"): (name, service.port) for name, service in config.services.items()
    }
    assert rule["http"]["paths"][-1]["path"] == "/"  # the catch-all comes last
    assert all(p["pathType"] == "Prefix" for p in rule["http"]["paths"])


def test_ingress_tls_redirect_waf_and_balancing(rendered: Rendered, synthesis: Synthesis) -> None:
    config, values, documents = rendered
    (ingress,) = by_kind(documents, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    prefix = "alb.ingress.kubernetes.io/"
    edge = f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-edge"
    assert annotations[f"{prefix}certificate-arn"].startswith(edge)
    assert annotations[f"{prefix}certificate-arn"] == values["ingress"]["certificateArn"]
    assert annotations[f"{prefix}wafv2-acl-arn"].startswith(edge)
    assert annotations[f"{prefix}wafv2-acl-arn"] == values["ingress"]["wafAclArn"]
    assert annotations[f"{prefix}listen-ports"] == '[{"HTTP": 80}, {"HTTPS": 443}]'
    assert annotations[f"{prefix}ssl-redirect"] == "443"
    assert annotations[f"{prefix}ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    assert annotations[f"{prefix}scheme"] == "internet-facing"
    assert annotations[f"{prefix}target-type"] == "ip"
    assert annotations[f"{prefix}healthcheck-path"] == "/health"
    assert "load_balancing.algorithm.type=least_outstanding_requests" in (
        annotations[f"{prefix}target-group-attributes"].split(",")
    )
    attributes = annotations[f"{prefix}load-balancer-attributes"].split(",")
    assert "routing.http.drop_invalid_header_fields.enabled=true" in attributes
    protected = config.database.deletion_protection
    assert f"deletion_protection.enabled={str(protected).lower()}" in attributes
    # A protected ALB outlives the release: Helm never deletes its Ingress.
    assert ("helm.sh/resource-policy" in annotations) is protected
    if protected:
        assert annotations["helm.sh/resource-policy"] == "keep"


def test_ingress_values_are_the_edge_outputs(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    values = stack_values(synthesis, env_name)
    edge_stack = f"{config.stack_prefix}-edge"
    edge = synthesis.stack(edge_stack)["output"]

    def output_of(key: str) -> str:
        return edge[values["ingress"][key].split(".outputs.")[1].rstrip("}")]["value"]

    waf = ("aws_wafv2_web_acl", "regional-waf/acl", "arn")
    assert output_of("wafAclArn") == synthesis.ref(edge_stack, *waf)
    if config.recovery_of is None:
        validation = ("aws_acm_certificate_validation", "api-certificate/validation")
        assert output_of("certificateArn") == synthesis.ref(
            edge_stack, *validation, "certificate_arn"
        )
        return
    # A recovery validates no certificate (Route 53's control plane is in the lost
    # region): it reads the one the recovered environment's edge issued in this
    # region in peacetime, for the same host.
    (certificate,) = synthesis.stack(edge_stack)["data"]["aws_acm_certificate"].values()
    unique_id = certificate["//"]["metadata"]["uniqueId"]
    assert output_of("certificateArn") == f"${{data.aws_acm_certificate.{unique_id}.arn}}"
    assert (certificate["domain"], certificate["statuses"]) == (config.dns.api_fqdn, ["ISSUED"])
    recovered = synthesis.environment(config.recovery_of)
    issued = synthesis.resources(f"{recovered.stack_prefix}-edge", "aws_acm_certificate")
    assert {
        path
        for path, body in issued.items()
        if body["domain_name"] == config.dns.api_fqdn and body.get("region") == config.region
    } == {"dr-api-certificate/certificate"}


# --- configuration and secrets --------------------------------------------------------------------


def test_configmap_carries_the_seed_settings(rendered: Rendered) -> None:
    config, _, documents = rendered
    (configmap,) = by_kind(documents, "ConfigMap").values()
    data = configmap["data"]
    dns, app = config.dns, config.application
    # The services' runtime mode, the chart's default in every environment; which
    # environment they run in is KREO_ENVIRONMENT.
    chart_defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    assert data["NODE_ENV"] == chart_defaults["NODE_ENV"]
    assert data["KREO_ENVIRONMENT"] == config.name
    assert data["API_GATEWAY_URL"] == f"https://{dns.api_fqdn}"
    assert data["CUSTOMER_APP_URL"] == f"https://{dns.www_fqdn}"
    assert data["VENDOR_PORTAL_URL"] == f"https://{dns.vendors_fqdn}"
    assert data["CORS_ORIGINS"] == ",".join(app.cors_origins)
    assert (data["RATE_LIMIT_WINDOW_MS"], data["RATE_LIMIT_MAX_REQUESTS"]) == (
        str(app.rate_limit.window_ms),
        str(app.rate_limit.max_requests),
    )
    features = app.features
    assert (data["ENABLE_2FA"], data["ENABLE_OAUTH"], data["MAINTENANCE_MODE"]) == tuple(
        str(flag).lower()
        for flag in (features.enable_2fa, features.enable_oauth, features.maintenance_mode)
    )
    assert data["REDIS_TLS"] == "true"
    assert data["DATABASE_SSL"] == "true"
    assert data["DATABASE_IAM_AUTH"] == data["REDIS_IAM_AUTH"] == "true"
    assert data["AWS_REGION"] == config.region
    assert data["AWS_CLOUDFRONT_DOMAIN"] == dns.cdn_fqdn
    assert data["EMAIL_FROM"] == app.email_from
    assert data["ELASTICSEARCH_URL"].startswith("https://${")
    data_stack = f"cross-stack-reference-input-{config.stack_prefix}-data"
    for key in ("DATABASE_HOST", "DATABASE_READER_HOST", "REDIS_HOST", "REDIS_USER"):
        assert data_stack in data[key], key
    if config.recovery_of is None:
        assert data_stack in data["AWS_S3_BUCKET"]
    else:  # the recovered environment's DR copy, made by its data layer, not this one's
        assert data["AWS_S3_BUCKET"] == config.storage.media_bucket
    # Service discovery for the gateway: every service's in-cluster URL.
    # Service URLs go to the callers only (test_only_callers_get_service_urls).
    assert not [key for key in data if key.startswith("SERVICE_URL_")]


def test_configmap_holds_no_secret(rendered: Rendered) -> None:
    _, _, documents = rendered
    (configmap,) = by_kind(documents, "ConfigMap").values()
    for key in configmap["data"]:
        assert not re.search(r"PASSWORD|SECRET|TOKEN|API_KEY|DSN|LICENSE", key), key


def test_reads_go_to_a_replica_or_through_the_proxy(rendered: Rendered) -> None:
    config, _, documents = rendered
    (configmap,) = by_kind(documents, "ConfigMap").values()
    data = configmap["data"]
    if config.database.read_replicas == 0:
        assert data["DATABASE_READER_HOST"] == data["DATABASE_HOST"]
    else:
        assert data["DATABASE_READER_HOST"] != data["DATABASE_HOST"]
        assert "replica-0" in data["DATABASE_READER_HOST"]


def test_external_secrets_pull_each_services_secrets(rendered: Rendered) -> None:
    config, _, documents = rendered
    secrets = by_kind(documents, "ExternalSecret")
    env = config.application.secret_env
    prefix = config.secrets_prefix
    expected = {"kreo-marketplace-shared-secrets": config.application.shared_secrets}
    expected |= {f"{n}-secrets": s.secrets for n, s in config.services.items() if s.secrets}
    assert sorted(secrets) == sorted(expected)
    for name, names in expected.items():
        spec = secrets[name]["spec"]
        assert spec["secretStoreRef"] == {
            "kind": "ClusterSecretStore",
            "name": "aws-secrets-manager",
        }
        assert spec["target"]["name"] == name
        assert {d["secretKey"]: d["remoteRef"]["key"] for d in spec["data"]} == {
            env[n]: f"{prefix}{n}" for n in names
        }


def test_every_application_secret_reaches_some_service(rendered: Rendered) -> None:
    config, _, documents = rendered
    keys = {
        d["secretKey"]
        for secret in by_kind(documents, "ExternalSecret").values()
        for d in secret["spec"]["data"]
    }
    assert keys == set(config.application.secret_env.values())


def test_only_the_payment_service_sees_stripe(rendered: Rendered) -> None:
    _, _, documents = rendered
    for name, secret in by_kind(documents, "ExternalSecret").items():
        keys = {d["secretKey"] for d in secret["spec"]["data"]}
        has_stripe = any(k.startswith("STRIPE_") for k in keys)
        assert has_stripe is (name == "payment-service-secrets"), name


# --- network policies -----------------------------------------------------------------------------


def policies(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n: p["spec"] for n, p in by_kind(documents, "NetworkPolicy").items()}


def test_default_deny_in_the_namespace(rendered: Rendered) -> None:
    _, _, documents = rendered
    deny = policies(documents)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_load_balancer_reaches_the_routed_services(rendered: Rendered) -> None:
    config, _, documents = rendered
    public = list(config.network.subnet_plan().public)
    specs = policies(documents)
    for name, service in config.services.items():
        (rule,) = specs[f"allow-ingress-{name}"]["ingress"]
        sources = [s["ipBlock"]["cidr"] for s in rule["from"] if "ipBlock" in s]
        assert sources == public  # every service is routed: a path, or the gateway
        assert rule["ports"] == [{"protocol": "TCP", "port": service.port}]


def test_gateway_calls_the_other_services(rendered: Rendered) -> None:
    config, _, documents = rendered
    specs = policies(documents)
    gateway = {
        "app.kubernetes.io/name": "api-gateway",
        "app.kubernetes.io/instance": "kreo-marketplace",
    }
    egress = specs["allow-calls-from-api-gateway"]
    assert egress["podSelector"]["matchLabels"] == gateway
    reached = {
        rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]: rule["ports"][0][
            "port"
        ]
        for rule in egress["egress"]
    }
    assert reached == {n: s.port for n, s in config.services.items() if n != "api-gateway"}
    for name in reached:
        (rule,) = specs[f"allow-ingress-{name}"]["ingress"]
        assert {"podSelector": {"matchLabels": gateway}} in rule["from"]


def test_only_callers_get_service_urls(rendered: Rendered) -> None:
    config, _, documents = rendered
    for name, deployment in by_kind(documents, "Deployment").items():
        env = {e["name"]: e.get("value") for e in container_of(deployment)["env"]}
        urls = {key: value for key, value in env.items() if key.startswith("SERVICE_URL_")}
        callees = (
            [n for n in config.services if n != name]
            if config.services[name].path is None
            else config.services[name].calls
        )
        assert urls == {
            f"SERVICE_URL_{c.upper().replace('-', '_')}": f"http://{c}:{config.services[c].port}"
            for c in callees
        }, name


def test_a_declared_call_gets_its_url_and_both_policies(
    synthesis: Synthesis, env_name: str
) -> None:
    values = copy.deepcopy(stack_values(synthesis, env_name))
    port = synthesis.environment(env_name).services["payment-service"].port
    values["services"]["order-service"]["calls"] = ["payment-service"]
    documents = render(values)
    order = by_kind(documents, "Deployment")["order-service"]
    env = {e["name"]: e.get("value") for e in container_of(order)["env"]}
    assert env["SERVICE_URL_PAYMENT_SERVICE"] == f"http://payment-service:{port}"
    specs = policies(documents)
    (call,) = specs["allow-calls-from-order-service"]["egress"]
    assert call["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == (
        "payment-service"
    )
    (rule,) = specs["allow-ingress-payment-service"]["ingress"]
    callers = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for peer in rule["from"]
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    assert callers == ["api-gateway", "order-service"]


def test_a_call_to_an_unknown_service_fails_the_render(synthesis: Synthesis, env_name: str) -> None:
    from helm_python.errors import HelmRenderError

    values = copy.deepcopy(stack_values(synthesis, env_name))
    values["services"]["order-service"]["calls"] = ["stock-service"]
    with pytest.raises(HelmRenderError, match=r"services\.order-service\.calls: stock-service"):
        render(values)


def test_prometheus_scrapes_every_service(rendered: Rendered) -> None:
    config, _, documents = rendered
    # Prometheus's pods, not the whole namespace (Grafana lives there too).
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    for name in config.services:
        (rule,) = policies(documents)[f"allow-ingress-{name}"]["ingress"]
        assert monitoring in rule["from"]


def test_egress_to_dns_data_tier_https_and_pod_identity(rendered: Rendered) -> None:
    config, _, documents = rendered
    specs = policies(documents)
    (dns,) = specs["allow-dns"]["egress"]
    assert {"protocol": "UDP", "port": 53} in dns["ports"]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    data, https, pod_identity = specs["allow-egress-data-and-https"]["egress"]
    assert [t["ipBlock"]["cidr"] for t in data["to"]] == list(config.network.subnet_plan().database)
    assert {p["port"] for p in data["ports"]} == {5432, 6379, 443}
    assert https == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }
    assert pod_identity["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}]


# --- monitoring -----------------------------------------------------------------------------------


def test_service_monitor_per_service(rendered: Rendered) -> None:
    config, _, documents = rendered
    monitors = by_kind(documents, "ServiceMonitor")
    assert sorted(monitors) == sorted(config.services)
    for monitor in monitors.values():
        (endpoint,) = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


def test_marketplace_alerts(rendered: Rendered) -> None:
    _, _, documents = rendered
    (rule,) = by_kind(documents, "PrometheusRule").values()
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "KreoServiceHighErrorRate",
        "KreoServiceHighLatency",
        "KreoPodCrashLooping",
        "KreoAutoscalerAtMaximum",
    }
    assert 'status=~"5.."' in alerts["KreoServiceHighErrorRate"]["expr"]
    assert "> 5" in alerts["KreoServiceHighErrorRate"]["expr"]
    assert (
        "kube_horizontalpodautoscaler_spec_max_replicas"
        in alerts["KreoAutoscalerAtMaximum"]["expr"]
    )
    assert all(a["annotations"]["runbook"] for a in alerts.values())


def test_monitoring_objects_need_the_flag(synthesis: Synthesis, env_name: str) -> None:
    values = copy.deepcopy(stack_values(synthesis, env_name))
    values["monitoring"]["enabled"] = False
    kinds = {d["kind"] for d in render(values)}
    assert "ServiceMonitor" not in kinds
    assert "PrometheusRule" not in kinds


# --- adding a service is one values entry ---------------------------------------------------------


def test_adding_a_service_is_one_values_entry(synthesis: Synthesis, env_name: str) -> None:
    values = copy.deepcopy(stack_values(synthesis, env_name))
    values["services"]["review-service"] = {
        "port": 3007,
        "path": "/api/reviews",
        "image": {
            "repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/kreo/review-service",
            "tag": "0.1.0",
        },
    }
    documents = render(values)
    for kind in (
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceAccount",
    ):
        assert "review-service" in by_kind(documents, kind), kind
    hpa = by_kind(documents, "HorizontalPodAutoscaler")["review-service"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)  # chart defaults
    (ingress,) = by_kind(documents, "Ingress").values()
    assert "/api/reviews" in [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]
