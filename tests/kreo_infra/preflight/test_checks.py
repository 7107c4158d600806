"""Each preflight check against a fake account: all pass when it is prepared, and each
failure mode gives its exact FAIL line."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from kreo_infra.config import EnvironmentConfig, load_environments
from kreo_infra.preflight.checks import (
    check_access_roles,
    check_addon_versions,
    check_github_credential,
    check_images,
    check_secret_values,
    check_zone_delegation,
    planned_checks,
    run_checks,
)
from tests.conftest import CONFIG_DIR
from tests.kreo_infra.preflight import FakeAccount, mocked_aws, versions

IMPORT = (
    "aws codebuild import-source-credentials --server-type GITHUB "
    "--auth-type PERSONAL_ACCESS_TOKEN --token <token>"
)
GUIDE = '(docs/operations.md, "Connect GitHub")'


@pytest.fixture(scope="module")
def envs() -> dict[str, EnvironmentConfig]:
    return {c.name: c for c in load_environments(CONFIG_DIR, ["production", "staging"])}


@pytest.fixture
def production(envs: dict[str, EnvironmentConfig]) -> EnvironmentConfig:
    return envs["production"]


@pytest.fixture
def staging(envs: dict[str, EnvironmentConfig]) -> EnvironmentConfig:
    return envs["staging"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_aws(monkeypatch):
        yield


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("env", ["production", "staging"])
def test_a_prepared_account_passes_every_check(
    env: str, envs: dict[str, EnvironmentConfig]
) -> None:
    config = envs[env]
    account = FakeAccount(config).prepare()
    account.offer_addons()
    account.source_credential()

    results = run_checks(config, "all", account.client, parent_environment="production")

    assert [r.line() for r in results if not r.ok] == []
    assert [r.check for r in results] == planned_checks(config, "all")
    account.all_stubs_used()


def test_stages_choose_the_checks(
    production: EnvironmentConfig, staging: EnvironmentConfig
) -> None:
    account = ["addon-versions", "access-roles", "images", "github-credential"]
    assert planned_checks(production, "account") == account
    assert planned_checks(staging, "account") == [*account[:2], "zone-delegation", *account[2:]]
    assert planned_checks(production, "workloads") == ["secret-values", "images"]
    assert planned_checks(production, "all") == [*account, "secret-values"]
    with pytest.raises(ValueError, match="unknown stage 'data'"):
        planned_checks(production, "data")


@pytest.mark.usefixtures("aws")
def test_addon_version_not_offered_names_the_newest(production: EnvironmentConfig) -> None:
    account = FakeAccount(production)
    kubernetes = production.cluster.kubernetes_version
    account.offer_addons(
        {
            # the pinned version exists, but only for another Kubernetes version
            "vpc-cni": [
                ("v1.20.4-eksbuild.2", "1.34"),
                ("v1.20.10-eksbuild.1", kubernetes),
                ("v1.20.9-eksbuild.3", kubernetes),
            ],
            "coredns": [],
        }
    )

    result = check_addon_versions(account.eks, production)

    assert result.line() == (
        "FAIL addon-versions: not offered for Kubernetes 1.35: "
        "vpc-cni v1.20.4-eksbuild.2 (newest offered: v1.20.10-eksbuild.1); "
        "coredns v1.12.4-eksbuild.1 (no version offered); "
        "pin an offered version under cluster.addons in config"
    )
    account.all_stubs_used()


@pytest.mark.usefixtures("aws")
def test_addon_versions_are_read_from_every_page(production: EnvironmentConfig) -> None:
    account = FakeAccount(production)
    kubernetes = production.cluster.kubernetes_version
    first, *rest = production.cluster.addons.items()
    name, pinned = first
    request = {"addonName": name, "kubernetesVersion": kubernetes}
    pages = [
        ({"addons": [], "nextToken": "page-2"}, request),
        (
            {"addons": [{"addonName": name, "addonVersions": versions([(pinned, kubernetes)])}]},
            {**request, "nextToken": "page-2"},
        ),
    ]
    for response, params in pages:
        account.eks_stub.add_response("describe_addon_versions", response, params)
    for addon, version in rest:
        account.eks_stub.add_response(
            "describe_addon_versions",
            {"addons": [{"addonName": addon, "addonVersions": versions([(version, kubernetes)])}]},
            {"addonName": addon, "kubernetesVersion": kubernetes},
        )

    result = check_addon_versions(account.eks, production)

    assert result.line() == "ok   addon-versions: 6 add-on versions offered for Kubernetes 1.35"
    account.all_stubs_used()


@pytest.mark.usefixtures("aws")
def test_missing_access_role(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.iam.delete_role(RoleName="kreo-platform-readonly")

    assert check_access_roles(account.iam, production).line() == (
        "FAIL access-roles: no IAM role kreo-platform-readonly: create it or fix "
        "cluster.admin_role_names / cluster.readonly_role_names (plain IAM role names; "
        "IAM Identity Center roles are named AWSReservedSSO_* and cannot be used here)"
    )


@pytest.mark.usefixtures("aws")
def test_missing_deploy_role(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.iam.delete_role(RoleName="kreo-deploy-production")

    assert check_access_roles(account.iam, production).line() == (
        "FAIL access-roles: no deploy role kreo-deploy-production: "
        "deploy the bootstrap stack (make deploy STACK=bootstrap)"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_needs_a_public_parent_zone(staging: EnvironmentConfig) -> None:
    account = FakeAccount(staging)
    account.zone("kreo.com", private=True)  # a private zone of the same name does not count

    result = check_zone_delegation(account.route53, staging, parent_environment="production")

    assert result.line() == (
        "FAIL zone-delegation: no public hosted zone kreo.com in this account; deploy the "
        "parent environment's edge stack first (make deploy ENV=production STACK=edge, "
        "or the workflow's first-deploy run)"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_of_a_zone_not_created_yet(staging: EnvironmentConfig) -> None:
    account = FakeAccount(staging)
    account.zone("kreo.com")

    assert check_zone_delegation(account.route53, staging).line() == (
        "ok   zone-delegation: parent zone kreo.com exists; "
        "this environment's edge stack creates and delegates staging.kreo.com"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_record_missing(staging: EnvironmentConfig) -> None:
    account = FakeAccount(staging)
    account.zone("kreo.com")
    servers = account.name_servers(account.zone("staging.kreo.com"))

    assert check_zone_delegation(account.route53, staging).line() == (
        "FAIL zone-delegation: kreo.com has no NS record for staging.kreo.com; its zone's "
        f"name servers ({', '.join(sorted(servers))}) are unreachable: deploy this "
        "environment's edge stack (make deploy ENV=staging STACK=edge), "
        "which writes the delegation"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_to_other_name_servers(staging: EnvironmentConfig) -> None:
    account = FakeAccount(staging)
    parent = account.zone("kreo.com")
    servers = account.name_servers(account.zone("staging.kreo.com"))
    account.ns_record(parent, "staging.kreo.com", ["ns-1.example.net.", "ns-2.example.org."])

    assert check_zone_delegation(account.route53, staging).line() == (
        "FAIL zone-delegation: the NS record for staging.kreo.com in kreo.com lists "
        "ns-1.example.net, ns-2.example.org, but the zone staging.kreo.com has "
        f"{', '.join(sorted(servers))}; redeploy this environment's edge stack "
        "(make deploy ENV=staging STACK=edge) or remove a duplicate staging.kreo.com zone"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_matches_whatever_the_case_and_trailing_dot(
    staging: EnvironmentConfig,
) -> None:
    account = FakeAccount(staging)
    parent = account.zone("kreo.com")
    servers = account.name_servers(account.zone("staging.kreo.com"))
    account.ns_record(parent, "staging.kreo.com", [f"{s.upper()}." for s in servers])

    assert check_zone_delegation(account.route53, staging).ok


@pytest.mark.usefixtures("aws")
def test_image_tag_not_pushed(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.ecr.batch_delete_image(
        repositoryName="kreo/order-service", imageIds=[{"imageTag": "1.0.0"}]
    )

    assert check_images(account.ecr, production).line() == (
        "FAIL images: missing kreo/order-service:1.0.0 (no such tag); "
        "push them with the image-push workflow of kreo/kreo-marketplace"
    )


@pytest.mark.usefixtures("aws")
def test_image_repository_missing(staging: EnvironmentConfig) -> None:
    account = FakeAccount(staging).prepare()
    account.ecr.delete_repository(repositoryName="kreo/api-gateway", force=True)

    assert check_images(account.ecr, staging).line() == (
        "FAIL images: missing kreo/api-gateway:1.0.0 (no repository); push them with the "
        "image-push workflow of kreo/kreo-marketplace "
        "(the bootstrap stack creates the repositories: make deploy STACK=bootstrap)"
    )


@pytest.mark.usefixtures("aws")
def test_a_service_image_tag_overrides_the_release(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    services = dict(production.services)
    services["auth-service"] = services["auth-service"].model_copy(update={"image_tag": "1.1.0"})
    config = production.model_copy(update={"services": services})

    result = check_images(account.ecr, config)
    assert result.line() == (
        "FAIL images: missing kreo/auth-service:1.1.0 (no such tag); "
        "push them with the image-push workflow of kreo/kreo-marketplace"
    )
    account.push("kreo/auth-service", "1.1.0")
    assert check_images(account.ecr, config).line() == (
        "ok   images: 5 service images present (tag 1.0.0, 1.1.0)"
    )


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("auth_type", "line"),
    [
        (
            "PERSONAL_ACCESS_TOKEN",
            "ok   github-credential: CodeBuild has a GitHub source credential "
            "(PERSONAL_ACCESS_TOKEN)",
        ),
        ("OAUTH", "ok   github-credential: CodeBuild has a GitHub source credential (OAUTH)"),
        (
            None,
            "FAIL github-credential: CodeBuild has no GitHub source credential in us-east-1; "
            f"import one: {IMPORT} {GUIDE}",
        ),
        (
            "CODECONNECTIONS",
            "FAIL github-credential: CodeBuild's GitHub source credential in us-east-1 is a "
            "CodeConnections connection: builds could mint its token; import a personal "
            f"access token instead (decision 56): {IMPORT} --should-overwrite {GUIDE}",
        ),
    ],
)
def test_github_credential(auth_type: str | None, line: str, production: EnvironmentConfig) -> None:
    account = FakeAccount(production)
    account.source_credential(auth_type)

    assert check_github_credential(account.codebuild, production).line() == line
    account.all_stubs_used()


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "infos",
    [
        [],
        [
            {
                "arn": "arn:aws:codebuild:us-east-1:123456789012:token/ghe",
                "serverType": "GITHUB_ENTERPRISE",
                "authType": "PERSONAL_ACCESS_TOKEN",
            }
        ],
    ],
    ids=["none", "github-enterprise-only"],
)
def test_only_a_github_credential_counts(
    infos: list[dict[str, str]], production: EnvironmentConfig
) -> None:
    client = boto3.client("codebuild", region_name=production.region)
    with Stubber(client) as stub:
        stub.add_response("list_source_credentials", {"sourceCredentialsInfos": infos}, {})
        result = check_github_credential(client, production)
        stub.assert_no_pending_responses()
    assert result.line().startswith(
        "FAIL github-credential: CodeBuild has no GitHub source credential in us-east-1; "
    )


@pytest.mark.usefixtures("aws")
def test_secret_container_missing(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.secretsmanager.delete_secret(
        SecretId="kreo/production/sentry/dsn", ForceDeleteWithoutRecovery=True
    )

    assert check_secret_values(account.secretsmanager, production).line() == (
        "FAIL secret-values: no secret kreo/production/sentry/dsn: deploy the data layer "
        "first (make deploy ENV=production STACK=data)"
    )


@pytest.mark.usefixtures("aws")
def test_secret_without_a_value(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.secretsmanager.delete_secret(
        SecretId="kreo/production/stripe/secret-key", ForceDeleteWithoutRecovery=True
    )
    account.secretsmanager.create_secret(Name="kreo/production/stripe/secret-key")

    assert check_secret_values(account.secretsmanager, production).line() == (
        "FAIL secret-values: no value in kreo/production/stripe/secret-key: "
        "aws secretsmanager put-secret-value --region us-east-1 "
        "--secret-id kreo/production/stripe/secret-key "
        "--secret-string file://stripe-secret-key.txt"
    )


@pytest.mark.usefixtures("aws")
def test_generated_secrets_need_no_value(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    account.secretsmanager.delete_secret(
        SecretId="kreo/production/grafana/admin", ForceDeleteWithoutRecovery=True
    )

    assert check_secret_values(
        account.secretsmanager, production, generated=frozenset({"grafana/admin"})
    ).line() == ("ok   secret-values: 12 secrets have a current value")
    assert not check_secret_values(account.secretsmanager, production, generated=frozenset()).ok


@pytest.mark.usefixtures("aws")
def test_secret_values_are_never_read(production: EnvironmentConfig) -> None:
    account = FakeAccount(production).prepare()
    operations: list[str] = []
    account.secretsmanager.meta.events.register(
        "before-call", lambda model, **_: operations.append(model.name)
    )

    assert check_secret_values(account.secretsmanager, production).ok
    assert set(operations) == {"DescribeSecret"}
    assert len(operations) == len(production.secrets.names) - 1  # grafana/admin is generated


def test_generated_secrets_are_what_the_data_layer_generates(
    synthesis, production: EnvironmentConfig
) -> None:
    """The secrets the preflight skips are exactly those with a Terraform-written value."""
    versions = synthesis.resources("kreo-production-data", "aws_secretsmanager_secret_version")
    written = {
        path.split("/")[1].removesuffix("-value")
        for path in versions
        if path.startswith("secrets/")
    }
    assert {n.replace("/", "-") for n in production.generated_secrets} == written


@pytest.mark.usefixtures("aws")
def test_an_aws_error_fails_its_check_only(production: EnvironmentConfig) -> None:
    clients = {
        name: boto3.client(name, region_name=production.region)
        for name in ("eks", "iam", "ecr", "codebuild")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    stubs["iam"].add_client_error("get_role", "AccessDenied", "not authorized")

    results = run_checks(production, "account", clients.__getitem__)

    access_roles = next(r for r in results if r.check == "access-roles")
    assert access_roles.line() == (
        "FAIL access-roles: could not check: An error occurred (AccessDenied) "
        "when calling the GetRole operation: not authorized"
    )
    # the other stubs answer nothing: every check fails with its reason, none raises
    assert [r.ok for r in results] == [False] * 4
    assert all(r.detail.startswith("could not check: ") for r in results)
