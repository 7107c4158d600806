"""The preflight checks: each takes boto3 clients and the config, returns a :class:`Result`.

Checks only call Describe/List/Get APIs that return metadata. Clients are
passed in (tests hand in moto or Stubber clients); nothing here reads the
process environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kreo_infra.config import EnvironmentConfig

Client = Any
"""A boto3 client; its methods are generated at run time, so it is not typed further."""

ClientFactory = Callable[[str], Client]
"""Service name (``"eks"``) to client, e.g. ``boto3.session.Session(region_name=...).client``."""

STAGES = ("account", "workloads", "all")
ACCOUNT_CHECKS = (
    "addon-versions",
    "access-roles",
    "zone-delegation",
    "images",
    "github-credential",
    "restore-source",
)
WORKLOAD_CHECKS = ("secret-values", "images")


@dataclass(frozen=True)
class Result:
    """The outcome of one check: its name, whether it passed, and what to tell the operator."""

    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.check}: {self.detail}"


def _bootstrap(config: EnvironmentConfig) -> str:
    """How to deploy the bootstrap stack that makes ``config``'s account-wide things: the
    environment's own, or a recovery environment's (it has none) the recovered one's."""
    return f"make deploy ENV={config.recovery_of or config.name} STACK=bootstrap"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _offered_addon_versions(eks: Client, addon: str, kubernetes_version: str) -> list[str]:
    paginator = eks.get_paginator("describe_addon_versions")
    pages = paginator.paginate(addonName=addon, kubernetesVersion=kubernetes_version)
    return [
        version["addonVersion"]
        for page in pages
        for entry in page.get("addons", [])
        for version in entry.get("addonVersions", [])
        if any(
            c.get("clusterVersion") == kubernetes_version
            for c in version.get("compatibilities", [])
        )
    ]


def check_addon_versions(eks: Client, config: EnvironmentConfig) -> Result:
    """Guards against pinning an add-on version EKS does not offer for the cluster's
    Kubernetes version (eks:DescribeAddonVersions), and names the newer builds EKS
    offers for it: the add-ons' update report, which Renovate cannot make without AWS
    credentials (docs/operations.md, "Dependency updates")."""
    kubernetes = config.cluster.kubernetes_version
    missing, newer = [], []
    for addon, version in config.cluster.addons.items():
        offered = _offered_addon_versions(eks, addon, kubernetes)
        newest = max(offered, key=_version_key) if offered else None
        if version not in offered:
            hint = f"newest offered: {newest}" if newest else "no version offered"
            missing.append(f"{addon} {version} ({hint})")
        elif newest is not None and _version_key(newest) > _version_key(version):
            newer.append(f"{addon} {version} -> {newest}")
    if missing:
        return Result(
            "addon-versions",
            False,
            f"not offered for Kubernetes {kubernetes}: {'; '.join(missing)}; "
            "pin an offered version under cluster.addons in config",
        )
    updates = f"; newer builds: {', '.join(newer)}" if newer else ""
    return Result(
        "addon-versions",
        True,
        f"{len(config.cluster.addons)} add-on versions offered for Kubernetes {kubernetes}"
        f"{updates}",
    )


def _role_exists(iam: Client, name: str) -> bool:
    try:
        iam.get_role(RoleName=name)
    except ClientError as error:
        if _error_code(error) == "NoSuchEntity":
            return False
        raise
    return True


def check_access_roles(iam: Client, config: EnvironmentConfig) -> Result:
    """Guards against EKS access entries and the deploy job naming IAM roles that do not
    exist (iam:GetRole)."""
    cluster = config.cluster
    access_roles = list(dict.fromkeys([*cluster.admin_role_names, *cluster.readonly_role_names]))
    missing_access = [name for name in access_roles if not _role_exists(iam, name)]
    deploy_missing = not _role_exists(iam, config.deploy_role)
    if not missing_access and not deploy_missing:
        names = [*access_roles, config.deploy_role]
        return Result("access-roles", True, f"IAM roles exist: {', '.join(names)}")
    problems = []
    if missing_access:
        problems.append(
            f"no IAM role {', '.join(missing_access)}: create it or fix "
            "cluster.admin_role_names / cluster.readonly_role_names (plain IAM role names; "
            "IAM Identity Center roles are named AWSReservedSSO_* and cannot be used here)"
        )
    if deploy_missing:
        owner = f"{config.recovery_of}'s" if config.recovery_of else "the"
        problems.append(
            f"no deploy role {config.deploy_role}: deploy {owner} bootstrap stack "
            f"({_bootstrap(config)})"
        )
    return Result("access-roles", False, "; ".join(problems))


def _public_zone(route53: Client, domain: str) -> dict[str, Any] | None:
    """The first public hosted zone named exactly ``domain``, or None."""
    fqdn = f"{domain}."
    kwargs: dict[str, str] = {"DNSName": fqdn}
    while True:
        page = route53.list_hosted_zones_by_name(**kwargs)
        for zone in page["HostedZones"]:
            if zone["Name"] != fqdn:
                return None  # zones are listed in name order, starting at DNSName
            if not zone.get("Config", {}).get("PrivateZone", False):
                return zone
        if not page.get("IsTruncated"):
            return None
        kwargs = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"]}


def _name_servers(values: list[str]) -> list[str]:
    return sorted({value.rstrip(".").lower() for value in values})


def _delegation(route53: Client, parent_zone_id: str, domain: str) -> list[str] | None:
    """The name servers of the NS record for ``domain`` in the parent zone, or None."""
    page = route53.list_resource_record_sets(
        HostedZoneId=parent_zone_id, StartRecordName=f"{domain}.", StartRecordType="NS"
    )
    for record in page["ResourceRecordSets"]:
        if record["Name"] == f"{domain}." and record["Type"] == "NS":
            return _name_servers([r["Value"] for r in record.get("ResourceRecords", [])])
    return None


def check_zone_delegation(
    route53: Client, config: EnvironmentConfig, *, parent_environment: str | None = None
) -> Result:
    """Guards against deploying a delegated zone before its parent zone exists, or with a
    stale NS delegation (route53:ListHostedZonesByName, GetHostedZone,
    ListResourceRecordSets)."""
    domain, parent = config.dns.domain, config.dns.delegate_from
    if parent is None:
        return Result("zone-delegation", True, f"{domain} is not delegated from a parent zone")
    parent_zone = _public_zone(route53, parent)
    if parent_zone is None:
        owner = parent_environment or f"<environment of {parent}>"
        return Result(
            "zone-delegation",
            False,
            f"no public hosted zone {parent} in this account; deploy the parent environment's "
            f"edge stack first (make deploy ENV={owner} STACK=edge, "
            "or the workflow's first-deploy run)",
        )
    zone = _public_zone(route53, domain)
    if zone is None:
        return Result(
            "zone-delegation",
            True,
            f"parent zone {parent} exists; this environment's edge stack creates and "
            f"delegates {domain}",
        )
    expected = _name_servers(route53.get_hosted_zone(Id=zone["Id"])["DelegationSet"]["NameServers"])
    actual = _delegation(route53, parent_zone["Id"], domain)
    redeploy = f"make deploy ENV={config.name} STACK=edge"
    if actual is None:
        return Result(
            "zone-delegation",
            False,
            f"{parent} has no NS record for {domain}; its zone's name servers "
            f"({', '.join(expected)}) are unreachable: deploy this environment's edge stack "
            f"({redeploy}), which writes the delegation",
        )
    if actual != expected:
        return Result(
            "zone-delegation",
            False,
            f"the NS record for {domain} in {parent} lists {', '.join(actual)}, but the zone "
            f"{domain} has {', '.join(expected)}; redeploy this environment's edge stack "
            f"({redeploy}) or remove a duplicate {domain} zone",
        )
    return Result("zone-delegation", True, f"{parent} delegates {domain} to its name servers")


def _image_problem(ecr: Client, repository: str, tag: str) -> str | None:
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        code = _error_code(error)
        if code == "RepositoryNotFoundException":
            return "no repository"
        if code == "ImageNotFoundException":
            return "no such tag"
        raise
    return None


def check_images(ecr: Client, config: EnvironmentConfig) -> Result:
    """Guards against releasing an image tag that was never pushed to this account's
    registry (ecr:DescribeImages)."""
    problems: dict[str, str] = {}
    tags = set()
    for service_name, service in config.services.items():
        tag = service.image_tag or config.application.image_tag
        repository = f"{config.project}/{service_name}"
        tags.add(tag)
        problem = _image_problem(ecr, repository, tag)
        if problem:
            problems[f"{repository}:{tag}"] = problem
    if not problems:
        return Result(
            "images",
            True,
            f"{len(config.services)} service images present (tag {', '.join(sorted(tags))})",
        )
    listed = ", ".join(f"{image} ({problem})" for image, problem in problems.items())
    apps = ", ".join(config.delivery.app_repositories)
    detail = f"missing {listed}; push them with the image-push workflow of {apps}"
    if "no repository" in problems.values():
        if config.recovery_of:  # the recovered registry's replicas, made by ECR on a push
            detail += (
                f" ({config.recovery_of}'s bootstrap replicates the repositories to "
                f"{config.region} as images are pushed: {_bootstrap(config)})"
            )
        else:
            detail += f" (the bootstrap stack creates the repositories: {_bootstrap(config)})"
    return Result("images", False, detail)


def check_github_credential(codebuild: Client, config: EnvironmentConfig) -> Result:
    """Guards against runners with no safe GitHub credential (codebuild:ListSourceCredentials)."""
    github = [
        info
        for info in codebuild.list_source_credentials().get("sourceCredentialsInfos", [])
        if info.get("serverType") == "GITHUB"
    ]
    usable = [info for info in github if info.get("authType") != "CODECONNECTIONS"]
    if usable:
        auth_type = usable[0].get("authType", "unknown auth type")
        return Result(
            "github-credential", True, f"CodeBuild has a GitHub source credential ({auth_type})"
        )
    import_command = (
        "aws codebuild import-source-credentials --server-type GITHUB "
        "--auth-type PERSONAL_ACCESS_TOKEN --token <token>"
    )
    guide = '(docs/operations.md, "Connect GitHub")'
    if github:
        return Result(
            "github-credential",
            False,
            f"CodeBuild's GitHub source credential in {config.region} is a CodeConnections "
            "connection: builds could mint its token; import a personal access token instead "
            f"(decision 56): {import_command} --should-overwrite {guide}",
        )
    return Result(
        "github-credential",
        False,
        f"CodeBuild has no GitHub source credential in {config.region}; import one: "
        f"{import_command} {guide}",
    )


RESTORABLE_STATUSES = ("replicating", "active", "retained")
"""DescribeDBInstanceAutomatedBackups statuses whose backups a restore can use:
replicating (a replica of a source still running, or unreachable), active, or
retained (the source deleted)."""


def check_restore_source(rds: Client, config: EnvironmentConfig) -> Result:
    """A recovery's ``restore.automated_backups_arn`` names replicated automated backups
    in its region that a restore can use, and how recent they are: the config holds a
    copy of the recovered environment's output, which changes when the backup stack
    replaces the replication (rds:DescribeDBInstanceAutomatedBackups)."""
    assert config.restore is not None  # planned for recovery environments only
    arn = config.restore.automated_backups_arn
    try:
        found = rds.describe_db_instance_automated_backups(DBInstanceAutomatedBackupsArn=arn).get(
            "DBInstanceAutomatedBackups", []
        )
    except ClientError as error:
        if _error_code(error) != "DBInstanceAutomatedBackupNotFound":
            raise
        found = []
    guide = (
        f"copy {config.recovery_of}'s backup-stack output replicated-backups-arn into "
        'restore.automated_backups_arn (docs/runbooks/disaster-recovery.md, "Region loss")'
    )
    if not found:
        return Result(
            "restore-source", False, f"no automated backups {arn} in {config.region}; {guide}"
        )
    backups = found[0]
    status = backups.get("Status", "unknown")
    if status not in RESTORABLE_STATUSES:
        return Result(
            "restore-source",
            False,
            f"{arn} is {status}, not {' or '.join(RESTORABLE_STATUSES)}; {guide}",
        )
    latest = backups.get("RestoreWindow", {}).get("LatestTime")
    return Result(
        "restore-source",
        True,
        f"{backups.get('DBInstanceIdentifier', arn)}'s backups are {status} in "
        f"{config.region}, restorable up to {latest.isoformat() if latest else 'unknown'}",
    )


def _secret_state(secretsmanager: Client, secret_id: str) -> str | None:
    try:
        description = secretsmanager.describe_secret(SecretId=secret_id)
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            return "no container"
        raise
    stages = description.get("VersionIdsToStages") or {}
    if not any("AWSCURRENT" in labels for labels in stages.values()):
        return "no value"
    return None


def check_secret_values(
    secretsmanager: Client,
    config: EnvironmentConfig,
    *,
    generated: frozenset[str] | None = None,
) -> Result:
    """Guards against workloads starting with empty application secrets, without reading
    any value (secretsmanager:DescribeSecret, never GetSecretValue)."""
    prefix = config.secrets_prefix
    if generated is None:
        generated = config.generated_secrets  # Terraform writes these (write-only)
    wanted = [f"{prefix}{name}" for name in config.secrets.names if name not in generated]
    states = {secret: _secret_state(secretsmanager, secret) for secret in wanted}
    no_container = [secret for secret, state in states.items() if state == "no container"]
    no_value = [secret for secret, state in states.items() if state == "no value"]
    if not no_container and not no_value:
        return Result("secret-values", True, f"{len(wanted)} secrets have a current value")
    problems = []
    recovered = config.recovery_of
    if no_container and recovered:
        # A recovery's secrets are the recovered environment's replicas in this region.
        problems.append(
            f"no secret {', '.join(no_container)} in {config.region}: {recovered}'s data "
            "layer replicates its secrets here (secrets.replicate_to_dr_region; "
            f"make deploy ENV={recovered} STACK=data)"
        )
    elif no_container:
        problems.append(
            f"no secret {', '.join(no_container)}: deploy the data layer first "
            f"(make deploy ENV={config.name} STACK=data)"
        )
    for secret in no_value:
        file = secret.removeprefix(prefix).replace("/", "-")
        put = (
            f"aws secretsmanager put-secret-value --region {config.region} "
            f"--secret-id {secret} --secret-string file://{file}.txt"
        )
        if recovered:
            # A replica takes no value of its own: set it in the recovered environment's
            # region, or, that region lost, promote the replica first.
            problems.append(
                f"no value in {secret}, a replica of {recovered}'s: set the value there, or, "
                "its region lost, promote the replica (aws secretsmanager "
                f"stop-replication-to-replica --region {config.region} --secret-id {secret}), "
                f"then {put}"
            )
        else:
            problems.append(f"no value in {secret}: {put}")
    return Result("secret-values", False, "; ".join(problems))


def planned_checks(config: EnvironmentConfig, stage: str) -> list[str]:
    """The checks ``stage`` runs for ``config``, in order, each once."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    names = {"account": ACCOUNT_CHECKS, "workloads": WORKLOAD_CHECKS}.get(
        stage, ACCOUNT_CHECKS + WORKLOAD_CHECKS
    )
    skipped = set() if config.dns.delegate_from else {"zone-delegation"}
    if config.restore is None:
        skipped.add("restore-source")
    return [name for name in dict.fromkeys(names) if name not in skipped]


def run_checks(
    config: EnvironmentConfig,
    stage: str,
    client: ClientFactory,
    *,
    parent_environment: str | None = None,
) -> list[Result]:
    """Run ``stage``'s checks; an AWS error (access denied, no credentials) fails its check."""
    runners: dict[str, Callable[[], Result]] = {
        "addon-versions": lambda: check_addon_versions(client("eks"), config),
        "access-roles": lambda: check_access_roles(client("iam"), config),
        "zone-delegation": lambda: check_zone_delegation(
            client("route53"), config, parent_environment=parent_environment
        ),
        "images": lambda: check_images(client("ecr"), config),
        "github-credential": lambda: check_github_credential(client("codebuild"), config),
        "restore-source": lambda: check_restore_source(client("rds"), config),
        "secret-values": lambda: check_secret_values(client("secretsmanager"), config),
    }
    results = []
    for name in planned_checks(config, stage):
        try:
            results.append(runners[name]())
        except (BotoCoreError, ClientError) as error:
            results.append(Result(name, False, f"could not check: {error}"))
    return results
