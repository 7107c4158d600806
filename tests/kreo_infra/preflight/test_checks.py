"""Each preflight check against a fake account: all pass when it is prepared, and each
failure mode gives its exact FAIL line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from kreo_infra.config import EnvironmentConfig, load_environments
from kreo_infra.preflight.checks import (
    check_access_roles,
    check_addon_versions,
    check_github_credential,
    check_images,
    check_restore_source,
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


DELEGATED = [c.name for c in load_environments(CONFIG_DIR) if c.dns.delegate_from]
"""Environments whose zone is delegated from a parent zone: the zone-delegation check's."""


@pytest.fixture(scope="module")
def envs() -> dict[str, EnvironmentConfig]:
    return {c.name: c for c in load_environments(CONFIG_DIR)}


@pytest.fixture
def config(envs: dict[str, EnvironmentConfig], env_name: str) -> EnvironmentConfig:
    """Each environment in turn."""
    return envs[env_name]


@pytest.fixture(params=DELEGATED)
def delegated(
    envs: dict[str, EnvironmentConfig], request: pytest.FixtureRequest
) -> EnvironmentConfig:
    """Each environment whose zone is delegated from a parent zone."""
    return envs[request.param]


def parent_of(envs: dict[str, EnvironmentConfig], config: EnvironmentConfig) -> str | None:
    """The environment whose zone ``config``'s is delegated from."""
    return next((c.name for c in envs.values() if c.dns.domain == config.dns.delegate_from), None)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_aws(monkeypatch):
        yield


@pytest.mark.usefixtures("aws")
def test_a_prepared_account_passes_every_check(
    config: EnvironmentConfig, envs: dict[str, EnvironmentConfig]
) -> None:
    account = FakeAccount(config).prepare()
    account.offer_addons()
    account.source_credential()

    parent = parent_of(envs, config)
    results = run_checks(config, "all", account.client, parent_environment=parent)

    assert [r.line() for r in results if not r.ok] == []
    assert [r.check for r in results] == planned_checks(config, "all")
    account.all_stubs_used()


def test_stages_choose_the_checks(config: EnvironmentConfig) -> None:
    """A delegated zone adds the zone-delegation check, a recovery the restore source."""
    zone = ["zone-delegation"] if config.dns.delegate_from else []
    restore = ["restore-source"] if config.recovery_of else []
    account = ["addon-versions", "access-roles", *zone, "images", "github-credential", *restore]
    assert planned_checks(config, "account") == account
    assert planned_checks(config, "workloads") == ["secret-values", "images"]
    assert planned_checks(config, "all") == [*account, "secret-values"]
    with pytest.raises(ValueError, match="unknown stage 'data'"):
        planned_checks(config, "data")


def test_both_kinds_of_zone_are_configured(envs: dict[str, EnvironmentConfig]) -> None:
    """The checks above are exercised with and without a delegated zone."""
    assert DELEGATED
    assert {bool(c.dns.delegate_from) for c in envs.values()} == {True, False}


@pytest.mark.usefixtures("aws")
def test_addon_version_not_offered_names_the_newest(config: EnvironmentConfig) -> None:
    account = FakeAccount(config)
    kubernetes = config.cluster.kubernetes_version
    vpc_cni, coredns = config.cluster.addons["vpc-cni"], config.cluster.addons["coredns"]
    account.offer_addons(
        {
            # the pinned version exists, but only for another Kubernetes version
            "vpc-cni": [
                (vpc_cni, "1.0"),
                ("v99.20.10-eksbuild.1", kubernetes),
                ("v99.20.9-eksbuild.3", kubernetes),
            ],
            "coredns": [],
        }
    )

    result = check_addon_versions(account.eks, config)

    assert result.line() == (
        f"FAIL addon-versions: not offered for Kubernetes {kubernetes}: "
        f"vpc-cni {vpc_cni} (newest offered: v99.20.10-eksbuild.1); "
        f"coredns {coredns} (no version offered); "
        "pin an offered version under cluster.addons in config"
    )
    account.all_stubs_used()


@pytest.mark.usefixtures("aws")
def test_addon_versions_are_read_from_every_page(config: EnvironmentConfig) -> None:
    account = FakeAccount(config)
    kubernetes = config.cluster.kubernetes_version
    first, *rest = config.cluster.addons.items()
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

    result = check_addon_versions(account.eks, config)

    assert result.line() == (
        f"ok   addon-versions: {len(config.cluster.addons)} add-on versions offered for "
        f"Kubernetes {kubernetes}"
    )
    account.all_stubs_used()


@pytest.mark.usefixtures("aws")
def test_missing_access_role(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    role = config.cluster.readonly_role_names[0]
    account.iam.delete_role(RoleName=role)

    assert check_access_roles(account.iam, config).line() == (
        f"FAIL access-roles: no IAM role {role}: create it or fix "
        "cluster.admin_role_names / cluster.readonly_role_names (plain IAM role names; "
        "IAM Identity Center roles are named AWSReservedSSO_* and cannot be used here)"
    )


@pytest.mark.usefixtures("aws")
def test_missing_deploy_role(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    account.iam.delete_role(RoleName=f"kreo-deploy-{config.name}")

    # The bootstrap of the environment's account: a recovery's is the recovered one's.
    owner = f"{config.recovery_of}'s" if config.recovery_of else "the"
    assert check_access_roles(account.iam, config).line() == (
        f"FAIL access-roles: no deploy role kreo-deploy-{config.name}: "
        f"deploy {owner} bootstrap stack "
        f"(make deploy ENV={config.recovery_of or config.name} STACK=bootstrap)"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_needs_a_public_parent_zone(
    delegated: EnvironmentConfig, envs: dict[str, EnvironmentConfig]
) -> None:
    account = FakeAccount(delegated)
    parent_zone, parent = delegated.dns.delegate_from, parent_of(envs, delegated)
    account.zone(parent_zone, private=True)  # a private zone of the same name does not count

    result = check_zone_delegation(account.route53, delegated, parent_environment=parent)

    assert result.line() == (
        f"FAIL zone-delegation: no public hosted zone {parent_zone} in this account; deploy the "
        f"parent environment's edge stack first (make deploy ENV={parent} STACK=edge, "
        "or the workflow's first-deploy run)"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_of_a_zone_not_created_yet(delegated: EnvironmentConfig) -> None:
    account = FakeAccount(delegated)
    account.zone(delegated.dns.delegate_from)

    assert check_zone_delegation(account.route53, delegated).line() == (
        f"ok   zone-delegation: parent zone {delegated.dns.delegate_from} exists; "
        f"this environment's edge stack creates and delegates {delegated.dns.domain}"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_record_missing(delegated: EnvironmentConfig) -> None:
    account = FakeAccount(delegated)
    parent, domain = delegated.dns.delegate_from, delegated.dns.domain
    account.zone(parent)
    servers = account.name_servers(account.zone(domain))

    assert check_zone_delegation(account.route53, delegated).line() == (
        f"FAIL zone-delegation: {parent} has no NS record for {domain}; its zone's "
        f"name servers ({', '.join(sorted(servers))}) are unreachable: deploy this "
        f"environment's edge stack (make deploy ENV={delegated.name} STACK=edge), "
        "which writes the delegation"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_to_other_name_servers(delegated: EnvironmentConfig) -> None:
    account = FakeAccount(delegated)
    parent, domain = delegated.dns.delegate_from, delegated.dns.domain
    parent_id = account.zone(parent)
    servers = account.name_servers(account.zone(domain))
    account.ns_record(parent_id, domain, ["ns-1.example.net.", "ns-2.example.org."])

    assert check_zone_delegation(account.route53, delegated).line() == (
        f"FAIL zone-delegation: the NS record for {domain} in {parent} lists "
        f"ns-1.example.net, ns-2.example.org, but the zone {domain} has "
        f"{', '.join(sorted(servers))}; redeploy this environment's edge stack "
        f"(make deploy ENV={delegated.name} STACK=edge) or remove a duplicate {domain} zone"
    )


@pytest.mark.usefixtures("aws")
def test_delegation_matches_whatever_the_case_and_trailing_dot(
    delegated: EnvironmentConfig,
) -> None:
    account = FakeAccount(delegated)
    parent_id = account.zone(delegated.dns.delegate_from)
    servers = account.name_servers(account.zone(delegated.dns.domain))
    account.ns_record(parent_id, delegated.dns.domain, [f"{s.upper()}." for s in servers])

    assert check_zone_delegation(account.route53, delegated).ok


@pytest.mark.usefixtures("aws")
def test_image_tag_not_pushed(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    tag = config.application.image_tag
    account.ecr.batch_delete_image(
        repositoryName="kreo/order-service", imageIds=[{"imageTag": tag}]
    )

    assert check_images(account.ecr, config).line() == (
        f"FAIL images: missing kreo/order-service:{tag} (no such tag); "
        "push them with the image-push workflow of kreo/kreo-marketplace"
    )


@pytest.mark.usefixtures("aws")
def test_image_repository_missing(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    account.ecr.delete_repository(repositoryName="kreo/api-gateway", force=True)

    bootstrap = f"make deploy ENV={config.recovery_of or config.name} STACK=bootstrap"
    made = (
        f"{config.recovery_of}'s bootstrap replicates the repositories to {config.region} "
        f"as images are pushed: {bootstrap}"
        if config.recovery_of
        else f"the bootstrap stack creates the repositories: {bootstrap}"
    )
    assert check_images(account.ecr, config).line() == (
        f"FAIL images: missing kreo/api-gateway:{config.application.image_tag} (no repository); "
        f"push them with the image-push workflow of kreo/kreo-marketplace ({made})"
    )


@pytest.mark.usefixtures("aws")
def test_a_service_image_tag_overrides_the_release(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    release, override = config.application.image_tag, "1.1.0"
    assert release != override
    services = dict(config.services)
    services["auth-service"] = services["auth-service"].model_copy(update={"image_tag": override})
    changed = config.model_copy(update={"services": services})

    result = check_images(account.ecr, changed)
    assert result.line() == (
        f"FAIL images: missing kreo/auth-service:{override} (no such tag); "
        "push them with the image-push workflow of kreo/kreo-marketplace"
    )
    account.push("kreo/auth-service", override)
    assert check_images(account.ecr, changed).line() == (
        f"ok   images: {len(config.services)} service images present "
        f"(tag {', '.join(sorted({release, override}))})"
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
            "FAIL github-credential: CodeBuild has no GitHub source credential in {region}; "
            f"import one: {IMPORT} {GUIDE}",
        ),
        (
            "CODECONNECTIONS",
            "FAIL github-credential: CodeBuild's GitHub source credential in {region} is a "
            "CodeConnections connection: builds could mint its token; import a personal "
            f"access token instead (decision 56): {IMPORT} --should-overwrite {GUIDE}",
        ),
    ],
)
def test_github_credential(auth_type: str | None, line: str, config: EnvironmentConfig) -> None:
    """Source credentials are regional: the runners' (the cluster layer's, in the
    environment's region) is the one that counts."""
    account = FakeAccount(config)
    account.source_credential(auth_type)

    assert check_github_credential(account.codebuild, config).line() == line.replace(
        "{region}", config.region
    )
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
    infos: list[dict[str, str]], config: EnvironmentConfig
) -> None:
    client = boto3.client("codebuild", region_name=config.region)
    with Stubber(client) as stub:
        stub.add_response("list_source_credentials", {"sourceCredentialsInfos": infos}, {})
        result = check_github_credential(client, config)
        stub.assert_no_pending_responses()
    assert result.line().startswith(
        f"FAIL github-credential: CodeBuild has no GitHub source credential in {config.region}; "
    )


@pytest.mark.own_environments  # a recovery's data layer makes none: the next test
@pytest.mark.usefixtures("aws")
def test_secret_container_missing(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    secret = f"{config.secrets_prefix}sentry/dsn"
    account.secretsmanager.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)

    assert check_secret_values(account.secretsmanager, config).line() == (
        f"FAIL secret-values: no secret {secret}: deploy the data layer "
        f"first (make deploy ENV={config.name} STACK=data)"
    )


@pytest.mark.usefixtures("aws")
def test_a_recovery_secret_missing_is_the_recovered_replication(
    envs: dict[str, EnvironmentConfig], recovery_name: str
) -> None:
    """A recovery's secrets are the recovered environment's replicas in its region."""
    config = envs[recovery_name]
    recovered = config.recovery_of
    assert recovered is not None
    assert config.secrets_prefix == envs[recovered].secrets_prefix
    account = FakeAccount(config).prepare()
    secret = f"{config.secrets_prefix}sentry/dsn"
    account.secretsmanager.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)

    assert check_secret_values(account.secretsmanager, config).line() == (
        f"FAIL secret-values: no secret {secret} in {config.region}: {recovered}'s data layer "
        "replicates its secrets here (secrets.replicate_to_dr_region; "
        f"make deploy ENV={recovered} STACK=data)"
    )


@pytest.mark.own_environments  # a recovery's are replicas, written elsewhere: the next test
@pytest.mark.usefixtures("aws")
def test_secret_without_a_value(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    secret = f"{config.secrets_prefix}stripe/secret-key"
    account.secretsmanager.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    account.secretsmanager.create_secret(Name=secret)

    assert check_secret_values(account.secretsmanager, config).line() == (
        f"FAIL secret-values: no value in {secret}: "
        f"aws secretsmanager put-secret-value --region {config.region} "
        f"--secret-id {secret} "
        "--secret-string file://stripe-secret-key.txt"
    )


@pytest.mark.usefixtures("aws")
def test_a_recovery_secret_without_a_value_is_promoted_first(
    envs: dict[str, EnvironmentConfig], recovery_name: str
) -> None:
    """A replica takes no value of its own (PutSecretValue is refused on one): its value
    is set in the recovered environment's region or, that region lost, after promoting
    it (docs/runbooks/disaster-recovery.md)."""
    config = envs[recovery_name]
    account = FakeAccount(config).prepare()
    secret = f"{config.secrets_prefix}stripe/secret-key"
    account.secretsmanager.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    account.secretsmanager.create_secret(Name=secret)

    assert check_secret_values(account.secretsmanager, config).line() == (
        f"FAIL secret-values: no value in {secret}, a replica of {config.recovery_of}'s: "
        "set the value there, or, its region lost, promote the replica (aws secretsmanager "
        f"stop-replication-to-replica --region {config.region} --secret-id {secret}), then "
        f"aws secretsmanager put-secret-value --region {config.region} --secret-id {secret} "
        "--secret-string file://stripe-secret-key.txt"
    )


@pytest.mark.usefixtures("aws")
def test_generated_secrets_need_no_value(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    account.secretsmanager.delete_secret(
        SecretId=f"{config.secrets_prefix}grafana/admin", ForceDeleteWithoutRecovery=True
    )

    wanted = len(config.secrets.names) - 1
    assert check_secret_values(
        account.secretsmanager, config, generated=frozenset({"grafana/admin"})
    ).line() == (f"ok   secret-values: {wanted} secrets have a current value")
    assert not check_secret_values(account.secretsmanager, config, generated=frozenset()).ok


@pytest.mark.usefixtures("aws")
def test_secret_values_are_never_read(config: EnvironmentConfig) -> None:
    account = FakeAccount(config).prepare()
    operations: list[str] = []
    account.secretsmanager.meta.events.register(
        "before-call", lambda model, **_: operations.append(model.name)
    )

    assert check_secret_values(account.secretsmanager, config).ok
    assert set(operations) == {"DescribeSecret"}
    assert len(operations) == len(config.secrets.names) - 1  # grafana/admin is generated


def test_generated_secrets_are_what_the_data_layer_generates(
    synthesis, config: EnvironmentConfig
) -> None:
    """The secrets the preflight skips are exactly those with a Terraform-written value:
    by the environment's data layer, or a recovery's secrets being the recovered
    environment's replicas, by the recovered environment's (a recovery's writes none)."""

    def written(env: EnvironmentConfig) -> set[str]:
        versions = synthesis.resources(
            f"{env.stack_prefix}-data", "aws_secretsmanager_secret_version"
        )
        return {
            path.split("/")[1].removesuffix("-value")
            for path in versions
            if path.startswith("secrets/")
        }

    writer = synthesis.environment(config.recovery_of) if config.recovery_of else config
    assert {n.replace("/", "-") for n in config.generated_secrets} == written(writer)
    if config.recovery_of:
        assert written(config) == set()


@pytest.mark.usefixtures("aws")
def test_an_aws_error_fails_its_check_only(config: EnvironmentConfig) -> None:
    clients = {
        name: boto3.client(name, region_name=config.region)
        for name in ("eks", "iam", "route53", "ecr", "codebuild", "rds")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    stubs["iam"].add_client_error("get_role", "AccessDenied", "not authorized")

    results = run_checks(config, "account", clients.__getitem__)

    access_roles = next(r for r in results if r.check == "access-roles")
    assert access_roles.line() == (
        "FAIL access-roles: could not check: An error occurred (AccessDenied) "
        "when calling the GetRole operation: not authorized"
    )
    # the other stubs answer nothing: every check fails with its reason, none raises
    assert [r.ok for r in results] == [False] * len(planned_checks(config, "account"))
    assert all(r.detail.startswith("could not check: ") for r in results)


# --- a recovery's restore source -----------------------------------------------------


def _rds(config: EnvironmentConfig) -> tuple[object, Stubber]:
    client = boto3.client("rds", region_name=config.region)
    return client, Stubber(client)


def test_the_restore_source_is_checked_for_recoveries_only(config: EnvironmentConfig) -> None:
    planned = planned_checks(config, "account")
    assert ("restore-source" in planned) is (config.recovery_of is not None)
    assert "restore-source" not in planned_checks(config, "workloads")


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("status", ["replicating", "active", "retained"])
def test_restorable_backups_pass_with_their_latest_time(
    envs: dict[str, EnvironmentConfig], recovery_name: str, status: str
) -> None:
    config = envs[recovery_name]
    assert config.restore is not None
    arn = config.restore.automated_backups_arn
    client, stub = _rds(config)
    latest = datetime(2026, 11, 30, 12, 5, tzinfo=UTC)
    stub.add_response(
        "describe_db_instance_automated_backups",
        {
            "DBInstanceAutomatedBackups": [
                {
                    "DBInstanceAutomatedBackupsArn": arn,
                    "DBInstanceIdentifier": "db-1",
                    "Status": status,
                    "RestoreWindow": {"LatestTime": latest},
                }
            ]
        },
        {"DBInstanceAutomatedBackupsArn": arn},
    )
    with stub:
        result = check_restore_source(client, config)
    assert result.line() == (
        f"ok   restore-source: db-1's backups are {status} in {config.region}, "
        f"restorable up to {latest.isoformat()}"
    )


@pytest.mark.usefixtures("aws")
def test_missing_backups_name_the_output_to_copy(
    envs: dict[str, EnvironmentConfig], recovery_name: str
) -> None:
    config = envs[recovery_name]
    assert config.restore is not None
    client, stub = _rds(config)
    stub.add_client_error(
        "describe_db_instance_automated_backups",
        "DBInstanceAutomatedBackupNotFound",
        "not found",
        http_status_code=404,
    )
    with stub:
        result = check_restore_source(client, config)
    assert not result.ok
    assert result.detail.startswith(
        f"no automated backups {config.restore.automated_backups_arn} in {config.region}; "
        f"copy {config.recovery_of}'s backup-stack output replicated-backups-arn"
    )


@pytest.mark.usefixtures("aws")
def test_backups_still_being_created_fail(
    envs: dict[str, EnvironmentConfig], recovery_name: str
) -> None:
    config = envs[recovery_name]
    assert config.restore is not None
    client, stub = _rds(config)
    stub.add_response(
        "describe_db_instance_automated_backups",
        {"DBInstanceAutomatedBackups": [{"Status": "creating"}]},
    )
    with stub:
        result = check_restore_source(client, config)
    assert not result.ok
    assert "is creating, not replicating or active or retained" in result.detail


@pytest.mark.usefixtures("aws")
def test_other_rds_errors_are_reported_as_could_not_check(
    envs: dict[str, EnvironmentConfig], recovery_name: str
) -> None:
    """Only "not found" is an answer; access denied and the like propagate, and
    run_checks reports them as this check's failure (could not check)."""
    config = envs[recovery_name]
    client, stub = _rds(config)
    stub.add_client_error("describe_db_instance_automated_backups", "AccessDenied", "no")
    with stub, pytest.raises(ClientError, match="AccessDenied"):
        check_restore_source(client, config)


@pytest.mark.usefixtures("aws")
def test_newer_addon_builds_are_named_without_failing(config: EnvironmentConfig) -> None:
    """The add-ons' update report (Renovate has no AWS credentials): a newer build
    offered for the cluster's Kubernetes version is named; the check still passes."""
    account = FakeAccount(config)
    kubernetes = config.cluster.kubernetes_version
    coredns = config.cluster.addons["coredns"]
    account.offer_addons(
        {
            "coredns": [
                (coredns, kubernetes),
                ("v99.0.1-eksbuild.1", kubernetes),
                ("v999.0.0-eksbuild.1", "1.0"),  # not for this cluster: not named
            ]
        }
    )

    result = check_addon_versions(account.eks, config)

    assert result.ok
    assert result.line().endswith(f"; newer builds: coredns {coredns} -> v99.0.1-eksbuild.1")
    account.all_stubs_used()
