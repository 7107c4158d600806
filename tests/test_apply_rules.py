"""Apply-time rules: what AWS, a chart or Terraform's S3 backend rejects (or silently
ignores) only when the stacks are applied.

Neither the provider's types, checkov, ``terraform validate``, ``terraform test``
with mocks nor the moto emulator see these: they are constraints between
arguments, between resources, between stacks, or between the synthesized
values and a pinned chart. Each rule is one small function over the whole
synthesized output (every stack of every environment, plus the workflows)
returning violations, ``"<stack>: <address>: <problem>"``, and cites in its
docstring the documentation, source or issue that states the constraint.

``test_rule_holds`` runs every rule over the current synthesis and expects no
violation. ``test_rule_bites`` proves every rule catches what it is for: on the
pre-fix output (fragments of the synthesis at commit 3871521, in
tests/apply_rules/pre_fix/) or, where the pre-fix output already complied, on
a copy of the current output with the defect put back in (``derived``). A rule
without a bite fails ``test_every_rule_bites_and_cites``. tests/apply_rules/
README.md says how to add one.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.apply_rules.extract import (
    CHART_VALUES_DIR,
    PRE_FIX,
    chart_paths,
    read_chart,
    schema_open_maps,
)
from tests.conftest import PROJECT_ROOT, Synthesis
from tests.rule_catalogue import Bite, Catalogue, bite_cases

APPLY_RULES_DIR = Path(__file__).resolve().parent / "apply_rules"
PRE_FIX_DIR = APPLY_RULES_DIR / "pre_fix"
BOOTSTRAP_LAYER = "-bootstrap"
"""The accounts' stacks (``kreo-<env>-bootstrap``): each deployed once, before its
environment, by an administrator."""


def bootstraps(d: Deployment) -> list[str]:
    """The bootstrap stacks of ``d``, one per environment's account."""
    return sorted(name for name in d.stacks if name.endswith(BOOTSTRAP_LAYER))


@dataclass
class Deployment:
    """What the rules read: stack name to synthesized JSON, and the CI workflows."""

    stacks: dict[str, dict[str, Any]]
    workflows: dict[str, Any] = field(default_factory=dict)
    """Workflow file name to its parsed YAML."""
    access_roles: frozenset[str] | None = None
    """The IAM role names the preflight's access-roles check verifies; None: no preflight."""
    charts_dir: Path = PROJECT_ROOT / "charts"

    def copy(self) -> Deployment:
        return dataclasses.replace(
            self, stacks=copy.deepcopy(self.stacks), workflows=copy.deepcopy(self.workflows)
        )


Rule = Callable[[Deployment], list[str]]
CATALOGUE: Catalogue[Deployment] = Catalogue()
RULES = CATALOGUE.rules
rule = CATALOGUE.rule


# --- reading the synthesized JSON -------------------------------------------------------

REFERENCE = re.compile(r"^\$\{(?P<kind>[a-z0-9_]+)\.(?P<name>[^.}]+)\.(?P<attribute>[^}]+)\}$")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def each(d: Deployment, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(stack name, resource name, body)`` of every resource of ``kind``."""
    for stack_name, stack in sorted(d.stacks.items()):
        for name, body in stack.get("resource", {}).get(kind, {}).items():
            yield stack_name, name, body


def of(d: Deployment, stack_name: str, kind: str) -> dict[str, dict[str, Any]]:
    """The resources of ``kind`` in one stack, by name."""
    return d.stacks.get(stack_name, {}).get("resource", {}).get(kind, {})


def at(stack_name: str, kind: str, name: str) -> str:
    return f"{stack_name}: {kind}.{name}"


def literal(value: Any) -> bool:
    return isinstance(value, str) and "${" not in value


def referenced(stack: dict[str, Any], value: Any, kind: str) -> tuple[str, dict[str, Any]] | None:
    """``(name, body)`` of the resource of ``kind`` that ``value`` (``${kind.name.attr}``) names."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    if not match or match["kind"] != kind:
        return None
    body = stack.get("resource", {}).get(kind, {}).get(match["name"])
    return (match["name"], body) if body is not None else None


def env_stacks(d: Deployment, stack_name: str) -> list[str]:
    """The stacks of ``stack_name``'s environment (``kreo-<env>-*``, its bootstrap too)."""
    prefix = stack_name.rsplit("-", 1)[0] + "-"
    return sorted(name for name in d.stacks if name.startswith(prefix))


def aws_region(stack: dict[str, Any], body: dict[str, Any]) -> str | None:
    """The region a resource is created in: its ``region`` argument, else its provider's."""
    if "region" in body:
        return body["region"] if literal(body["region"]) else None
    provider = body.get("provider", "aws")
    alias = provider.split(".", 1)[1] if "." in provider else None
    for config in stack.get("provider", {}).get("aws", []):
        if config.get("alias") == alias:
            region = config.get("region")
            return region if literal(region) else None
    return None


def release_values(body: dict[str, Any]) -> dict[str, Any]:
    """A ``helm_release``'s values: its YAML documents merged, then its ``set`` entries."""
    merged: dict[str, Any] = {}
    for text in body.get("values") or []:
        merged.update(yaml.safe_load(text) or {})
    for entry in body.get("set") or []:
        *parents, leaf = re.split(r"(?<!\\)\.", entry["name"])
        node = merged
        for parent in parents:
            node = node.setdefault(parent.replace("\\.", "."), {})
        node[leaf.replace("\\.", ".")] = entry.get("value")
    return merged


def parse_policy(text: Any) -> dict[str, Any] | None:
    """A policy document (a JSON string that may hold ``${...}``); None if it is one reference."""
    if not isinstance(text, str) or REFERENCE.match(text):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(INTERPOLATION.sub("INTERPOLATED", text))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def allows(document: dict[str, Any] | None, action: str) -> list[dict[str, Any]]:
    """The Allow statements of ``document`` whose actions match ``action`` (wildcards too)."""
    found = []
    for statement in as_list((document or {}).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        patterns = [p.lower() for p in as_list(statement.get("Action"))]
        if any(fnmatch.fnmatchcase(action.lower(), p) for p in patterns):
            found.append(statement)
    return found


def policies(d: Deployment) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(stack, kind, name, document)`` of every identity policy (inline or managed)."""
    for kind in ("aws_iam_role_policy", "aws_iam_policy"):
        for stack_name, name, body in each(d, kind):
            document = parse_policy(body.get("policy"))
            if document is not None:
                yield stack_name, kind, name, document


def primaries(d: Deployment) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for stack_name, name, body in each(d, "aws_db_instance"):
        if "replicate_source_db" not in body:
            yield stack_name, name, body


def source_of(stack: dict[str, Any], replica: dict[str, Any]) -> dict[str, Any] | None:
    """The instance a replica replicates, in the same stack (by reference or identifier)."""
    source = replica.get("replicate_source_db")
    found = referenced(stack, source, "aws_db_instance")
    if found:
        return found[1]
    for body in stack.get("resource", {}).get("aws_db_instance", {}).values():
        if literal(source) and body.get("identifier") == source:
            return body
    return None


# --- 1. database credentials --------------------------------------------------------------


@rule
def read_replica_of_managed_password_primary(d: Deployment) -> list[str]:
    """RDS refuses to create a read replica of an instance whose master password RDS
    manages: "InvalidParameterValue: Creating read replicas for source instance ... where
    ManageMasterUserPassword is enabled is not supported".

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
    ("Limitations for Secrets Manager integration with Amazon RDS"); issues
    terraform-aws-modules/terraform-aws-rds#512 and #532.
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        if "replicate_source_db" not in body:
            continue
        source = source_of(d.stacks[stack_name], body)
        if source is not None and source.get("manage_master_user_password") is True:
            found.append(
                f"{at(stack_name, 'aws_db_instance', name)}: replicates "
                f"{source.get('identifier')}, whose master password RDS manages "
                "(manage_master_user_password): RDS rejects the replica"
            )
    return found


PLAINTEXT_ARGUMENTS = {
    "password", "passwords", "master_password", "master_user_password",
    "secret_string", "secret_binary", "auth_token",
}  # fmt: skip
"""Arguments whose value Terraform keeps in plan and state (write-only ``*_wo`` do not)."""


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            if key != "//":
                yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


EPHEMERAL_REFERENCE = re.compile(r"ephemeral\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)")
MANAGED_REFERENCE = re.compile(
    r"(?<![\w.])(?!ephemeral\.|var\.|local\.)([a-z][a-z0-9]*_[a-z0-9_]+)\."
)


def _write_only_source(stack: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with where a write-only value comes from: a managed resource (whose
    own state keeps the secret) or an ephemeral resource the stack does not declare."""
    if not isinstance(value, str) or "${" not in value:
        return []
    problems = []
    for expression in INTERPOLATION.findall(value) or [value]:
        for kind, name in EPHEMERAL_REFERENCE.findall(expression):
            if name not in stack.get("ephemeral", {}).get(kind, {}):
                problems.append(f"reads ephemeral.{kind}.{name}, which the stack does not declare")
        without_ephemeral = EPHEMERAL_REFERENCE.sub("", expression)
        for kind in MANAGED_REFERENCE.findall(without_ephemeral.removeprefix("${")):
            if kind in stack.get("resource", {}) or kind in stack.get("data", {}):
                problems.append(f"comes from {kind}, whose state keeps the secret")
    return problems


@rule
def no_plaintext_passwords(d: Deployment) -> list[str]:
    """No password or secret value as a plain argument (it lands in plan and state), and
    every write-only argument has its version: Terraform sends a ``*_wo`` value only when
    ``*_wo_version`` changes, so without one the value is never (re)written. A write-only
    value comes from an ephemeral resource the stack declares (its top-level
    ``ephemeral`` block), not from a managed one (random_password keeps it in state).

    Cite: https://developer.hashicorp.com/terraform/language/manage-sensitive-data/write-only
    ("Write-only arguments"); provider docs aws_db_instance ``password_wo_version`` and
    aws_secretsmanager_secret_version ``secret_string_wo_version``.
    """
    found = []
    for stack_name, stack in sorted(d.stacks.items()):
        for kind, resources in stack.get("resource", {}).items():
            for name, body in resources.items():
                for path, block in _walk(body):
                    prefix = f"{path}." if path else ""
                    for key in sorted(block):
                        if key in PLAINTEXT_ARGUMENTS:
                            found.append(
                                f"{at(stack_name, kind, name)}: {prefix}{key} puts a secret "
                                "in plan and state (use the write-only argument)"
                            )
                        if key.endswith("_wo") and f"{key}_version" not in block:
                            found.append(
                                f"{at(stack_name, kind, name)}: {prefix}{key} without "
                                f"{key}_version: Terraform never sends the value again"
                            )
                        if key.endswith("_wo"):
                            found += [
                                f"{at(stack_name, kind, name)}: {prefix}{key} {problem}"
                                for problem in _write_only_source(stack, block[key])
                            ]
    return found


def _master_usernames(d: Deployment) -> set[str]:
    return {body["username"] for _, _, body in primaries(d) if literal(body.get("username"))}


def _marketplace_releases(d: Deployment) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for stack_name, name, body in each(d, "helm_release"):
        if body.get("name") == "kreo-marketplace":
            yield stack_name, name, release_values(body)


@rule
def services_do_not_use_the_master_user(d: Deployment) -> list[str]:
    """Services connect as their own database roles, never as the master user: the master
    user's password is write-only (never in the cluster), and an IAM token for it only
    works after ``GRANT rds_iam``, which would turn the administrator into an IAM user.

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html
    ("Creating a database account using IAM authentication"); the kreo-marketplace chart's
    values.yaml (services.<name>.database.user).
    """
    masters = _master_usernames(d)
    found = []
    for stack_name, name, values in _marketplace_releases(d):
        where = at(stack_name, "helm_release", name)
        for key, value in (values.get("config") or {}).items():
            if value in masters:
                found.append(f"{where}: config.{key} is the master user {value}")
        for service, settings in (values.get("services") or {}).items():
            settings = settings or {}
            database = settings.get("database") or {}
            if not database.get("user"):
                found.append(f"{where}: services.{service} has no database.user (its own role)")
            for key in ("user", "readerUser"):
                if database.get(key) in masters:
                    found.append(f"{where}: services.{service}.database.{key} is the master user")
            for key, value in (settings.get("config") or {}).items():
                if value in masters:
                    found.append(f"{where}: services.{service}.config.{key} is the master user")
            for variable in as_list(settings.get("env")):
                if isinstance(variable, dict) and variable.get("value") in masters:
                    found.append(
                        f"{where}: services.{service}.env {variable.get('name')} is the master user"
                    )
    for stack_name, kind, name, document in policies(d):
        if kind == "aws_iam_policy" and "EverythingTheRoleIsGranted" in json.dumps(document):
            continue  # the pipeline's permissions boundary: it grants nothing
        for statement in allows(document, "rds-db:connect"):
            for resource in as_list(statement.get("Resource")):
                user = str(resource).rsplit("/", 1)[-1]
                if user in masters or user == "*":
                    found.append(
                        f"{at(stack_name, kind, name)}: rds-db:connect as {user!r} "
                        "(the master user)"
                    )
    return found


# --- 3. secrets encrypted with customer-managed keys --------------------------------------


def _cmk_secret_names(d: Deployment) -> set[str]:
    return {
        body["name"]
        for _, _, body in each(d, "aws_secretsmanager_secret")
        if body.get("kms_key_id") and literal(body.get("name"))
    }


def _reads_cmk_secret(d: Deployment, stack_name: str, resource: Any, cmk_names: set[str]) -> bool:
    stack = d.stacks[stack_name]
    if not isinstance(resource, str):
        return False
    found = referenced(stack, resource, "aws_secretsmanager_secret")
    if found:
        return bool(found[1].get("kms_key_id"))
    found = referenced(stack, resource, "aws_db_instance")
    if found:  # ${aws_db_instance.X.master_user_secret[0].secret_arn}
        return bool(found[1].get("master_user_secret_kms_key_id"))
    if resource == "*":
        return bool(cmk_names)
    if ":secret:" in resource:
        pattern = INTERPOLATION.sub("*", resource.split(":secret:", 1)[1])
        # A secret's ARN ends in -<6 random characters>: a name pattern matches with or without.
        return any(fnmatch.fnmatchcase(n, pattern.removesuffix("-??????")) for n in cmk_names)
    return "cross-stack-output" in resource  # another stack's secret: all ours use our keys


@rule
def secret_readers_can_decrypt(d: Deployment) -> list[str]:
    """Whoever reads a secret encrypted with a customer-managed key needs ``kms:Decrypt``
    on that key besides ``secretsmanager:GetSecretValue`` (only the AWS-managed
    aws/secretsmanager key is implicit); without it GetSecretValue is AccessDenied.

    Cite: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
    ("Secret encryption and decryption in AWS Secrets Manager").
    """
    cmk_names = _cmk_secret_names(d)
    found = []
    for stack_name, kind, name, document in policies(d):
        readers = allows(document, "secretsmanager:GetSecretValue")
        reads_cmk = any(
            _reads_cmk_secret(d, stack_name, resource, cmk_names)
            for statement in readers
            for resource in as_list(statement.get("Resource"))
        )
        if reads_cmk and not allows(document, "kms:Decrypt"):
            found.append(
                f"{at(stack_name, kind, name)}: allows secretsmanager:GetSecretValue on "
                "secrets encrypted with a customer-managed key, but not kms:Decrypt"
            )
    return found


# --- 4. images --------------------------------------------------------------------------

ECR_OUTPUT = re.compile(
    r"cross-stack-reference-input-(?P<stack>[a-z0-9-]+)\.outputs\.cross-stack-output-aws_ecr_repository"
)


@rule
def images_exist_before_environments(d: Deployment) -> list[str]:
    """The marketplace images come from ECR repositories the account-level bootstrap
    creates. A repository created by an environment's stack does not exist when another
    environment deploys first (the one that rehearses the other's changes): its pods fail to pull
    (ImagePullBackOff), ``helm_release`` with ``wait``/``atomic`` times out and rolls back.

    Cite: https://docs.aws.amazon.com/AmazonECR/latest/userguide/Repositories.html
    ("Amazon ECR private repositories": images are pushed to, and pulled from, an existing
    repository); docs/decisions.md (deploy order: the bootstrap, then the environments).
    """
    created = {
        body.get("name") for b in bootstraps(d) for body in of(d, b, "aws_ecr_repository").values()
    }
    found = []
    for stack_name, name, values in _marketplace_releases(d):
        where = at(stack_name, "helm_release", name)
        for service, settings in (values.get("services") or {}).items():
            repository = str(((settings or {}).get("image") or {}).get("repository", ""))
            output = ECR_OUTPUT.search(repository)
            if output:
                if not output["stack"].endswith(BOOTSTRAP_LAYER):
                    found.append(
                        f"{where}: services.{service} pulls from a repository of "
                        f"{output['stack']}, not of a bootstrap"
                    )
                continue
            repository_name = repository.split(".amazonaws.com/", 1)[-1]
            if repository_name not in created:
                found.append(
                    f"{where}: services.{service} pulls {repository_name}, "
                    "which no bootstrap creates"
                )
    for stack_name, name, body in each(d, "aws_ecr_repository"):
        if not stack_name.endswith(BOOTSTRAP_LAYER):
            found.append(
                f"{at(stack_name, 'aws_ecr_repository', name)}: {body.get('name')} is created "
                "by an environment stack, not by a bootstrap"
            )
    return found


# --- 5. generated secrets -------------------------------------------------------------------


def _remote_keys(value: Any) -> Iterator[str]:
    for _, block in _walk(value):
        if literal(block.get("remoteKey")):
            yield block["remoteKey"]


@rule
def generated_secrets_have_values(d: Deployment) -> list[str]:
    """A secret the platform chart's ExternalSecret reads and nobody sets out of band
    (Grafana's admin credentials) needs a value written by Terraform: an
    ``aws_secretsmanager_secret`` alone has no version, GetSecretValue fails with
    ResourceNotFoundException, the ExternalSecret never syncs, and Grafana, whose admin
    ``existingSecret`` is missing, never starts (the kube-prometheus-stack release times out).

    Cite: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
    (a first version, labelled AWSCURRENT, exists only when SecretString or SecretBinary is
    given); https://external-secrets.io/latest/provider/aws-secrets-manager/.
    """
    secrets: dict[str, tuple[str, str]] = {}
    for stack_name, name, body in each(d, "aws_secretsmanager_secret"):
        if literal(body.get("name")):
            secrets[body["name"]] = (stack_name, name)
    with_values = set()
    for stack_name, _, body in each(d, "aws_secretsmanager_secret_version"):
        target = referenced(
            d.stacks[stack_name], body.get("secret_id"), "aws_secretsmanager_secret"
        )
        if target and "secret_string_wo" in body:
            with_values.add((stack_name, target[0]))
    found = []
    for stack_name, name, body in each(d, "helm_release"):
        if body.get("name") != "kreo-platform":
            continue
        for key in sorted(set(_remote_keys(release_values(body)))):
            where = at(stack_name, "helm_release", name)
            if key not in secrets:
                found.append(f"{where}: reads {key}, which no stack creates")
            elif secrets[key] not in with_values:
                found.append(
                    f"{where}: reads {key}, and {secrets[key][0]} gives it no value "
                    "(no aws_secretsmanager_secret_version with secret_string_wo)"
                )
    return found


# --- 6. chart values ------------------------------------------------------------------------


def _local_chart_keys(chart_dir: Path) -> set[str]:
    """A repository chart's keys; the maps its schema leaves open are open (``key.*``)."""
    chart = read_chart(chart_dir)
    return set(chart_paths(chart, open_maps=schema_open_maps(chart.schema)))


def chart_keys(d: Deployment, body: dict[str, Any]) -> tuple[str, set[str] | None]:
    """``(chart, its value keys)``: the extracted list of a pinned chart, or a local chart's."""
    if body.get("repository"):
        chart = f"{body.get('chart')}-{body.get('version')}"
        listed = CHART_VALUES_DIR / f"{chart}.txt"
        if not listed.is_file():
            return chart, None
        lines = listed.read_text(encoding="utf-8").splitlines()
        return chart, {line for line in lines if line and not line.startswith("#")}
    local = d.charts_dir / str(body.get("name"))
    if (local / "values.yaml").is_file():
        return f"charts/{body.get('name')}", _local_chart_keys(local)
    return str(body.get("chart")), None


@rule
def chart_values_exist_in_pinned_chart(d: Deployment) -> list[str]:
    """Every value a ``helm_release`` sets is one its chart (at the pinned version)
    defines. Helm renders templates and ignores unknown keys silently (unless the chart's
    schema forbids them): a misspelled or removed value deploys without the setting.

    Cite: https://helm.sh/docs/chart_template_guide/values_files/ (values reach templates
    only through the keys they read); the key lists in tests/apply_rules/chart_values/,
    each naming its chart repository, tag and values.yaml path.
    """
    found = []
    for stack_name, name, body in each(d, "helm_release"):
        where = at(stack_name, "helm_release", name)
        chart, keys = chart_keys(d, body)
        if keys is None:
            found.append(
                f"{where}: no value list for chart {chart} "
                "(python -m tests.apply_rules.extract ... --write)"
            )
            continue
        for top, value in release_values(body).items():
            if top not in keys:
                found.append(f"{where}: {top} is not a value of {chart}")
                continue
            if f"{top}.*" in keys or not isinstance(value, dict):
                continue
            children = {k.split(".", 1)[1] for k in keys if k.startswith(f"{top}.")}
            for child in value if children else ():
                if child not in children:
                    found.append(f"{where}: {top}.{child} is not a value of {chart}")
    return found


# --- 7. pipeline sessions -------------------------------------------------------------------

SESSION_NEEDS = (("kreo-deploy-", 14400), ("kreo-plan", 7200))
"""Role name prefix to the session a job needs (config/defaults.yaml delivery roles): a
first deploy of an environment (EKS, Multi-AZ RDS and its replica, OpenSearch, CloudFront)
takes hours; a plan of every stack well over one."""
DEFAULT_SESSION = 3600
"""IAM's default MaxSessionDuration, and configure-aws-credentials' default request."""


def _session_need(role: str) -> int:
    return next((need for prefix, need in SESSION_NEEDS if role.startswith(prefix)), 0)


def _credential_steps(workflow: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in ((workflow or {}).get("jobs") or {}).items():
        for step in (job or {}).get("steps") or []:
            if "aws-actions/configure-aws-credentials" in str(step.get("uses", "")):
                yield job_name, step.get("with") or {}


@rule
def deploy_sessions_outlast_a_first_deploy(d: Deployment) -> list[str]:
    """The pipeline's sessions last as long as its longest job: the deploy roles allow 4 h
    and the plan role 2 h (IAM MaxSessionDuration, default 1 h), each workflow requests
    that long (configure-aws-credentials requests 1 h unless role-duration-seconds says
    otherwise) and never more than the role allows (AssumeRoleWithWebIdentity fails:
    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role"), and
    a chained role session is at most 1 h. An expired session mid-apply leaves state locked
    and resources half-created.

    Cite: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    (MaxSessionDuration); https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    (DurationSeconds); https://github.com/aws-actions/configure-aws-credentials#options
    (role-duration-seconds, role-chaining).
    """
    roles = {
        body.get("name"): (b, name, body.get("max_session_duration", DEFAULT_SESSION))
        for b in bootstraps(d)
        for name, body in of(d, b, "aws_iam_role").items()
    }
    found = []
    for role, (b, name, maximum) in sorted(roles.items()):
        if maximum < _session_need(role):
            found.append(
                f"{at(b, 'aws_iam_role', name)}: {role} allows {maximum} s sessions, "
                f"its jobs need {_session_need(role)}"
            )
    for file_name, workflow in sorted(d.workflows.items()):
        for job, given in _credential_steps(workflow):
            role = str(given.get("role-to-assume", "")).rsplit("/", 1)[-1]
            requested = given.get("role-duration-seconds", DEFAULT_SESSION)
            if not role or not isinstance(requested, int):
                continue
            where = f".github/workflows/{file_name}: jobs.{job}"
            if str(given.get("role-chaining", "")).lower() == "true" and requested > 3600:
                found.append(f"{where}: a chained session of {requested} s (at most 3600)")
            if role in roles and requested > roles[role][2]:
                found.append(
                    f"{where}: requests {requested} s of {role}, which allows {roles[role][2]}"
                )
            if requested < _session_need(role):
                found.append(
                    f"{where}: a {requested} s session of {role}; the job needs "
                    f"{_session_need(role)} (role-duration-seconds)"
                )
    return found


# --- 8. engine versions ---------------------------------------------------------------------


@rule
def auto_minor_upgrades_pin_the_major_only(d: Deployment) -> list[str]:
    """With ``auto_minor_version_upgrade`` RDS moves the engine to new minors; a pinned
    minor then differs from the instance and the next plan tries to downgrade, which RDS
    rejects. The provider's answer: give only the major (``17``).

    Cite: terraform-provider-aws website/docs/r/db_instance.html.markdown (engine_version:
    "If auto_minor_version_upgrade is enabled, you can provide a prefix of the version
    such as 8.0 (for 8.0.36)"); hashicorp/terraform-provider-aws#39579 and PR #49496
    ("InvalidParameterCombination: Cannot upgrade postgres from 14.22 to 14.17").
    """
    found = []
    for stack_name, name, body in primaries(d):
        version = body.get("engine_version")
        if body.get("auto_minor_version_upgrade") is True and literal(version):
            if body.get("engine") == "postgres" and not re.fullmatch(r"\d+", version):
                found.append(
                    f"{at(stack_name, 'aws_db_instance', name)}: engine_version {version!r} "
                    "pins a minor that automatic minor upgrades move past (give the major)"
                )
            elif body.get("engine") != "postgres" and version.count(".") > 1:
                found.append(
                    f"{at(stack_name, 'aws_db_instance', name)}: engine_version {version!r} "
                    "pins a minor that automatic minor upgrades move past"
                )
    return found


# --- 9. state encryption --------------------------------------------------------------------


@rule
def state_encrypted_with_the_state_key(d: Deployment) -> list[str]:
    """Each stack's state is encrypted with the state key the bootstrap creates
    (``alias/<bucket>``). With ``encrypt`` and no ``kms_key_id`` the S3 backend asks S3
    for SSE-S3 (AES256) on every write, overriding the bucket's default KMS encryption:
    the state is silently outside the key's policy and its CloudTrail record.

    Cite: https://developer.hashicorp.com/terraform/language/backend/s3 (``encrypt``,
    ``kms_key_id``); hashicorp/terraform internal/backend/remote-state/s3/client.go (put:
    ServerSideEncryptionAes256 unless a KMS key or customer key is configured).
    """
    found = []
    for stack_name, stack in sorted(d.stacks.items()):
        backend = (stack.get("terraform", {}).get("backend") or {}).get("s3")
        if not backend or backend.get("encrypt") is not True:
            continue
        wanted = f"alias/{backend.get('bucket')}"
        key = backend.get("kms_key_id")
        if not key:
            found.append(f"{stack_name}: terraform.backend.s3: encrypt without kms_key_id (SSE-S3)")
        elif key != wanted:
            found.append(f"{stack_name}: terraform.backend.s3: kms_key_id {key}, not {wanted}")
        else:
            # The bootstrap that creates the state bucket (its account's).
            owners = [
                b
                for b in bootstraps(d)
                if backend.get("bucket")
                in {x.get("bucket") for x in of(d, b, "aws_s3_bucket").values()}
            ]
            aliases = {x.get("name") for b in owners for x in of(d, b, "aws_kms_alias").values()}
            if key not in aliases:
                made_by = " and ".join(owners) or "no bootstrap"
                found.append(f"{stack_name}: terraform.backend.s3: {made_by} creates no {key}")
    return found


# --- 10. names ------------------------------------------------------------------------------

IAM_NAME = r"[\w+=,.@-]"
NAME_RULES: dict[str, list[tuple[str, str, str, str]]] = {
    # type: [(argument, pattern, what AWS allows, API reference)]
    "aws_iam_role": [
        ("name", rf"{IAM_NAME}{{1,64}}", "1-64 of [A-Za-z0-9_+=,.@-]",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"),
        ("name_prefix", rf"{IAM_NAME}{{1,38}}", "at most 38 (Terraform appends 26)",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"),
    ],
    "aws_iam_policy": [
        ("name", rf"{IAM_NAME}{{1,128}}", "1-128 of [A-Za-z0-9_+=,.@-]",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html"),
    ],
    "aws_iam_role_policy": [
        ("name", rf"{IAM_NAME}{{1,128}}", "1-128 of [A-Za-z0-9_+=,.@-]",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html"),
    ],
    "aws_db_instance": [
        ("identifier", r"(?!.*--)[a-z][a-z0-9-]{0,62}(?<!-)",
         "1-63 lowercase letters, digits, hyphens; a letter first; no -- or trailing -",
         "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"),
    ],
    "aws_db_parameter_group": [
        ("name", r"(?!.*--)[a-z][a-z0-9-]{0,254}(?<!-)",
         "1-255 lowercase letters, digits, hyphens; a letter first; no -- or trailing -",
         "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html"),
    ],
    "aws_db_subnet_group": [
        ("name", r"(?!default$)[a-z0-9 ._-]{1,255}", "1-255 of [a-z0-9 ._-], not default",
         "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html"),
    ],
    "aws_db_proxy": [
        ("name", r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{0,62}(?<!-)",
         "1-63 letters, digits, hyphens; a letter first; no -- or trailing -",
         "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html"),
    ],
    "aws_elasticache_replication_group": [
        ("replication_group_id", r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{0,39}(?<!-)",
         "1-40 letters, digits, hyphens; a letter first; no -- or trailing -",
         "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html"),
    ],
    "aws_opensearch_domain": [
        ("domain_name", r"[a-z][a-z0-9-]{2,27}", "3-28 lowercase letters, digits, hyphens",
         "https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_CreateDomain.html"),
    ],
    "aws_s3_bucket": [
        ("bucket",
         r"(?!xn--|sthree-|amzn-s3-demo-)(?!.*\.\.)(?!.*(-s3alias|--ol-s3|--x-s3|--table-s3)$)"
         r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
         "3-63 of [a-z0-9.-], alphanumeric ends, no reserved prefix or suffix",
         "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"),
    ],
    "aws_lb": [
        ("name", r"(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?",
         "1-32 alphanumerics or hyphens, no hyphen at either end, not internal-*",
         "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"),
    ],
    "aws_lb_target_group": [
        ("name", r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?",
         "1-32 alphanumerics or hyphens, no hyphen at either end",
         "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"),
    ],
    "aws_eks_cluster": [
        ("name", r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "1-100 of [A-Za-z0-9_-], alphanumeric first",
         "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html"),
    ],
    "aws_eks_node_group": [
        ("node_group_name", r"[0-9A-Za-z][A-Za-z0-9_-]{0,62}", "1-63 of [A-Za-z0-9_-]",
         "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html"),
    ],
    "aws_codebuild_project": [
        ("name", r"[A-Za-z0-9][A-Za-z0-9_-]{1,149}", "2-150 of [A-Za-z0-9_-]",
         "https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html"),
    ],
    "aws_cloudwatch_log_group": [
        ("name", r"[.\-_/#A-Za-z0-9]{1,512}", "1-512 of [.-_/#A-Za-z0-9]",
         "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"),
    ],
    "aws_kms_alias": [
        ("name", r"alias/(?!aws/)[a-zA-Z0-9/_-]{1,250}", "alias/<name>, not alias/aws/",
         "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"),
    ],
    "aws_secretsmanager_secret": [
        ("name", r"[A-Za-z0-9/_+=.@-]{1,512}", "1-512 of [A-Za-z0-9/_+=.@-]",
         "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html"),
    ],
    "aws_security_group": [
        ("name", r"(?!sg-)[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}",
         "1-255 of a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*, not sg-*",
         "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"),
    ],
    "aws_backup_vault": [
        ("name", r"[a-zA-Z0-9_-]{2,50}", "2-50 of [a-zA-Z0-9_-]",
         "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html"),
    ],
    "aws_sns_topic": [
        ("name", r"[A-Za-z0-9_-]{1,251}\.fifo|[A-Za-z0-9_-]{1,256}", "1-256 of [A-Za-z0-9_-]",
         "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"),
    ],
    "aws_ecr_repository": [
        ("name", r"(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
         "2-256 lowercase path segments",
         "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html"),
    ],
    "aws_wafv2_web_acl": [
        ("name", r"[\w-]{1,128}", "1-128 of [A-Za-z0-9_-]",
         "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html"),
    ],
    "aws_launch_template": [
        ("name", r"[a-zA-Z0-9().\-/_]{3,128}", "3-128 of [a-zA-Z0-9().-/_]",
         "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html"),
    ],
}  # fmt: skip


def _ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@rule
def names_within_aws_limits(d: Deployment) -> list[str]:
    """Literal names and identifiers within each API's length and character limits
    (CreateX fails with InvalidParameterValue/ValidationException otherwise).

    Cite: each type's API reference in ``NAME_RULES`` (CreateRole, CreateDBInstance,
    CreateReplicationGroup, CreateDomain, S3 bucket naming rules, ...).
    """
    found = []
    for kind, checks in NAME_RULES.items():
        for stack_name, name, body in each(d, kind):
            for argument, pattern, allowed, _ in checks:
                value = body.get(argument)
                if not literal(value):
                    continue
                if not re.fullmatch(pattern, value) or (
                    kind == "aws_s3_bucket" and _ip_address(value)
                ):
                    found.append(
                        f"{at(stack_name, kind, name)}: {argument} {value!r} ({len(value)} "
                        f"characters): AWS allows {allowed}"
                    )
    return found


# --- 11. parameter groups -------------------------------------------------------------------


def _family(engine: str, version: str) -> str | None:
    parts = version.split(".")
    if engine == "postgres":
        return f"postgres{parts[0]}"
    if engine in ("mysql", "mariadb"):
        return f"{engine}{'.'.join(parts[:2])}"
    if engine in ("valkey", "redis"):
        return "redis6.x" if engine == "redis" and parts[0] == "6" else f"{engine}{parts[0]}"
    return None


def _group(stack: dict[str, Any], value: Any, kind: str) -> tuple[str, dict[str, Any]] | None:
    found = referenced(stack, value, kind)
    if found or not literal(value):
        return found
    for name, body in stack.get("resource", {}).get(kind, {}).items():
        if body.get("name") == value:
            return name, body
    return None


@rule
def parameter_group_family_matches_engine(d: Deployment) -> list[str]:
    """A parameter group serves one engine major (its ``family``): an instance of another
    major fails with InvalidParameterCombination (the group's DBParameterGroupFamily
    cannot be used for this instance).

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
    (a DB parameter group belongs to one DB parameter group family); ElastiCache
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html.
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        stack = d.stacks[stack_name]
        group = _group(stack, body.get("parameter_group_name"), "aws_db_parameter_group")
        engine_source = source_of(stack, body) if "replicate_source_db" in body else body
        if not group or not engine_source:
            continue
        engine, version = engine_source.get("engine"), engine_source.get("engine_version")
        wanted = _family(str(engine), str(version)) if literal(version) else None
        if wanted and group[1].get("family") != wanted:
            found.append(
                f"{at(stack_name, 'aws_db_instance', name)}: {engine} {version} with "
                f"parameter group {group[0]} of family {group[1].get('family')} (needs {wanted})"
            )
    for stack_name, name, body in each(d, "aws_elasticache_replication_group"):
        kind = "aws_elasticache_parameter_group"
        group = _group(d.stacks[stack_name], body.get("parameter_group_name"), kind)
        version = body.get("engine_version")
        wanted = (
            _family(str(body.get("engine", "redis")), str(version)) if literal(version) else None
        )
        if group and wanted and group[1].get("family") != wanted:
            found.append(
                f"{at(stack_name, 'aws_elasticache_replication_group', name)}: "
                f"{body.get('engine')} {version} with family {group[1].get('family')}"
            )
    return found


# --- 12. CloudFront's region ----------------------------------------------------------------


def _certificate_of(stack: dict[str, Any], value: Any) -> tuple[str, dict[str, Any]] | None:
    validation = referenced(stack, value, "aws_acm_certificate_validation")
    if validation:
        value = validation[1].get("certificate_arn")
    return referenced(stack, value, "aws_acm_certificate")


@rule
def cloudfront_certificates_and_web_acls_in_us_east_1(d: Deployment) -> list[str]:
    """CloudFront only uses ACM certificates and WAF web ACLs (scope CLOUDFRONT) created in
    us-east-1; a distribution cannot use a REGIONAL web ACL.

    Cite: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    ("Requirements for using SSL/TLS certificates with CloudFront": "request or import the
    certificate in the US East (N. Virginia) Region"); WAF
    https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html (Scope:
    "To work with CloudFront, you must also specify the Region US East (N. Virginia)").
    """
    found = []
    for stack_name, name, body in each(d, "aws_cloudfront_distribution"):
        stack = d.stacks[stack_name]
        for viewer in as_list(body.get("viewer_certificate")):
            certificate = _certificate_of(stack, viewer.get("acm_certificate_arn"))
            if certificate:
                region = aws_region(stack, certificate[1])
                if region and region != "us-east-1":
                    found.append(
                        f"{at(stack_name, 'aws_cloudfront_distribution', name)}: certificate "
                        f"{certificate[0]} is created in {region}, not us-east-1"
                    )
        acl = referenced(stack, body.get("web_acl_id"), "aws_wafv2_web_acl")
        if acl and acl[1].get("scope") != "CLOUDFRONT":
            found.append(
                f"{at(stack_name, 'aws_cloudfront_distribution', name)}: web ACL {acl[0]} "
                f"has scope {acl[1].get('scope')}, not CLOUDFRONT"
            )
    for stack_name, name, body in each(d, "aws_wafv2_web_acl"):
        region = aws_region(d.stacks[stack_name], body)
        if body.get("scope") == "CLOUDFRONT" and region and region != "us-east-1":
            found.append(
                f"{at(stack_name, 'aws_wafv2_web_acl', name)}: scope CLOUDFRONT in {region}"
            )
    return found


# --- 13. access roles -----------------------------------------------------------------------

ROLE_ARN = re.compile(r"^arn:[^:]+:iam::[^:]*:role/(?P<name>.+)$")


def _principals(d: Deployment) -> Iterator[tuple[str, str, str, Any]]:
    for stack_name, name, body in each(d, "aws_eks_access_entry"):
        yield stack_name, "aws_eks_access_entry", name, body.get("principal_arn")
    for stack_name, name, body in each(d, "aws_opensearch_domain"):
        options = (body.get("advanced_security_options") or {}).get("master_user_options") or {}
        if options.get("master_user_arn"):
            yield stack_name, "aws_opensearch_domain", name, options["master_user_arn"]


@rule
def access_roles_are_plain_iam_roles(d: Deployment) -> list[str]:
    """EKS access entries and the OpenSearch master user name an existing IAM role, by a
    plain ``arn:<partition>:iam::<account>:role/<name>``: CreateAccessEntry fails for a
    principal that does not exist, and IAM Identity Center's roles (AWSReservedSSO_*, path
    aws-reserved/sso.amazonaws.com/) carry a random suffix that changes when the permission
    set is re-assigned, so a configured name stops matching. Each role is created by a
    stack (the bootstrap or the environment's) or verified by the preflight's access-roles
    check before the deploy.

    Cite: https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html
    ("the ARN of one, and only one, existing IAM principal");
    https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html.
    """
    found = []
    for stack_name, kind, name, arn in _principals(d):
        where = at(stack_name, kind, name)
        if referenced(d.stacks[stack_name], arn, "aws_iam_role") or "aws_iam_role" in str(arn):
            continue  # the role's own ARN attribute: a stack creates it
        match = ROLE_ARN.match(str(arn))
        if not match:
            found.append(f"{where}: {arn} is not an IAM role ARN")
            continue
        role = match["name"]
        if "/" in role or role.startswith("AWSReservedSSO_"):
            found.append(
                f"{where}: {role} is an IAM Identity Center role or has a path "
                "(use a plain IAM role the stacks or the preflight know)"
            )
            continue
        created = {
            body.get("name")
            for stack in {*bootstraps(d), *env_stacks(d, stack_name)}
            for body in of(d, stack, "aws_iam_role").values()
        }
        if role not in created and role not in (d.access_roles or ()):
            found.append(f"{where}: role {role} is created by no stack and checked by no preflight")
    return found


# --- further rules found in the synthesized JSON --------------------------------------------


@rule
def performance_insights_retention_is_valid(d: Deployment) -> list[str]:
    """Performance Insights keeps data 7 days, 731, or a multiple of 31 (months); the
    provider does not validate it, RDS rejects anything else (InvalidParameterValue).

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    (PerformanceInsightsRetentionPeriod: "7, month * 31 ..., 731").
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        days = body.get("performance_insights_retention_period")
        if isinstance(days, int) and not (
            days in (7, 731) or (days % 31 == 0 and 31 <= days <= 713)
        ):
            found.append(
                f"{at(stack_name, 'aws_db_instance', name)}: "
                f"performance_insights_retention_period {days} (7, 731 or months * 31)"
            )
    return found


@rule
def replica_sources_keep_backups(d: Deployment) -> list[str]:
    """A read replica's source keeps automated backups (backup_retention_period >= 1);
    otherwise CreateDBInstanceReadReplica fails.

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html
    (automatic backups must be turned on on the source, a backup retention period other
    than 0).
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        if "replicate_source_db" not in body:
            continue
        source = source_of(d.stacks[stack_name], body)
        if source is not None and not source.get("backup_retention_period", 0):
            found.append(
                f"{at(stack_name, 'aws_db_instance', name)}: its source "
                f"{source.get('identifier')} keeps no automated backups"
            )
    return found


@rule
def multi_az_instances_leave_the_zone_to_rds(d: Deployment) -> list[str]:
    """A Multi-AZ instance cannot be pinned to an availability zone.

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    (AvailabilityZone: "can't be specified if the DB instance is a Multi-AZ deployment").
    """
    return [
        f"{at(stack_name, 'aws_db_instance', name)}: multi_az with availability_zone "
        f"{body['availability_zone']}"
        for stack_name, name, body in each(d, "aws_db_instance")
        if body.get("multi_az") is True and body.get("availability_zone")
    ]


@rule
def storage_autoscaling_has_headroom(d: Deployment) -> list[str]:
    """``max_allocated_storage`` (when set) is at least 10 % above ``allocated_storage``:
    "Invalid max storage size for <engine>" otherwise.

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
    ("set the maximum storage threshold to at least 10% more than the current allocated
    storage").
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        allocated, maximum = body.get("allocated_storage"), body.get("max_allocated_storage")
        if (
            isinstance(allocated, int)
            and isinstance(maximum, int)
            and 0 < maximum < allocated * 1.1
        ):
            found.append(
                f"{at(stack_name, 'aws_db_instance', name)}: max_allocated_storage "
                f"{maximum} is less than 10 % above allocated_storage {allocated}"
            )
    return found


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _weekly(window: str) -> list[tuple[int, int]]:
    """A window as [start, end) minutes of the week; a daily one (hh:mm-hh:mm) on each day."""
    week = 7 * 24 * 60
    if window.count(":") == 2:  # hh:mm-hh:mm, every day
        start, end = (_minutes(part) for part in window.split("-"))
        spans = [
            (day * 1440 + start, day * 1440 + end + (1440 if end <= start else 0))
            for day in range(7)
        ]
    else:  # ddd:hh:mm-ddd:hh:mm
        first, second = window.lower().split("-")
        start = DAYS.index(first[:3]) * 1440 + _minutes(first[4:])
        end = DAYS.index(second[:3]) * 1440 + _minutes(second[4:])
        spans = [(start, end if end > start else end + week)]
    return (
        spans + [(s + week, e + week) for s, e in spans] + [(s - week, e - week) for s, e in spans]
    )


@rule
def backup_and_maintenance_windows_do_not_overlap(d: Deployment) -> list[str]:
    """RDS backup and maintenance windows are each at least 30 minutes and do not overlap.

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    (PreferredBackupWindow: "Must not conflict with the preferred maintenance window. Must
    be at least 30 minutes."; PreferredMaintenanceWindow likewise).
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        backup, maintenance = body.get("backup_window"), body.get("maintenance_window")
        where = at(stack_name, "aws_db_instance", name)
        spans = {}
        for argument, window in (("backup_window", backup), ("maintenance_window", maintenance)):
            if literal(window):
                spans[argument] = _weekly(window)
                start, end = spans[argument][0]
                if end - start < 30:
                    found.append(f"{where}: {argument} {window} is shorter than 30 minutes")
        if len(spans) == 2 and any(
            b_start < m_end and m_start < b_end
            for b_start, b_end in spans["backup_window"]
            for m_start, m_end in spans["maintenance_window"]
        ):
            found.append(
                f"{where}: backup_window {backup} overlaps maintenance_window {maintenance}"
            )
    return found


POSTGRES_LOGS = {"postgresql", "upgrade", "iam-db-auth-error"}


@rule
def postgres_log_exports_are_postgres_logs(d: Deployment) -> list[str]:
    """A PostgreSQL instance exports only PostgreSQL's log types (the provider accepts
    every engine's); RDS rejects the others (InvalidParameterCombination).

    Cite: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html
    (publishing PostgreSQL logs to CloudWatch Logs: postgresql, upgrade, iam-db-auth-error);
    CreateDBInstance EnableCloudwatchLogsExports.
    """
    found = []
    for stack_name, name, body in each(d, "aws_db_instance"):
        stack = d.stacks[stack_name]
        engine = (
            (source_of(stack, body) or {}).get("engine")
            if "replicate_source_db" in body
            else body.get("engine")
        )
        if engine != "postgres":
            continue
        for log in as_list(body.get("enabled_cloudwatch_logs_exports")):
            if log not in POSTGRES_LOGS:
                found.append(f"{at(stack_name, 'aws_db_instance', name)}: exports {log!r}")
    return found


@rule
def elasticache_access_control_needs_transit_encryption(d: Deployment) -> list[str]:
    """ElastiCache user groups (RBAC) and AUTH tokens need in-transit encryption.

    Cite: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html
    (RBAC needs encryption in transit); CreateReplicationGroup AuthToken (only on replication
    groups where TransitEncryptionEnabled is true).
    """
    return [
        f"{at(stack_name, 'aws_elasticache_replication_group', name)}: user groups or an "
        "auth token without transit_encryption_enabled"
        for stack_name, name, body in each(d, "aws_elasticache_replication_group")
        if (body.get("user_group_ids") or body.get("auth_token") or body.get("auth_token_wo"))
        and str(body.get("transit_encryption_enabled")).lower() != "true"
    ]


@rule
def elasticache_failover_needs_a_replica(d: Deployment) -> list[str]:
    """Automatic failover needs a replica (two or more nodes), and Multi-AZ needs
    automatic failover.

    Cite: https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
    (AutomaticFailoverEnabled, MultiAZEnabled); https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html.
    """
    found = []
    for stack_name, name, body in each(d, "aws_elasticache_replication_group"):
        where = at(stack_name, "aws_elasticache_replication_group", name)
        failover = str(body.get("automatic_failover_enabled")).lower() == "true"
        nodes = body.get("num_cache_clusters")
        replicas = body.get("replicas_per_node_group")
        if failover and ((nodes is not None and nodes < 2) or replicas == 0):
            found.append(f"{where}: automatic failover without a replica")
        if str(body.get("multi_az_enabled")).lower() == "true" and not failover:
            found.append(f"{where}: Multi-AZ without automatic failover")
    return found


@rule
def opensearch_data_nodes_fill_every_zone(d: Deployment) -> list[str]:
    """With zone awareness the data node count is a multiple of the zone count.

    Cite: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html
    (Configuring a multi-AZ domain: an even number of data nodes for two zones, a multiple
    of three for three).
    """
    found = []
    for stack_name, name, body in each(d, "aws_opensearch_domain"):
        cluster = body.get("cluster_config") or {}
        if cluster.get("zone_awareness_enabled") is not True:
            continue
        zones = (cluster.get("zone_awareness_config") or {}).get("availability_zone_count", 2)
        nodes = cluster.get("instance_count", 1)
        if isinstance(nodes, int) and nodes % zones:
            found.append(
                f"{at(stack_name, 'aws_opensearch_domain', name)}: "
                f"{nodes} data nodes in {zones} zones"
            )
    return found


@rule
def opensearch_fine_grained_access_needs_encryption(d: Deployment) -> list[str]:
    """Fine-grained access control needs encryption at rest, node-to-node encryption and
    HTTPS only.

    Cite: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html
    ("Fine-grained access control ... requires HTTPS for all traffic to the domain,
    encryption of data at rest, and node-to-node encryption").
    """
    found = []
    for stack_name, name, body in each(d, "aws_opensearch_domain"):
        if (body.get("advanced_security_options") or {}).get("enabled") is not True:
            continue
        missing = [
            argument
            for argument, enabled in (
                ("encrypt_at_rest", (body.get("encrypt_at_rest") or {}).get("enabled")),
                (
                    "node_to_node_encryption",
                    (body.get("node_to_node_encryption") or {}).get("enabled"),
                ),
                ("enforce_https", (body.get("domain_endpoint_options") or {}).get("enforce_https")),
            )
            if enabled is not True
        ]
        if missing:
            found.append(
                f"{at(stack_name, 'aws_opensearch_domain', name)}: fine-grained access "
                f"control without {', '.join(missing)}"
            )
    return found


@rule
def interface_endpoints_private_dns_needs_vpc_dns(d: Deployment) -> list[str]:
    """An interface endpoint with private DNS needs its VPC's DNS support and DNS
    hostnames (enable_dns_hostnames defaults to false).

    Cite: https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
    (private DNS needs the VPC attributes enableDnsHostnames and enableDnsSupport);
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html.
    """
    found = []
    for stack_name, name, body in each(d, "aws_vpc_endpoint"):
        if (
            body.get("vpc_endpoint_type") != "Interface"
            or body.get("private_dns_enabled") is not True
        ):
            continue
        vpc = referenced(d.stacks[stack_name], body.get("vpc_id"), "aws_vpc")
        if vpc and not (
            vpc[1].get("enable_dns_hostnames") is True
            and vpc[1].get("enable_dns_support", True) is True
        ):
            found.append(
                f"{at(stack_name, 'aws_vpc_endpoint', name)}: private DNS in VPC {vpc[0]} "
                "without DNS support and hostnames"
            )
    return found


def _covers(names: list[str], alias: str) -> bool:
    for name in names:
        if name == alias:
            return True
        if (
            name.startswith("*.")
            and alias.count(".") == name.count(".")
            and alias.endswith(name[1:])
        ):
            return True
    return False


@rule
def cloudfront_aliases_covered_by_the_certificate(d: Deployment) -> list[str]:
    """Every alternate domain name of a distribution is covered by its certificate
    (InvalidViewerCertificate otherwise).

    Cite: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html
    ("Requirements for using alternate domain names": "a valid SSL/TLS certificate that
    covers the alternate domain name").
    """
    found = []
    for stack_name, name, body in each(d, "aws_cloudfront_distribution"):
        stack = d.stacks[stack_name]
        for viewer in as_list(body.get("viewer_certificate")):
            certificate = _certificate_of(stack, viewer.get("acm_certificate_arn"))
            if not certificate:
                continue
            names = [
                certificate[1].get("domain_name"),
                *as_list(certificate[1].get("subject_alternative_names")),
            ]
            if not all(literal(n) for n in names):
                continue
            for alias in as_list(body.get("aliases")):
                if literal(alias) and not _covers(names, alias):
                    found.append(
                        f"{at(stack_name, 'aws_cloudfront_distribution', name)}: alias {alias} "
                        f"is not covered by certificate {certificate[0]}"
                    )
    return found


@rule
def waf_logs_go_to_aws_waf_logs_destinations(d: Deployment) -> list[str]:
    """WAF logs only to a log group, bucket or stream named ``aws-waf-logs-*``
    (WAFInvalidParameterException otherwise).

    Cite: https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
    ("Your log group name must start with aws-waf-logs-").
    """
    found = []
    for stack_name, name, body in each(d, "aws_wafv2_web_acl_logging_configuration"):
        stack = d.stacks[stack_name]
        for destination in as_list(body.get("log_destination_configs")):
            group = referenced(stack, destination, "aws_cloudwatch_log_group")
            bucket = referenced(stack, destination, "aws_s3_bucket")
            target = (group or bucket or (None, {}))[1]
            named = target.get("name") or target.get("bucket")
            if literal(destination):
                named = destination.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            if literal(named) and not named.startswith("aws-waf-logs-"):
                found.append(
                    f"{at(stack_name, 'aws_wafv2_web_acl_logging_configuration', name)}: "
                    f"logs to {named}, not aws-waf-logs-*"
                )
    return found


@rule
def cloudfront_log_buckets_accept_acls(d: Deployment) -> list[str]:
    """CloudFront standard (legacy) logs need a bucket with ACLs enabled: new buckets
    default to BucketOwnerEnforced, which CloudFront refuses ("The S3 bucket that you
    specified for CloudFront logs does not enable ACL access").

    Cite: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
    (the log bucket must have ACLs enabled, S3 Object Ownership not "bucket owner
    enforced").
    """
    found = []
    for stack_name, name, body in each(d, "aws_cloudfront_distribution"):
        stack = d.stacks[stack_name]
        for logging in as_list(body.get("logging_config")):
            bucket = referenced(stack, logging.get("bucket"), "aws_s3_bucket")
            if not bucket:
                continue
            ownership = [
                control.get("rule", {}).get("object_ownership")
                for control in stack.get("resource", {})
                .get("aws_s3_bucket_ownership_controls", {})
                .values()
                if (referenced(stack, control.get("bucket"), "aws_s3_bucket") or ("",))[0]
                == bucket[0]
            ]
            if not ownership or "BucketOwnerEnforced" in ownership:
                found.append(
                    f"{at(stack_name, 'aws_cloudfront_distribution', name)}: logs to bucket "
                    f"{bucket[0]}, whose ACLs are disabled (object ownership "
                    f"{ownership[0] if ownership else 'default BucketOwnerEnforced'})"
                )
    return found


UNIQUE_NAMES: dict[str, tuple[str, bool]] = {
    # type: (name argument, unique in the whole account/partition rather than per region)
    "aws_s3_bucket": ("bucket", True),
    "aws_iam_role": ("name", True),
    "aws_iam_policy": ("name", True),
    "aws_cloudfront_origin_access_control": ("name", True),
    "aws_cloudfront_response_headers_policy": ("name", True),
    "aws_kms_alias": ("name", False),
    "aws_secretsmanager_secret": ("name", False),
    "aws_cloudwatch_log_group": ("name", False),
    "aws_db_instance": ("identifier", False),
    "aws_db_parameter_group": ("name", False),
    "aws_db_subnet_group": ("name", False),
    "aws_db_proxy": ("name", False),
    "aws_elasticache_replication_group": ("replication_group_id", False),
    "aws_elasticache_subnet_group": ("name", False),
    "aws_elasticache_user": ("user_id", False),
    "aws_elasticache_user_group": ("user_group_id", False),
    "aws_opensearch_domain": ("domain_name", False),
    "aws_eks_cluster": ("name", False),
    "aws_ecr_repository": ("name", False),
    "aws_sns_topic": ("name", False),
    "aws_backup_vault": ("name", False),
    "aws_launch_template": ("name", False),
    "aws_codebuild_project": ("name", False),
}


@rule
def names_unique_in_the_account(d: Deployment) -> list[str]:
    """A name AWS keeps unique per account (or partition, or region) is used by one
    resource of one stack of that account only (each environment has its account: the
    stacks ``kreo-<env>-*``); a bucket name by one resource anywhere. The second create
    fails (BucketAlreadyExists, EntityAlreadyExists, ResourceExistsException,
    DBInstanceAlreadyExists, ...).

    Cite: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    ("Bucket names must be unique across all AWS accounts in all the AWS Regions within a
    partition"); https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    ("Names of IAM identities ... must be unique within the AWS account").
    """
    seen: dict[tuple[str, str | None, str | None, str], str] = {}
    found = []
    for kind, (argument, account_wide) in UNIQUE_NAMES.items():
        for stack_name, name, body in each(d, kind):
            value = body.get(argument)
            if not literal(value):
                continue
            region = None if account_wide else aws_region(d.stacks[stack_name], body)
            # S3 bucket names: the partition's; everything else: the account's.
            account = None if kind == "aws_s3_bucket" else stack_name.rsplit("-", 1)[0]
            key = (kind, account, region, value)
            here = at(stack_name, kind, name)
            if key in seen:
                found.append(f"{here}: {argument} {value!r} is also used by {seen[key]}")
            else:
                seen[key] = here
    return found


SECURITY_GROUP_TEXT = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")
IAM_TEXT = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{0,1000}")
DESCRIPTIONS = {
    "aws_security_group": SECURITY_GROUP_TEXT,
    "aws_vpc_security_group_ingress_rule": SECURITY_GROUP_TEXT,
    "aws_vpc_security_group_egress_rule": SECURITY_GROUP_TEXT,
    "aws_iam_role": IAM_TEXT,
    "aws_iam_policy": IAM_TEXT,
}


@rule
def descriptions_in_the_allowed_charset(d: Deployment) -> list[str]:
    """Security group (and rule) descriptions use EC2's small ASCII set, IAM descriptions
    Latin-1 at most 1000 long; a typographic dash, arrow or apostrophe fails the create
    (InvalidParameterValue / ValidationError), and the provider does not check.

    Cite: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
    (GroupDescription: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*");
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (Description
    pattern ``[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*``).
    """
    found = []
    for kind, allowed in DESCRIPTIONS.items():
        for stack_name, name, body in each(d, kind):
            description = body.get("description")
            if isinstance(description, str) and not allowed.fullmatch(
                INTERPOLATION.sub("", description)
            ):
                bad = sorted(
                    {c for c in INTERPOLATION.sub("", description) if not allowed.fullmatch(c)}
                )
                found.append(
                    f"{at(stack_name, kind, name)}: description has characters AWS refuses: "
                    f"{''.join(bad)!r}" + (" or is too long" if not bad else "")
                )
    return found


def _depends_on(body: dict[str, Any], kind: str, name: str) -> bool:
    address = f"{kind}.{name}"
    return address in as_list(body.get("depends_on")) or f"${{{address}." in json.dumps(body)


@rule
def replication_waits_for_versioning(d: Deployment) -> list[str]:
    """S3 replication needs versioning enabled on both buckets before the replication
    configuration is put ("InvalidRequest: Versioning must be 'Enabled' on the bucket");
    Terraform only orders them when the configuration depends on both versioning resources.

    Cite: https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html
    ("Both source and destination buckets must have versioning enabled"); provider docs
    aws_s3_bucket_replication_configuration ("depends_on = [aws_s3_bucket_versioning.source]").
    """
    found = []
    for stack_name, name, body in each(d, "aws_s3_bucket_replication_configuration"):
        stack = d.stacks[stack_name]
        buckets = [referenced(stack, body.get("bucket"), "aws_s3_bucket")]
        for replication_rule in as_list(body.get("rule")):
            for destination in as_list(replication_rule.get("destination")):
                buckets.append(referenced(stack, destination.get("bucket"), "aws_s3_bucket"))
        for bucket in filter(None, buckets):
            versioning = [
                (versioning_name, versioning_body)
                for versioning_name, versioning_body in stack.get("resource", {})
                .get("aws_s3_bucket_versioning", {})
                .items()
                if (referenced(stack, versioning_body.get("bucket"), "aws_s3_bucket") or ("",))[0]
                == bucket[0]
            ]
            enabled = [
                v
                for v in versioning
                if (v[1].get("versioning_configuration") or {}).get("status") == "Enabled"
            ]
            where = at(stack_name, "aws_s3_bucket_replication_configuration", name)
            if not enabled:
                found.append(f"{where}: bucket {bucket[0]} has no versioning Enabled")
            elif not any(_depends_on(body, "aws_s3_bucket_versioning", v[0]) for v in enabled):
                found.append(f"{where}: does not wait for the versioning of bucket {bucket[0]}")
    return found


@rule
def node_groups_leave_launch_template_settings_to_it(d: Deployment) -> list[str]:
    """A managed node group with a launch template may not also set disk_size or
    remote_access, nor instance types the template sets (InvalidParameterException).

    Cite: https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html
    ("Customize managed nodes with launch templates": the table of settings "prohibited"
    in the node group configuration when a launch template is used).
    """
    found = []
    for stack_name, name, body in each(d, "aws_eks_node_group"):
        template = body.get("launch_template")
        if not template:
            continue
        where = at(stack_name, "aws_eks_node_group", name)
        for argument in ("disk_size", "remote_access"):
            if body.get(argument):
                found.append(f"{where}: {argument} with a launch template")
        first = as_list(template)[0] if isinstance(template, list) else template
        launch = referenced(d.stacks[stack_name], first.get("id"), "aws_launch_template")
        if launch and launch[1].get("instance_type") and body.get("instance_types"):
            found.append(f"{where}: instance_types here and instance_type in {launch[0]}")
    return found


@rule
def log_group_keys_admit_cloudwatch_logs(d: Deployment) -> list[str]:
    """A log group encrypted with a KMS key needs a key policy letting the regional
    CloudWatch Logs principal use it; CreateLogGroup fails otherwise ("The specified KMS
    key does not exist or is not allowed to be used").

    Cite: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
    ("Principal": {"Service": "logs.<region>.amazonaws.com"}).
    """
    found = []
    for stack_name, name, body in each(d, "aws_cloudwatch_log_group"):
        stack = d.stacks[stack_name]
        key = referenced(stack, body.get("kms_key_id"), "aws_kms_key")
        region = aws_region(stack, body)
        if not key or not region:
            continue
        service = f"logs.{region}.amazonaws.com"
        admitted = any(
            fnmatch.fnmatchcase(service, INTERPOLATION.sub("*", str(principal)))
            for statement in allows(parse_policy(key[1].get("policy")), "kms:GenerateDataKey")
            for principal in as_list((statement.get("Principal") or {}).get("Service"))
        )
        if not admitted:
            found.append(
                f"{at(stack_name, 'aws_cloudwatch_log_group', name)}: key {key[0]} does not "
                f"let {service} use it"
            )
    return found


# --- behaviours the first-deploy fixes rely on ---------------------------------------------


def _role_policies(stack: dict[str, Any], role_name: str) -> list[dict[str, Any]]:
    """The inline policy documents attached to ``aws_iam_role.<role_name>``."""
    role_refs = {f"${{aws_iam_role.{role_name}.{a}}}" for a in ("id", "name")}
    return [
        document
        for body in stack.get("resource", {}).get("aws_iam_role_policy", {}).values()
        if body.get("role") in role_refs
        for document in [parse_policy(body.get("policy"))]
        if document is not None
    ]


@rule
def proxy_iam_auth_reaches_the_database(d: Deployment) -> list[str]:
    """RDS Proxy without an ``auth`` block must use end-to-end IAM authentication
    (``default_auth_scheme = IAM_AUTH``); then the proxy logs in to each target with
    IAM, so the target needs IAM database authentication and the proxy's role needs
    ``rds-db:connect`` on that instance's resource id (``dbuser:<DbiResourceId>/<user>``).

    Cite: Amazon RDS User Guide, "End-to-end IAM authentication for RDS Proxy"
    (rds-proxy-iam-migration: the proxy role's ``rds-db:connect`` on
    ``dbuser:<resource id>/<user>``, IAM authentication enabled on the database);
    terraform-provider-aws website/docs/r/db_proxy.html.markdown (``auth`` optional
    only with ``default_auth_scheme``, PR #44309).
    """
    found = []
    for stack_name, name, proxy in each(d, "aws_db_proxy"):
        stack = d.stacks[stack_name]
        where = at(stack_name, "aws_db_proxy", name)
        if proxy.get("default_auth_scheme") != "IAM_AUTH":
            if not proxy.get("auth"):
                found.append(f"{where}: no auth block and no default_auth_scheme IAM_AUTH")
            continue
        role = referenced(stack, proxy.get("role_arn"), "aws_iam_role")
        resources = [
            str(r)
            for document in (_role_policies(stack, role[0]) if role else [])
            for statement in allows(document, "rds-db:connect")
            for r in as_list(statement.get("Resource"))
        ]
        for target in stack.get("resource", {}).get("aws_db_proxy_target", {}).values():
            if target.get("db_proxy_name") != f"${{aws_db_proxy.{name}.name}}":
                continue
            instance = referenced(stack, target.get("db_instance_identifier"), "aws_db_instance")
            if instance is None:
                continue
            if instance[1].get("iam_database_authentication_enabled") is not True:
                found.append(
                    f"{where}: logs in with IAM to aws_db_instance.{instance[0]}, "
                    "which has no IAM database authentication"
                )
            resource_id = f"${{aws_db_instance.{instance[0]}.resource_id}}/"
            if not any(f":dbuser:{resource_id}" in r for r in resources):
                found.append(
                    f"{where}: its role may not rds-db:connect to aws_db_instance.{instance[0]} "
                    "(dbuser:<its resource id>/<user>)"
                )
    return found


def _floor(constraint: str) -> tuple[int, int] | None:
    match = re.search(r">=\s*(\d+)\.(\d+)", constraint or "")
    return (int(match[1]), int(match[2])) if match else None


@rule
def write_only_arguments_need_terraform_1_11(d: Deployment) -> list[str]:
    """Write-only arguments (``*_wo``) exist from Terraform 1.11 and ephemeral
    resources from 1.10: an older CLI rejects the configuration. A stack that uses
    them must require ``>= 1.11``, and every workflow's Terraform must be one.

    Cite: Terraform documentation, "Use temporary write-only arguments" ("Terraform
    v1.11 and later") and "Ephemeral resources" (v1.10); hashicorp/terraform
    CHANGELOG v1.11.0 ("write-only attributes").
    """
    found = []
    for stack_name, stack in sorted(d.stacks.items()):
        uses = "ephemeral" in stack or any(
            key.endswith("_wo")
            for items in stack.get("resource", {}).values()
            for body in items.values()
            for key in body
        )
        floor = _floor(stack.get("terraform", {}).get("required_version", ""))
        if uses and (floor is None or floor < (1, 11)):
            found.append(
                f"{stack_name}: uses write-only arguments or ephemeral resources but "
                f"required_version allows Terraform {floor} (needs >= 1.11)"
            )
    if any("ephemeral" in s for s in d.stacks.values()):
        for file, workflow in sorted(d.workflows.items()):
            version = str((workflow.get("env") or {}).get("TERRAFORM_VERSION", ""))
            parts = tuple(int(x) for x in version.split(".")[:2] if x.isdigit())
            if parts and parts < (1, 11):
                found.append(f"{file}: TERRAFORM_VERSION {version} predates write-only arguments")
    return found


@rule
def release_records_hold_no_private_keys(d: Deployment) -> list[str]:
    """With Helm's ``configmap`` driver the release record (values and rendered
    manifests) is a ConfigMap, readable with the EKS view policy the plan role has.
    The load balancer controller's chart renders its webhook's ``tls.key`` into a
    Secret template unless ``enableCertManager`` is set.

    Cite: aws/eks-charts stable/aws-load-balancer-controller/templates/webhook.yaml at
    v0.0.242 (chart 3.5.0): ``{{- if not $.Values.enableCertManager }}`` ... ``kind:
    Secret`` ... ``tls.key: {{ $tls.clientKey }}``; Helm documentation, "Storage
    backends" (the configmap driver keeps the release in ConfigMaps).
    """
    found = []
    for stack_name, stack in sorted(d.stacks.items()):
        drivers = {p.get("helm_driver") for p in as_list(stack.get("provider", {}).get("helm"))}
        if "configmap" not in drivers:
            continue
        for name, body in stack.get("resource", {}).get("helm_release", {}).items():
            if body.get("chart") != "aws-load-balancer-controller":
                continue
            if release_values(body).get("enableCertManager") is not True:
                found.append(
                    f"{at(stack_name, 'helm_release', name)}: the webhook's private key is "
                    "rendered into the release record (a ConfigMap): set enableCertManager"
                )
    return found


# --- the tests --------------------------------------------------------------------------------


def load_workflows(directory: Path) -> dict[str, Any]:
    return {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.yml"))
    }


def preflight_access_roles(configs: list[Any]) -> frozenset[str] | None:
    """The role names ``kreo_infra.preflight`` checks (iam:GetRole), recorded by a stand-in
    IAM client; None without a preflight."""
    try:
        from kreo_infra.preflight.checks import check_access_roles
    except ImportError:
        return None
    asked: set[str] = set()

    class RecordingIam:
        def get_role(self, RoleName: str) -> dict[str, Any]:  # boto3's spelling
            asked.add(RoleName)
            return {"Role": {"RoleName": RoleName}}

    for config in configs:
        check_access_roles(RecordingIam(), config)
    return frozenset(asked)


@pytest.fixture(scope="session")
def live(synthesis: Synthesis) -> Deployment:
    """The current synthesis, the committed workflows and the preflight's role list."""
    return Deployment(
        stacks={name: synthesis.stack(name) for name in synthesis.stack_names},
        workflows=load_workflows(PROJECT_ROOT / ".github" / "workflows"),
        access_roles=preflight_access_roles(synthesis.configs),
    )


def pre_fix() -> Deployment:
    """Fragments of the synthesis at commit 3871521 (no preflight existed then)."""
    return Deployment(
        stacks={
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(PRE_FIX_DIR.glob("*.json"))
        },
        workflows=load_workflows(PRE_FIX_DIR / "workflows"),
        access_roles=None,
    )


def _recorded_environment() -> str:
    """The environment whose stacks the fragments were cut from, read from their names
    (recorded data: the pre-fix bites name what the rules reported on that output)."""
    (env,) = {m["env"] for name in pre_fix().stacks if (m := RECORDED_STACK.match(name))}
    return env


RECORDED_STACK = re.compile(r"^kreo-(?P<env>[a-z0-9]+)-(?P<layer>[a-z]+)$")
PRE_FIX_ENV = _recorded_environment()
PRE_FIX_PREFIX = f"kreo-{PRE_FIX_ENV}"


# Derived variants: the current output with one defect put back in, for rules the
# pre-fix output already complied with. Each mutates a copy and fails loudly if the
# output no longer has what it edits.


def _first(d: Deployment, kind: str, where: Callable[[dict[str, Any]], bool] = lambda b: True):
    for stack_name, name, body in each(d, kind):
        if where(body):
            return stack_name, name, body
    raise AssertionError(f"nothing to derive the variant from: no matching {kind}")


def _plaintext_password(d: Deployment) -> None:
    _, _, body = _first(d, "aws_db_instance", lambda b: "password_wo" in b)
    body["password"] = body.pop("password_wo")


def _write_only_from_state(d: Deployment) -> None:
    stack_name, _, body = _first(d, "aws_db_instance", lambda b: "password_wo" in b)
    d.stacks[stack_name].setdefault("resource", {})["random_password"] = {"master": {"length": 40}}
    body["password_wo"] = "${random_password.master.result}"


def _unversioned_write_only(d: Deployment) -> None:
    _, _, body = _first(d, "aws_secretsmanager_secret_version", lambda b: "secret_string_wo" in b)
    body.pop("secret_string_wo_version", None)


def _long_db_identifier(d: Deployment) -> None:
    _, _, body = _first(d, "aws_db_instance", lambda b: literal(b.get("identifier")))
    body["identifier"] += "-with-a-suffix-that-takes-it-past-sixty-three-characters"


def _other_engine_major(d: Deployment) -> None:
    _, _, body = _first(
        d, "aws_db_instance", lambda b: "parameter_group_name" in b and "engine_version" in b
    )
    body["engine_version"] = str(int(str(body["engine_version"]).split(".")[0]) - 1)


def _everything_in_eu_west_1(d: Deployment) -> None:
    _first(d, "aws_cloudfront_distribution")
    for stack in d.stacks.values():
        for config in stack.get("provider", {}).get("aws", []):
            config["region"] = "eu-west-1"
        for kind in ("aws_acm_certificate", "aws_wafv2_web_acl"):
            for body in stack.get("resource", {}).get(kind, {}).values():
                body.pop("region", None)


def _identity_center_admin(d: Deployment) -> None:
    _, _, body = _first(d, "aws_eks_access_entry")
    body["principal_arn"] = (
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
        "AWSReservedSSO_AdministratorAccess_1234567890abcdef"
    )


def _set(
    kind: str, argument: str, value: Any, where=lambda b: True
) -> Callable[[Deployment], None]:
    def mutate(d: Deployment) -> None:
        _first(d, kind, where)[2][argument] = value

    return mutate


def _pin_replica_source_backups_off(d: Deployment) -> None:
    stack_name, _, replica = _first(d, "aws_db_instance", lambda b: "replicate_source_db" in b)
    source = source_of(d.stacks[stack_name], replica)
    assert source is not None, "the replica's source is not in its stack"
    source["backup_retention_period"] = 0


def _pin_multi_az_zone(d: Deployment) -> None:
    _first(d, "aws_db_instance", lambda b: b.get("multi_az") is True)[2]["availability_zone"] = (
        "us-east-1a"
    )


def _no_storage_headroom(d: Deployment) -> None:
    _, _, body = _first(
        d, "aws_db_instance", lambda b: isinstance(b.get("max_allocated_storage"), int)
    )
    body["max_allocated_storage"] = body["allocated_storage"] + 1


def _overlapping_windows(d: Deployment) -> None:
    _, _, body = _first(d, "aws_db_instance", lambda b: "backup_window" in b)
    body["maintenance_window"] = "sun:03:15-sun:03:45"


def _mysql_log_export(d: Deployment) -> None:
    _, _, body = _first(d, "aws_db_instance", lambda b: b.get("engine") == "postgres")
    body["enabled_cloudwatch_logs_exports"] = [
        *as_list(body.get("enabled_cloudwatch_logs_exports")),
        "slowquery",
    ]


def _failover_without_replica(d: Deployment) -> None:
    _, _, body = _first(d, "aws_elasticache_replication_group")
    body.update({"automatic_failover_enabled": True, "num_cache_clusters": 1})


def _uneven_data_nodes(d: Deployment) -> None:
    _, _, body = _first(
        d,
        "aws_opensearch_domain",
        lambda b: (b.get("cluster_config") or {}).get("zone_awareness_enabled"),
    )
    body["cluster_config"]["instance_count"] += 1


def _fgac_over_http(d: Deployment) -> None:
    _, _, body = _first(
        d,
        "aws_opensearch_domain",
        lambda b: (b.get("advanced_security_options") or {}).get("enabled"),
    )
    body["domain_endpoint_options"] = {
        **(body.get("domain_endpoint_options") or {}),
        "enforce_https": False,
    }


def _vpc_without_dns_hostnames(d: Deployment) -> None:
    # A VPC with interface endpoints (the drill network has none).
    stack_name, _, endpoint = _first(
        d, "aws_vpc_endpoint", lambda b: b.get("vpc_endpoint_type") == "Interface"
    )
    referenced(d.stacks[stack_name], endpoint["vpc_id"], "aws_vpc")[1]["enable_dns_hostnames"] = (
        False
    )


def _uncovered_alias(d: Deployment) -> None:
    _, _, body = _first(d, "aws_cloudfront_distribution", lambda b: b.get("aliases"))
    body["aliases"] = [*as_list(body["aliases"]), "shop.example.org"]


def _waf_log_group_renamed(d: Deployment) -> None:
    stack_name, _, logging = _first(d, "aws_wafv2_web_acl_logging_configuration")
    group = referenced(
        d.stacks[stack_name],
        as_list(logging["log_destination_configs"])[0],
        "aws_cloudwatch_log_group",
    )
    assert group is not None, "the WAF logs to something other than a log group of its stack"
    group[1]["name"] = "waf-" + group[1]["name"]


def _log_bucket_acls_off(d: Deployment) -> None:
    for stack in d.stacks.values():
        for control in (
            stack.get("resource", {}).get("aws_s3_bucket_ownership_controls", {}).values()
        ):
            control["rule"] = {"object_ownership": "BucketOwnerEnforced"}
    _first(d, "aws_cloudfront_distribution", lambda b: b.get("logging_config"))


def _duplicate_bucket(d: Deployment) -> None:
    buckets = [body for _, _, body in each(d, "aws_s3_bucket") if literal(body.get("bucket"))]
    assert len(buckets) >= 2, "fewer than two literal bucket names"
    buckets[1]["bucket"] = buckets[0]["bucket"]


def _typographic_description(d: Deployment) -> None:
    _first(d, "aws_security_group", lambda b: literal(b.get("description")))[2]["description"] += (
        " \u2014 it\u2019s ours"
    )


def _replication_without_order(d: Deployment) -> None:
    _first(d, "aws_s3_bucket_replication_configuration")[2].pop("depends_on")


def _node_group_disk_size(d: Deployment) -> None:
    _first(d, "aws_eks_node_group", lambda b: b.get("launch_template"))[2]["disk_size"] = 50


def _key_without_logs(d: Deployment) -> None:
    stack_name, _, group = _first(d, "aws_cloudwatch_log_group", lambda b: "kms_key_id" in b)
    key = referenced(d.stacks[stack_name], group["kms_key_id"], "aws_kms_key")
    assert key is not None, "the log group's key is not in its stack"
    document = parse_policy(key[1]["policy"]) or {}
    document["Statement"] = [
        s for s in as_list(document.get("Statement")) if "logs." not in json.dumps(s)
    ]
    key[1]["policy"] = json.dumps(document)


# Derived twins of the pre-fix bites: the same defect put back into the current output,
# so a rule whose subject moved (a release renamed, a policy restructured) fails here
# instead of passing vacuously.


def _edit_values(d: Deployment, release: str, edit: Callable[[dict[str, Any]], None]) -> None:
    _, _, body = _first(d, "helm_release", lambda b: b.get("name") == release)
    values = release_values(body)
    edit(values)
    body["values"] = [yaml.safe_dump(values)]
    body.pop("set", None)


def _managed_master_password(d: Deployment) -> None:
    stack_name, _, replica = _first(d, "aws_db_instance", lambda b: "replicate_source_db" in b)
    source = source_of(d.stacks[stack_name], replica)
    assert source is not None, "the replica's source is not in its stack"
    source["manage_master_user_password"] = True


def _services_as_master(d: Deployment) -> None:
    master = sorted(_master_usernames(d))[0]

    def edit(values: dict[str, Any]) -> None:
        values.setdefault("config", {})["DATABASE_USER"] = master
        service = sorted(values["services"])[0]
        values["services"][service].pop("database", None)

    _edit_values(d, "kreo-marketplace", edit)


def _connect_as_master(d: Deployment) -> None:
    master = sorted(_master_usernames(d))[0]
    for stack_name, kind, name, document in policies(d):
        if kind == "aws_iam_policy" and "EverythingTheRoleIsGranted" in json.dumps(document):
            continue  # the pipeline's permissions boundary: it grants nothing
        for statement in allows(document, "rds-db:connect"):
            resources = as_list(statement["Resource"])
            statement["Resource"] = [str(resources[0]).rsplit("/", 1)[0] + f"/{master}"]
            of(d, stack_name, kind)[name]["policy"] = json.dumps(document)
            return
    raise AssertionError("nothing to derive the variant from: no rds-db:connect statement")


def _readers_without_decrypt(d: Deployment) -> None:
    for stack_name, kind, name, document in policies(d):
        readers = allows(document, "secretsmanager:GetSecretValue")
        if readers and allows(document, "kms:Decrypt"):
            document["Statement"] = [
                st
                for st in as_list(document["Statement"])
                if st not in allows(document, "kms:Decrypt")
            ]
            if allows(document, "secretsmanager:GetSecretValue"):
                of(d, stack_name, kind)[name]["policy"] = json.dumps(document)
                return
    raise AssertionError("nothing to derive the variant from: no reader that can decrypt")


def _image_from_nowhere(d: Deployment) -> None:
    def edit(values: dict[str, Any]) -> None:
        service = sorted(values["services"])[0]
        values["services"][service]["image"]["repository"] += "-nowhere"

    _edit_values(d, "kreo-marketplace", edit)


def _generated_secret_without_value(d: Deployment) -> None:
    for stack in d.stacks.values():
        stack.get("resource", {}).pop("aws_secretsmanager_secret_version", None)
    _first(d, "helm_release", lambda b: b.get("name") == "kreo-platform")


def _zone_id_filters_again(d: Deployment) -> None:
    _edit_values(d, "external-dns", lambda values: values.update(zoneIdFilters=["Z123"]))


def _one_hour_deploy_role(d: Deployment) -> None:
    _, _, body = _first(
        d, "aws_iam_role", lambda b: str(b.get("name")).startswith(SESSION_NEEDS[0][0])
    )
    body["max_session_duration"] = DEFAULT_SESSION


def _minor_pinned(d: Deployment) -> None:
    _, _, body = _first(
        d,
        "aws_db_instance",
        lambda b: b.get("auto_minor_version_upgrade") and "engine_version" in b,
    )
    body["engine_version"] = f"{body['engine_version']}.6"


def _backend_without_key(d: Deployment) -> None:
    backends = [
        stack["terraform"]["backend"]["s3"]
        for stack in d.stacks.values()
        if "s3" in (stack.get("terraform", {}).get("backend") or {})
    ]
    assert backends, "nothing to derive the variant from: no S3 backend"
    backends[0].pop("kms_key_id", None)


def _unknown_access_role(d: Deployment) -> None:
    _, _, body = _first(d, "aws_eks_access_entry")
    body["principal_arn"] = "arn:aws:iam::111122223333:role/kreo-nobody"


def _proxy_to_a_database_without_iam(d: Deployment) -> None:
    stack_name, _, target = _first(d, "aws_db_proxy_target")
    instance = referenced(d.stacks[stack_name], target["db_instance_identifier"], "aws_db_instance")
    assert instance is not None
    instance[1]["iam_database_authentication_enabled"] = False


def _proxy_role_without_connect(d: Deployment) -> None:
    stack_name, _, proxy = _first(d, "aws_db_proxy", lambda b: "role_arn" in b)
    role = referenced(d.stacks[stack_name], proxy["role_arn"], "aws_iam_role")
    assert role is not None
    for body in d.stacks[stack_name]["resource"]["aws_iam_role_policy"].values():
        if body.get("role") in {
            f"${{aws_iam_role.{role[0]}.id}}",
            f"${{aws_iam_role.{role[0]}.name}}",
        }:
            body["policy"] = body["policy"].replace("rds-db:connect", "rds:DescribeDBInstances")


def _proxy_without_auth(d: Deployment) -> None:
    _, _, proxy = _first(d, "aws_db_proxy")
    proxy.pop("default_auth_scheme", None)
    proxy.pop("auth", None)


def _terraform_1_10(d: Deployment) -> None:
    for stack in d.stacks.values():
        stack.setdefault("terraform", {})["required_version"] = ">= 1.10, < 2.0"


def _workflow_terraform_1_10(d: Deployment) -> None:
    for workflow in d.workflows.values():
        if "TERRAFORM_VERSION" in (workflow.get("env") or {}):
            workflow["env"]["TERRAFORM_VERSION"] = "1.10.5"


def _webhook_key_in_the_record(d: Deployment) -> None:
    _edit_values(
        d, "aws-load-balancer-controller", lambda values: values.pop("enableCertManager", None)
    )


BITES: dict[str, list[Bite]] = {
    "read_replica_of_managed_password_primary": [
        Bite(f"aws_db_instance.postgres_replica-0_26B79F0D: replicates {PRE_FIX_PREFIX}-postgres"),
        Bite("whose master password RDS manages", _managed_master_password),
    ],
    "no_plaintext_passwords": [
        Bite(": password puts a secret in plan and state", _plaintext_password),
        Bite("secret_string_wo without secret_string_wo_version", _unversioned_write_only),
        Bite("password_wo comes from random_password, whose state", _write_only_from_state),
    ],
    "services_do_not_use_the_master_user": [
        Bite("config.DATABASE_USER is the master user kreo_admin"),
        Bite("services.api-gateway has no database.user"),
        Bite("identities_api-gateway_policy_2554DAE3: rds-db:connect as 'kreo_admin'"),
        Bite("config.DATABASE_USER is the master user", _services_as_master),
        Bite("has no database.user", _services_as_master),
        Bite("(the master user)", _connect_as_master),
    ],
    "secret_readers_can_decrypt": [
        Bite(f"{PRE_FIX_PREFIX}-cluster: aws_iam_role_policy.external-secrets_policy_A9DA2AA0"),
        Bite("but not kms:Decrypt", _readers_without_decrypt),
    ],
    "images_exist_before_environments": [
        Bite(f"services.api-gateway pulls from a repository of {PRE_FIX_PREFIX}-cluster"),
        Bite("aws_ecr_repository.registry_api-gateway_280C4F27: kreo/api-gateway is created"),
        Bite("-nowhere, which no bootstrap creates", _image_from_nowhere),
    ],
    "generated_secrets_have_values": [
        Bite(
            f"reads kreo/{PRE_FIX_ENV}/grafana/admin, and {PRE_FIX_PREFIX}-data gives it no value"
        ),
        Bite("gives it no value", _generated_secret_without_value),
    ],
    "chart_values_exist_in_pinned_chart": [
        Bite("zoneIdFilters is not a value of external-dns-1.21.1"),
        Bite("zoneIdFilters is not a value of external-dns-", _zone_id_filters_again),
    ],
    "deploy_sessions_outlast_a_first_deploy": [
        Bite(f"kreo-deploy-{PRE_FIX_ENV} allows 3600 s sessions, its jobs need 14400"),
        Bite("kreo-plan allows 3600 s sessions, its jobs need 7200"),
        Bite(
            f"infra-deploy.yml: jobs.{PRE_FIX_ENV}: a 3600 s session of kreo-deploy-{PRE_FIX_ENV}"
        ),
        Bite("allows 3600 s sessions, its jobs need 14400", _one_hour_deploy_role),
        Bite(", which allows 3600", _one_hour_deploy_role),
    ],
    "auto_minor_upgrades_pin_the_major_only": [
        Bite("postgres_primary_11FB0C6D: engine_version '17.6' pins a minor"),
        Bite("pins a minor", _minor_pinned),
    ],
    "state_encrypted_with_the_state_key": [
        Bite(f"{PRE_FIX_PREFIX}-data: terraform.backend.s3: encrypt without kms_key_id"),
        Bite("encrypt without kms_key_id", _backend_without_key),
    ],
    "names_within_aws_limits": [Bite("identifier", _long_db_identifier)],
    "parameter_group_family_matches_engine": [Bite("(needs postgres", _other_engine_major)],
    "cloudfront_certificates_and_web_acls_in_us_east_1": [
        Bite("is created in eu-west-1, not us-east-1", _everything_in_eu_west_1),
        Bite("scope CLOUDFRONT in eu-west-1", _everything_in_eu_west_1),
    ],
    "access_roles_are_plain_iam_roles": [
        Bite("role kreo-platform-admin is created by no stack and checked by no preflight"),
        Bite("role kreo-nobody is created by no stack", _unknown_access_role),
        Bite(
            "AWSReservedSSO_AdministratorAccess_1234567890abcdef is an IAM Identity Center role",
            _identity_center_admin,
        ),
    ],
    "performance_insights_retention_is_valid": [
        Bite(
            "performance_insights_retention_period 30",
            _set("aws_db_instance", "performance_insights_retention_period", 30),
        ),
    ],
    "replica_sources_keep_backups": [
        Bite("keeps no automated backups", _pin_replica_source_backups_off)
    ],
    "multi_az_instances_leave_the_zone_to_rds": [
        Bite("multi_az with availability_zone", _pin_multi_az_zone)
    ],
    "storage_autoscaling_has_headroom": [Bite("less than 10 % above", _no_storage_headroom)],
    "backup_and_maintenance_windows_do_not_overlap": [
        Bite("overlaps maintenance_window", _overlapping_windows)
    ],
    "postgres_log_exports_are_postgres_logs": [Bite("exports 'slowquery'", _mysql_log_export)],
    "elasticache_access_control_needs_transit_encryption": [
        Bite(
            "without transit_encryption_enabled",
            _set("aws_elasticache_replication_group", "transit_encryption_enabled", False),
        ),
    ],
    "elasticache_failover_needs_a_replica": [
        Bite("automatic failover without a replica", _failover_without_replica)
    ],
    "opensearch_data_nodes_fill_every_zone": [Bite("4 data nodes in 3 zones", _uneven_data_nodes)],
    "opensearch_fine_grained_access_needs_encryption": [
        Bite("without enforce_https", _fgac_over_http)
    ],
    "interface_endpoints_private_dns_needs_vpc_dns": [
        Bite("without DNS support and hostnames", _vpc_without_dns_hostnames),
    ],
    "cloudfront_aliases_covered_by_the_certificate": [
        Bite("alias shop.example.org is not covered", _uncovered_alias),
    ],
    "waf_logs_go_to_aws_waf_logs_destinations": [
        Bite("logs to waf-aws-waf-logs-", _waf_log_group_renamed)
    ],
    "cloudfront_log_buckets_accept_acls": [Bite("whose ACLs are disabled", _log_bucket_acls_off)],
    "names_unique_in_the_account": [Bite("is also used by", _duplicate_bucket)],
    "descriptions_in_the_allowed_charset": [
        Bite("characters AWS refuses", _typographic_description)
    ],
    "replication_waits_for_versioning": [
        Bite("does not wait for the versioning", _replication_without_order)
    ],
    "node_groups_leave_launch_template_settings_to_it": [
        Bite("disk_size with a launch template", _node_group_disk_size),
    ],
    "log_group_keys_admit_cloudwatch_logs": [Bite("does not let logs.", _key_without_logs)],
    "proxy_iam_auth_reaches_the_database": [
        Bite("which has no IAM database authentication", _proxy_to_a_database_without_iam),
        Bite("its role may not rds-db:connect", _proxy_role_without_connect),
        Bite("no auth block and no default_auth_scheme IAM_AUTH", _proxy_without_auth),
    ],
    "write_only_arguments_need_terraform_1_11": [
        Bite("required_version allows Terraform (1, 10)", _terraform_1_10),
        Bite("TERRAFORM_VERSION 1.10.5 predates write-only arguments", _workflow_terraform_1_10),
    ],
    "release_records_hold_no_private_keys": [
        Bite("rendered into the release record", _webhook_key_in_the_record),
    ],
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_holds(live: Deployment, name: str) -> None:
    """No violation of the rule in the current synthesis."""
    assert RULES[name](live) == []


@pytest.mark.parametrize(**bite_cases(BITES, derived=False))
def test_rule_bites_pre_fix(name: str, bite: Bite) -> None:
    """The rule reports the defect the pre-fix output (commit 3871521) had."""
    violations = RULES[name](pre_fix())
    assert any(bite.expect in v for v in violations), violations


@pytest.mark.parametrize(**bite_cases(BITES, derived=True))
def test_rule_bites_derived(live: Deployment, name: str, bite: Bite) -> None:
    """The rule reports the defect put back into a copy of the current output."""
    assert bite.derive is not None
    variant = live.copy()
    bite.derive(variant)
    violations = RULES[name](variant)
    assert any(bite.expect in v for v in violations), violations


def test_every_rule_bites_and_cites() -> None:
    """Every rule has a bite and a citation; every bite belongs to a rule."""
    assert CATALOGUE.uncovered(BITES, derived=False) == []


def test_pre_fix_fragments_come_from_the_recorded_commit() -> None:
    """Each fragment says where it comes from (tests/apply_rules/extract.py --pre-fix)."""
    stacks = pre_fix().stacks
    assert stacks
    assert all("at 3871521" in stack["//"] for stack in stacks.values())
    # They hold what extract.PRE_FIX lists, and nothing else.
    assert {
        name: {kind: sorted(resources) for kind, resources in stack["resource"].items()}
        for name, stack in stacks.items()
    } == {
        name: {kind: sorted(resources) for kind, resources in kinds.items()}
        for name, kinds in PRE_FIX.items()
    }
