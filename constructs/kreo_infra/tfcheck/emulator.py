"""Tier 3: apply the stacks against a local AWS emulator (moto, server mode).

``python -m kreo_infra.tfcheck emulate`` (``make emulate``) starts moto's server on
127.0.0.1 (a free port), applies ``kreo-<env>-bootstrap`` and then each AWS stack of one
environment (production by default) in deployment order, each with its S3 backend
in the state bucket the bootstrap stack created in the emulator, plans each stack
again (which must show no change), and finally destroys everything in reverse
order and stops the emulator, whatever happened.

Everything runs on a *copy* of each synthesized stack, configured for the emulator
(nothing the project deploys is edited):

* the AWS provider blocks get ``endpoints`` for every service the stacks use
  (:data:`SERVICES`), fake keys, and the ``skip_*`` flags that keep it from
  looking for a real account; the S3 backend gets the same through
  ``terraform init -backend-config=<file>``, and so do the
  ``terraform_remote_state`` reads;
* the compatibility transform of :mod:`.compat` where the plugin is 5.x;
* the resources of :data:`EMULATOR_GAPS` (APIs moto lacks or gets wrong) are
  removed, with everything that depends on them, transitively and across stacks
  (an output that is removed disappears from the reads of the stacks after it);
  every removed address is reported with the gap that caused it; a ``<type>.<argument>``
  gap only ignores changes to that argument (``lifecycle.ignore_changes``);
* :data:`WAIT_TIMEOUTS`: a ``timeouts`` value that cuts a fixed provider wait the
  emulator does not need (the OpenSearch domain's 10 minutes), where the provider
  still succeeds.

An apply that fails is run once more: errors the second apply does not repeat are
reported as warnings (an ordering problem of the stack), the others fail the stack.
Destroy is best effort: a refusal by the stack's own protection is reported as kept
(intended), any other destroy error as a warning; neither fails the run, and moto
is stopped at the end anyway.

For iterating on a few stacks without starting over::

    python -m kreo_infra.tfcheck.emulator --serve &          # prints the endpoint
    python -m kreo_infra.tfcheck.emulator --endpoint URL --no-destroy \
        --stacks kreo-production-data,kreo-production-backup

Terraform runs with an unreachable loopback proxy for anything but 127.0.0.1, so
an endpoint not pointed at the emulator fails instead of reaching AWS.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kreo_infra.tfcheck.compat import CompatReport, to_provider_5
from kreo_infra.tfcheck.plan import deployment_order
from kreo_infra.tfcheck.runner import STACK_FILE, plugins_for
from kreo_infra.tfcheck.toolchain import Toolchain

STATE_BUCKET_GAP = ":state-bucket"
"""Suffix of an :data:`EMULATOR_GAPS` key limiting it to the Terraform state bucket."""
READ_REPLICA_GAP = ":read-replica"
"""Suffix of an :data:`EMULATOR_GAPS` key limiting it to read replicas (``replicate_source_db``)."""
CLUSTER_GROUP_GAP = ":on-cluster-security-group"
"""Suffix of an :data:`EMULATOR_GAPS` key limiting it to rules of the EKS-made cluster
security group (``security_group_id`` = ``vpc_config[0].cluster_security_group_id``)."""

EMULATOR_GAPS: dict[str, str] = {
    # Keys: a resource type, ``data.<type>`` for a data source, ``<type>:state-bucket``
    # for the resources of that type on the state bucket only, ``<type>:read-replica``
    # for those with ``replicate_source_db``, ``<type>:on-cluster-security-group`` for
    # rules of the EKS cluster security group; ``<type>.<argument>``: see below.
    # Every reason is checked against moto 5.2.5's source (moto/<service>/urls.py,
    # responses.py).
    "aws_cloudfront_response_headers_policy": (
        "moto has no CloudFront response headers policy API (CreateResponseHeadersPolicy: "
        "no route in moto/cloudfront/urls.py)"
    ),
    "data.aws_cloudfront_cache_policy": (
        "moto has no CloudFront cache policy API (ListCachePolicies/GetCachePolicy: no "
        "route in moto/cloudfront/urls.py)"
    ),
    "aws_codebuild_webhook": (
        "moto has no CodeBuild CreateWebhook (not in moto/codebuild/responses.py)"
    ),
    "aws_ecr_repository_creation_template": (
        "moto has no ECR CreateRepositoryCreationTemplate (not in moto/ecr/responses.py; "
        "the server answers 500 with an HTML body)"
    ),
    "aws_eks_access_entry": (
        "moto has no EKS access entry API (CreateAccessEntry: no route in moto/eks/urls.py)"
    ),
    "aws_eks_access_policy_association": (
        "moto has no EKS access policy API (AssociateAccessPolicy: no route in moto/eks/urls.py)"
    ),
    "aws_eks_addon": "moto has no EKS add-on API (CreateAddon: no route in moto/eks/urls.py)",
    "aws_eks_pod_identity_association": (
        "moto has no EKS Pod Identity API (CreatePodIdentityAssociation: no route in "
        "moto/eks/urls.py)"
    ),
    # ``<type>.<argument>``: moto neither stores nor returns the argument, so the
    # plan after apply would replace or update the resource forever; the copy
    # ignores changes to that argument (``lifecycle.ignore_changes``), nothing is removed.
    "aws_eks_cluster.access_config": (
        "moto's EKS CreateCluster ignores accessConfig and DescribeCluster does not return "
        "it (moto/eks/responses.py create_cluster, moto/eks/models.py Cluster): "
        "bootstrap_cluster_creator_admin_permissions would force a replacement"
    ),
    "aws_eks_cluster.upgrade_policy": (
        "moto's EKS CreateCluster ignores upgradePolicy and DescribeCluster does not return "
        "it (moto/eks/responses.py create_cluster, moto/eks/models.py Cluster)"
    ),
    "aws_eks_cluster.zonal_shift_config": (
        "moto's EKS CreateCluster ignores zonalShiftConfig and DescribeCluster does not "
        "return it (moto/eks/responses.py create_cluster, moto/eks/models.py Cluster): the "
        "second plan would show it as an update"
    ),
    "aws_elasticache_user_group": (
        "moto has no ElastiCache CreateUserGroup (not in moto/elasticache/responses.py; "
        "the server answers NotImplementedError)"
    ),
    "aws_backup_logically_air_gapped_vault": (
        "moto has no AWS Backup logically air-gapped vault API "
        "(CreateLogicallyAirGappedBackupVault, PUT /logically-air-gapped-backup-vaults/<name>: "
        "no route in moto/backup/urls.py)"
    ),
    "aws_backup_vault_policy": (
        "moto has no AWS Backup vault access policy API (PutBackupVaultAccessPolicy, "
        "PUT /backup-vaults/<name>/access-policy: no route in moto/backup/urls.py)"
    ),
    "aws_accessanalyzer_analyzer": (
        "moto has no IAM Access Analyzer (no moto/accessanalyzer package, no entry in "
        "moto/backend_index.py)"
    ),
    "aws_guardduty_detector_feature": (
        "moto's UpdateDetector replaces the detector's whole feature list with the request's "
        "(moto/guardduty/models.py Detector.update: self.features = features); the provider "
        "sends one feature per resource, so only the last applied survives a refresh and the "
        "plan after apply would create the others again"
    ),
    "aws_backup_selection": (
        "moto has no AWS Backup CreateBackupSelection (not in moto/backup/responses.py; "
        "the server answers NotImplementedError)"
    ),
    "aws_db_instance_automated_backups_replication": (
        "moto has no RDS StartDBInstanceAutomatedBackupsReplication (not in "
        "moto/rds/responses.py; the server answers NotImplementedError)"
    ),
    "aws_db_instance" + READ_REPLICA_GAP: (
        "moto gives every DB instance the same DbiResourceId (moto/rds/models.py "
        "DBInstance: dbi_resource_id = 'db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U'); the provider finds "
        "an instance by its dbi-resource-id, so a second instance (the read replica) "
        "matches twice and is 'not found'"
    ),
    "aws_vpc_security_group_ingress_rule" + CLUSTER_GROUP_GAP: (
        "moto's EKS never creates the cluster security group: DescribeCluster returns "
        "resourcesVpcConfig as sent, without clusterSecurityGroupId (moto/eks/models.py "
        "Cluster.resources_vpc_config), so a rule on that group (the runners' 443 to the "
        "API) names group '' and AuthorizeSecurityGroupIngress fails InvalidGroup.NotFound"
    ),
    "aws_launch_template.vpc_security_group_ids": (
        "moto's EKS never creates the cluster security group: DescribeCluster returns "
        "resourcesVpcConfig as sent, without clusterSecurityGroupId (moto/eks/models.py "
        "Cluster.resources_vpc_config), so the node launch template's reference to "
        "vpc_config[0].cluster_security_group_id is null and the list never converges"
    ),
    **{
        f"aws_db_instance.{argument}": (
            "moto's RDS has no Performance Insights: CreateDBInstance ignores "
            "EnablePerformanceInsights/PerformanceInsightsKMSKeyId/"
            "PerformanceInsightsRetentionPeriod and DescribeDBInstances never returns them "
            "(no 'performance' anywhere in moto/rds/models.py or responses.py), so they read "
            "back off and the plan would update the instance forever"
        )
        for argument in (
            "performance_insights_enabled",
            "performance_insights_kms_key_id",
            "performance_insights_retention_period",
        )
    },
    "aws_secretsmanager_secret.replica": (
        "moto's Secrets Manager ignores a replica's KmsKeyId: ReplicaSecret.config always "
        "reports KmsKeyId 'alias/aws/secretsmanager' (moto/secretsmanager/models.py "
        "ReplicaSecret.__init__, SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS), so a replica "
        "with a customer key never matches and the plan would update it forever"
    ),
    "aws_launch_template.tag_specifications": (
        "moto's CreateLaunchTemplate copies the request's own TagSpecifications (the "
        "template's tags, ResourceType launch-template) into LaunchTemplateData."
        "TagSpecifications (moto/ec2/responses/launch_templates.py create_launch_template), "
        "so DescribeLaunchTemplateVersions returns an extra launch-template block the "
        "config does not have and the plan would update the template forever"
    ),
    "aws_db_parameter_group.parameter": (
        "moto's DescribeDBParameters returns the parameters as ModifyDBParameterGroup "
        "received them, without a Source field (moto/rds/models.py "
        "DBParameterGroup.update_parameters, moto/rds/responses.py describe_db_parameters); "
        "the provider's read (internal/service/rds/parameter_group.go) skips every "
        "parameter whose Source is nil, so none reads back and the plan would add them "
        "forever"
    ),
    **{
        f"aws_vpc_security_group_{direction}_rule.description": (
            "moto's SecurityGroupRule.description reads only ip_range['Description'] "
            "(moto/ec2/models/security_groups.py), so a rule referencing a security group "
            "(its description is kept with the group pair) reads back without description "
            "and the plan would update it forever"
        )
        for direction in ("ingress", "egress")
    },
    **{
        f"aws_backup_{kind}.tags_all": (
            "moto's AWS Backup ListTags takes the resource ARN from the path's second-to-last "
            "segment (moto/backup/responses.py list_tags: self.path.split('/')[-2]), but the "
            "provider requests GET /tags/<arn> without a trailing slash, so moto looks up "
            "'tags' and returns no tags: tags_all would be updated forever"
        )
        for kind in ("vault", "plan")
    },
    "aws_s3_bucket_policy" + STATE_BUCKET_GAP: (
        "moto evaluates a bucket policy on every object request and returns DENIED for any "
        "statement whose Condition does not match, whatever its Effect "
        "(moto/iam/access_control.py IAMPolicyStatement.is_action_permitted; no request "
        "context, so aws:SecureTransport never matches), unconditionally in "
        "moto/s3/responses.py _key_response (not behind INITIAL_NO_AUTH_ACTION_COUNT or any "
        "setting): the TLS-only Deny locks Terraform out of its own state"
    ),
}
"""What moto lacks or gets wrong, and the resources that are therefore not applied."""

SERVICES: tuple[str, ...] = (
    "accessanalyzer",
    "acm",
    "backup",
    "cloudfront",
    "cloudtrail",
    "cloudwatch",
    "codebuild",
    "ec2",
    "ecr",
    "eks",
    "elasticache",
    "elbv2",
    "events",
    "guardduty",
    "iam",
    "kms",
    "logs",
    "opensearch",
    "rds",
    "resourcegroups",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
    "wafv2",
)
"""AWS provider ``endpoints`` pointed at the emulator: every service the stacks use."""

_SERVICE_PREFIXES: tuple[tuple[str, str | None], ...] = (
    ("accessanalyzer_", "accessanalyzer"),
    ("acm_", "acm"),
    ("backup_", "backup"),
    ("cloudfront_", "cloudfront"),
    ("cloudtrail", "cloudtrail"),
    ("cloudwatch_event_", "events"),
    ("cloudwatch_log_", "logs"),
    ("cloudwatch_", "cloudwatch"),
    ("codebuild_", "codebuild"),
    ("db_", "rds"),
    ("ecr_", "ecr"),
    ("eks_", "eks"),
    ("elasticache_", "elasticache"),
    ("guardduty_", "guardduty"),
    ("lb", "elbv2"),
    ("iam_", "iam"),
    ("kms_", "kms"),
    ("opensearch_", "opensearch"),
    ("resourcegroups_", "resourcegroups"),
    ("route53_", "route53"),
    ("s3_", "s3"),
    ("secretsmanager_", "secretsmanager"),
    ("sns_", "sns"),
    ("wafv2_", "wafv2"),
    ("caller_identity", "sts"),
    ("partition", None),
    ("region", None),
    ("availability_zone", "ec2"),
    ("default_security_group", "ec2"),
    ("eip", "ec2"),
    ("flow_log", "ec2"),
    ("internet_gateway", "ec2"),
    ("launch_template", "ec2"),
    ("nat_gateway", "ec2"),
    ("route", "ec2"),
    ("security_group", "ec2"),
    ("subnet", "ec2"),
    ("vpc", "ec2"),
)


def service_of(resource_type: str) -> str | None:
    """The provider endpoint a resource or data type talks to (``None``: no API call);
    ``"unknown"`` for a type not listed here (a test requires every type be listed)."""
    rest = resource_type.removeprefix("aws_")
    for prefix, service in _SERVICE_PREFIXES:
        if rest.startswith(prefix):
            return service
    return "unknown"


MOTO_ENV: dict[str, str] = {
    # ACM issues DNS-validated certificates at once instead of after 60 s
    # (moto/settings.py ACM_VALIDATION_WAIT); the stacks wait for validation.
    "MOTO_ACM_VALIDATION_WAIT": "0",
    # AWS-managed IAM policies exist, as in a real account (the stacks attach
    # AmazonEKSClusterPolicy and others).
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}
"""moto's own configuration (its environment), each an AWS behaviour it then has."""

WAIT_TIMEOUTS: dict[str, dict[str, str]] = {
    # The AWS provider 5.100 waits an unconditional 10 minutes after CreateDomain before
    # its first DescribeDomain (internal/service/opensearch/wait.go waitForDomainCreation:
    # tfresource.Retry(..., WithDelay(10*time.Minute), WithPollInterval(10*time.Second)));
    # moto answers Processing=false with Endpoints.vpc at once (moto/opensearch/models.py
    # OpenSearchDomain), and the provider's retry still polls once when its timeout ends,
    # so a 15 s create timeout makes it succeed after 15 s instead of 600 s. DeleteDomain
    # likewise: the provider waits 10 minutes before its first check, moto removes the
    # domain at once (moto/opensearch/models.py delete_domain pops it); 15 s succeeds.
    "aws_opensearch_domain": {"create": "15s", "delete": "15s"},
}
"""``timeouts`` the copy sets (resource type → operation → duration): only to cut a fixed
wait of the provider that the emulator does not need; the provider still succeeds."""

FAKE_ACCESS_KEY = "AKIAKREOEMULATOR0000"
FAKE_SECRET_KEY = "kreo-emulator-not-a-secret"  # noqa: S105
DEAD_PROXY = "http://127.0.0.1:9"
"""Anything Terraform sends to a host other than 127.0.0.1 goes here and is refused."""

STEP_TIMEOUT = 900
"""Seconds one Terraform command may take before it is stopped."""

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ADDRESS = re.compile(
    r"(?<![\w.-])(data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.[A-Za-z0-9_-]+"
    r"|data\.[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+|[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)"
)


# --- the gap walk -----------------------------------------------------------------


def addresses(stack: Mapping[str, Any]) -> dict[str, Any]:
    """Every block of a stack by address: ``type.name``, ``data.type.name``, ``output.name``."""
    found: dict[str, Any] = {}
    for rtype, items in stack.get("resource", {}).items():
        for name, body in items.items():
            found[f"{rtype}.{name}"] = body
    for dtype, items in stack.get("data", {}).items():
        for name, body in items.items():
            found[f"data.{dtype}.{name}"] = body
    for name, body in stack.get("output", {}).items():
        found[f"output.{name}"] = body
    return found


def references(body: Any) -> set[str]:
    """Addresses a block refers to (``${...}`` expressions and ``depends_on``); a
    remote-state read is named down to its output, ``data.terraform_remote_state.X.outputs.Y``."""
    found: set[str] = set()

    def walk(value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "//":
                    walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if key == "depends_on" and "${" not in value:
                found.add(value)
            for expression in _REFERENCE.findall(value):
                found.update(_ADDRESS.findall(expression))

    walk(body)
    return found


def _state_bucket_resources(stack: Mapping[str, Any], rtype: str, bucket: str) -> set[str]:
    """Addresses of ``rtype`` resources whose ``bucket`` is the state bucket (by name or
    through a reference to the ``aws_s3_bucket`` that creates it)."""
    buckets = {
        f"aws_s3_bucket.{name}"
        for name, body in stack.get("resource", {}).get("aws_s3_bucket", {}).items()
        if body.get("bucket") == bucket
    }
    found = set()
    for name, body in stack.get("resource", {}).get(rtype, {}).items():
        value = body.get("bucket", "")
        if value == bucket or references({"bucket": value}) & buckets:
            found.add(f"{rtype}.{name}")
    return found


def shorten_waits(
    stack: dict[str, Any], waits: Mapping[str, Mapping[str, str]] = WAIT_TIMEOUTS
) -> dict[str, str]:
    """Set, in place, the ``timeouts`` of :data:`WAIT_TIMEOUTS`; ``address.operation`` →
    duration."""
    done: dict[str, str] = {}
    for rtype, operations in waits.items():
        for name, body in stack.get("resource", {}).get(rtype, {}).items():
            timeouts = body.setdefault("timeouts", {})
            for operation, duration in operations.items():
                timeouts[operation] = duration
                done[f"{rtype}.{name}.{operation}"] = duration
    return done


def _is_argument_gap(key: str) -> bool:
    return not key.startswith("data.") and "." in key


def ignore_gap_arguments(
    stack: dict[str, Any], gaps: Mapping[str, str] = EMULATOR_GAPS
) -> dict[str, str]:
    """Add, in place, ``lifecycle.ignore_changes`` for the ``<type>.<argument>`` gaps;
    ``address.argument`` → gap key."""
    ignored: dict[str, str] = {}
    for key in gaps:
        if not _is_argument_gap(key):
            continue
        rtype, _, argument = key.partition(".")
        for name, body in stack.get("resource", {}).get(rtype, {}).items():
            lifecycle = body.setdefault("lifecycle", {})
            changes = lifecycle.setdefault("ignore_changes", [])
            if changes != "all" and argument not in changes:
                changes.append(argument)
            ignored[f"{rtype}.{name}.{argument}"] = key
    return ignored


def gap_seeds(
    stack: Mapping[str, Any], gaps: Mapping[str, str], state_bucket: str | None
) -> dict[str, str]:
    """Address → gap key of the blocks a gap removes directly."""
    seeds: dict[str, str] = {}
    for key in gaps:
        if _is_argument_gap(key):
            continue
        if key.endswith(CLUSTER_GROUP_GAP):
            rtype = key.removesuffix(CLUSTER_GROUP_GAP)
            for name, body in stack.get("resource", {}).get(rtype, {}).items():
                if ".cluster_security_group_id}" in str(body.get("security_group_id", "")):
                    seeds[f"{rtype}.{name}"] = key
            continue
        if key.endswith(READ_REPLICA_GAP):
            rtype = key.removesuffix(READ_REPLICA_GAP)
            for name, body in stack.get("resource", {}).get(rtype, {}).items():
                if body.get("replicate_source_db"):
                    seeds[f"{rtype}.{name}"] = key
            continue
        if key.endswith(STATE_BUCKET_GAP):
            rtype = key.removesuffix(STATE_BUCKET_GAP)
            if state_bucket:
                for address in _state_bucket_resources(stack, rtype, state_bucket):
                    seeds[address] = key
            continue
        section, rtype = ("data", key[5:]) if key.startswith("data.") else ("resource", key)
        prefix = "data." if section == "data" else ""
        for name in stack.get(section, {}).get(rtype, {}):
            seeds[f"{prefix}{rtype}.{name}"] = key
    return seeds


@dataclass
class Removal:
    """What the gaps removed from one stack's copy."""

    removed: dict[str, str] = field(default_factory=dict)
    """Address → the gap that caused it (directly, or through a dependency)."""
    ignored: dict[str, str] = field(default_factory=dict)
    """``address.argument`` whose changes the copy ignores → the gap."""
    shortened: dict[str, str] = field(default_factory=dict)
    """``address.operation`` whose provider wait the copy shortens → the timeout."""

    @property
    def outputs(self) -> dict[str, str]:
        """Removed output → its gap."""
        return {
            a.removeprefix("output."): gap
            for a, gap in self.removed.items()
            if a.startswith("output.")
        }


def remove_gaps(
    stack: dict[str, Any],
    gaps: Mapping[str, str] = EMULATOR_GAPS,
    *,
    state_bucket: str | None = None,
    removed_outputs: Mapping[str, Mapping[str, str]] | None = None,
) -> Removal:
    """Remove, in place, the blocks of ``gaps`` and everything depending on them.

    ``removed_outputs`` maps a state key to the outputs removed from the stack that
    writes it: the reads of those outputs here count as removed too (their gap is
    named ``<gap> via <state key>``).
    """
    blocks = addresses(stack)
    refs = {address: references(body) for address, body in blocks.items()}
    removed = gap_seeds(stack, gaps, state_bucket)
    for name, body in stack.get("data", {}).get("terraform_remote_state", {}).items():
        key = body.get("config", {}).get("key", "")
        for output, gap in (removed_outputs or {}).get(key, {}).items():
            removed[f"data.terraform_remote_state.{name}.outputs.{output}"] = f"{gap} via {key}"
    changed = True
    while changed:
        changed = False
        for address, used in refs.items():
            if address in removed:
                continue
            cause = next((removed[u] for u in sorted(used) if u in removed), None)
            if cause is not None:
                removed[address] = cause
                changed = True
    for address in removed:
        if address not in blocks:
            continue
        parts = address.split(".")
        if parts[0] == "output":
            stack["output"].pop(parts[1])
        elif parts[0] == "data":
            stack["data"][parts[1]].pop(parts[2])
        else:
            stack["resource"][parts[0]].pop(parts[1])
    for section in ("resource", "data", "output"):
        if section in stack:
            if section != "output":
                stack[section] = {k: v for k, v in stack[section].items() if v}
            if not stack[section]:
                del stack[section]
    return Removal({a: c for a, c in removed.items() if a in blocks})


# --- the emulator configuration of a copy -----------------------------------------


def provider_settings(endpoint: str) -> dict[str, Any]:
    """What every AWS provider block of a copy gets: the emulator, and nothing else."""
    return {
        "endpoints": [{service: endpoint for service in SERVICES}],
        "access_key": FAKE_ACCESS_KEY,
        "secret_key": FAKE_SECRET_KEY,
        "skip_credentials_validation": True,
        # The provider asks the emulator's STS for the account (moto's 123456789012):
        # without it, every security group rule referencing a group reads back as
        # cross-account ("123456789012/sg-...") and never converges.
        "skip_requesting_account_id": False,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "s3_use_path_style": True,
        "max_retries": 2,
    }


def backend_settings(endpoint: str) -> dict[str, Any]:
    """The S3 backend (and remote-state) settings that point it at the emulator."""
    return {
        "endpoints": {"s3": endpoint, "sts": endpoint, "iam": endpoint},
        "use_path_style": True,
        "access_key": FAKE_ACCESS_KEY,
        "secret_key": FAKE_SECRET_KEY,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
    }


def backend_file(settings: Mapping[str, Any]) -> str:
    """``settings`` as a ``-backend-config`` file (HCL attributes)."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    return "".join(f"{k} = {value(v)}\n" for k, v in settings.items())


def configure_for_emulator(stack: dict[str, Any], endpoint: str) -> None:
    """Point, in place, the AWS providers and remote-state reads of a copy at ``endpoint``."""
    providers = stack.get("provider", {}).get("aws")
    if isinstance(providers, dict):
        providers = [providers]
        stack["provider"]["aws"] = providers
    for provider in providers or []:
        # The emulator is one account (moto's 123456789012), not the environment's.
        provider.pop("allowed_account_ids", None)
        provider.update(provider_settings(endpoint))
    for body in stack.get("data", {}).get("terraform_remote_state", {}).values():
        if body.get("backend") == "s3":
            body.setdefault("config", {}).update(backend_settings(endpoint))


# --- the emulator -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_get(url: str, timeout: float = 2.0) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.read()


def _offline_env(base: Mapping[str, str]) -> dict[str, str]:
    """No proxy but a dead one for anything other than loopback."""
    env = {
        k: v
        for k, v in base.items()
        if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Emulator:
    """moto's server on 127.0.0.1:<free port>, a child process; a context manager that
    always stops it."""

    def __init__(self, log: Path, base_env: Mapping[str, str], endpoint: str | None = None) -> None:
        self.external = endpoint
        self.port = int(endpoint.rpartition(":")[2]) if endpoint else free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = _offline_env({k: v for k, v in base_env.items() if not k.startswith("AWS_")})
        env.update(MOTO_ENV)
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Emulator:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if self.external:
            _loopback_get(f"{self.endpoint}/moto-api/data.json", timeout=30)
            return self
        handle = self.log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        handle.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited ({self.log})")
            try:
                _loopback_get(f"{self.endpoint}/moto-api/data.json")
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within 60s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of the emulator (fixtures, clean-up); loopback only."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
            config=Config(proxies={}, retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )


# --- one stack ----------------------------------------------------------------------


@dataclass
class StackRun:
    """One stack's emulation."""

    stack: str
    workdir: Path | None = None
    document: dict[str, Any] | None = None
    compat: CompatReport | None = None
    removal: Removal = field(default_factory=Removal)
    unchecked: str | None = None
    applied: int = 0
    apply_seconds: float = 0.0
    replan_seconds: float = 0.0
    destroy_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    destroy_errors: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Destroy refusals by the stack's own protection (intended)."""
    warnings: list[str] = field(default_factory=list)
    was_applied: bool = False
    """Whether apply was attempted (destroy then runs)."""

    @property
    def ok(self) -> bool:
        return self.unchecked is not None or (not self.errors and not self.changes)


def _terraform_env(toolchain: Toolchain, base_env: Mapping[str, str]) -> dict[str, str]:
    env = _offline_env(toolchain.env(base_env))
    env.update(AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=FAKE_SECRET_KEY)
    return env


def _terraform(
    toolchain: Toolchain, args: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run Terraform in ``cwd``, at most :data:`STEP_TIMEOUT` seconds; its output goes
    to ``<command>.log`` there as it runs (and is returned)."""
    log = cwd / f"{args[0]}.log"
    errors = cwd / f"{args[0]}.stderr.log"
    with log.open("w", encoding="utf-8") as out, errors.open("w", encoding="utf-8") as err:
        process = subprocess.Popen(  # noqa: S603 - the located terraform binary, fixed arguments
            [str(toolchain.terraform), *args], cwd=cwd, env=dict(env), stdout=out, stderr=err
        )
        try:
            code = process.wait(timeout=STEP_TIMEOUT)
            timed_out = ""
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            code, timed_out = 1, f"terraform {args[0]}: timed out after {STEP_TIMEOUT}s"
    stdout = log.read_text(encoding="utf-8", errors="replace")
    stderr = errors.read_text(encoding="utf-8", errors="replace") + timed_out
    return subprocess.CompletedProcess(args, code, stdout, stderr)


def _messages(stdout: str) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def errors_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Error diagnostics of a ``-json`` Terraform run (address: summary: detail)."""
    errors = []
    for message in _messages(result.stdout):
        diagnostic = message.get("diagnostic")
        if message.get("@level") != "error" or not diagnostic:
            continue
        where = diagnostic.get("address") or ""
        detail = " ".join((diagnostic.get("detail") or "").split())[:600]
        errors.append(f"{where + ': ' if where else ''}{diagnostic.get('summary')}: {detail}")
    if result.returncode not in (0, 2) and not errors:
        errors.append((result.stderr or result.stdout).strip()[-1500:] or "terraform failed")
    return list(dict.fromkeys(errors))


def prepare_stack(
    stack_dir: Path,
    workdir: Path,
    toolchain: Toolchain,
    emulator_endpoint: str,
    *,
    state_bucket: str | None,
    removed_outputs: Mapping[str, Mapping[str, str]],
) -> StackRun:
    """Copy a stack, transform it for the plugin, remove the gaps, point it at the emulator."""
    run = StackRun(stack_dir.name)
    original = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
    aws_version, missing = plugins_for(original, toolchain)
    if missing:
        run.unchecked = f"provider {', '.join(missing)} not in any plugin mirror"
        return run
    document = original
    if aws_version:
        document, run.compat = to_provider_5(original, run.stack, aws_version)
    run.removal = remove_gaps(document, state_bucket=state_bucket, removed_outputs=removed_outputs)
    run.removal.ignored = ignore_gap_arguments(document)
    run.removal.shortened = shorten_waits(document)
    configure_for_emulator(document, emulator_endpoint)
    backend = document.get("terraform", {}).get("backend", {})
    if "local" in backend:
        backend["local"]["path"] = "terraform.tfstate"
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(stack_dir, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (workdir / STACK_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
    if "s3" in backend:
        (workdir / "emulator.tfbackend").write_text(
            backend_file(backend_settings(emulator_endpoint)), encoding="utf-8"
        )
    run.workdir, run.document = workdir, document
    return run


def apply_stack(run: StackRun, toolchain: Toolchain, env: Mapping[str, str]) -> None:
    """init, apply, plan again (``-detailed-exitcode``: 0 no change)."""
    assert run.workdir is not None
    init = ["init", "-input=false", "-no-color"]
    if (run.workdir / "emulator.tfbackend").is_file():
        init.append("-backend-config=emulator.tfbackend")
    start = time.perf_counter()
    result = _terraform(toolchain, init, run.workdir, env)
    if result.returncode != 0:
        run.errors.append("init: " + (result.stderr or result.stdout).strip()[-1500:])
        run.apply_seconds = time.perf_counter() - start
        return
    run.was_applied = True
    apply = ["apply", "-auto-approve", "-input=false", "-no-color", "-json"]
    result = _terraform(toolchain, apply, run.workdir, env)
    first = errors_of(result)
    if first:
        # Once more: an error that a second apply does not repeat comes from the order
        # Terraform created things in (a missing dependency in the stack), reported as
        # a warning; one that repeats is an error.
        result = _terraform(toolchain, apply, run.workdir, env)
        run.warnings += [
            f"first apply only (ordering? converged on a second apply): {e}"
            for e in first
            if e not in errors_of(result)
        ]
    run.apply_seconds = time.perf_counter() - start
    run.errors += errors_of(result)
    listing = _terraform(toolchain, ["state", "list"], run.workdir, env)
    run.applied = sum(
        1 for line in listing.stdout.splitlines() if line and not line.startswith("data.")
    )
    if run.errors:
        return
    start = time.perf_counter()
    plan = ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-json"]
    result = _terraform(toolchain, plan, run.workdir, env)
    run.replan_seconds = time.perf_counter() - start
    if result.returncode == 1:
        run.errors += ["replan: " + e for e in errors_of(result)]
        return
    for message in _messages(result.stdout):
        if message.get("type") == "planned_change":
            change = message["change"]
            address = change["resource"]["addr"]
            run.changes.append(f"{address}: {change['action']}")
    if result.returncode == 2 and not run.changes:
        run.changes.append("plan shows changes (outputs or drift only)")


def destroy_stack(run: StackRun, toolchain: Toolchain, env: Mapping[str, str]) -> None:
    assert run.workdir is not None
    start = time.perf_counter()
    destroy = ["destroy", "-auto-approve", "-input=false", "-no-color", "-json"]
    result = _terraform(toolchain, destroy, run.workdir, env)
    run.destroy_seconds = time.perf_counter() - start
    if result.returncode != 0:
        for error in errors_of(result) or ["destroy failed"]:
            (run.kept if PROTECTION.search(error) else run.destroy_errors).append(error)


PROTECTION = re.compile(
    r"deletion.?protection|cannot delete protected|prevent_destroy|cannot be destroyed"
    r"|AccessDenied",
    re.IGNORECASE,
)
"""A destroy refusal caused by the stack's own protection (RDS ``deletion_protection``,
``lifecycle.prevent_destroy``, a bucket policy): intended, reported, not a failure."""


# --- fixtures: what stacks that are not checked here would have created --------------


@dataclass
class Seeded:
    """A resource created in the emulator outside Terraform, and how to delete it."""

    description: str
    delete: Callable[[], Any]


def seed_load_balancers(
    emulator: Emulator, document: Mapping[str, Any], region: str, vpc_id: str | None
) -> list[Seeded]:
    """The ALB and target groups a stack reads by tag (``data.aws_lb`` /
    ``data.aws_lb_target_group``), which the AWS Load Balancer Controller creates from
    the app stack's Ingress; that stack (Helm) is not applied here."""
    data = document.get("data", {})
    lbs = data.get("aws_lb", {})
    groups = data.get("aws_lb_target_group", {})
    if not lbs and not groups:
        return []
    elbv2 = emulator.client("elbv2", region)
    ec2 = emulator.client("ec2", region)
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    )["Subnets"]
    by_zone: dict[str, str] = {}
    for subnet in subnets:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    vpc = vpc_id or (subnets[0]["VpcId"] if subnets else None)
    seeded: list[Seeded] = []
    for index, (name, body) in enumerate(sorted(lbs.items())):
        tags = [{"Key": k, "Value": v} for k, v in body.get("tags", {}).items()]
        arn = elbv2.create_load_balancer(
            Name=f"kreo-emulated-{index}",
            Subnets=list(by_zone.values())[:3],
            Type="application",
            Scheme="internet-facing",
            Tags=tags,
        )["LoadBalancers"][0]["LoadBalancerArn"]
        seeded.append(
            Seeded(
                f"aws_lb for data.aws_lb.{name}",
                lambda a=arn: elbv2.delete_load_balancer(LoadBalancerArn=a),
            )
        )
    for index, (name, body) in enumerate(sorted(groups.items())):
        tags = body.get("tags", {})
        port = int(tags.get("ingress.k8s.aws/resource", ":80").rpartition(":")[2] or 80)
        arn = elbv2.create_target_group(
            Name=f"kreo-emulated-{index}",
            Protocol="HTTP",
            Port=port,
            VpcId=vpc,
            TargetType="ip",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["TargetGroups"][0]["TargetGroupArn"]
        seeded.append(
            Seeded(
                f"aws_lb_target_group for data.aws_lb_target_group.{name}",
                lambda a=arn: elbv2.delete_target_group(TargetGroupArn=a),
            )
        )
    return seeded


def _vpc_of(emulator: Emulator, region: str, tags: Mapping[str, str]) -> str | None:
    """The VPC of the environment (tagged like its stacks), if any."""
    ec2 = emulator.client("ec2", region)
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    vpcs = ec2.describe_vpcs(Filters=filters)["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def buckets_of(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, region) of the buckets with a literal name a stack creates."""
    regions = {}
    providers = document.get("provider", {}).get("aws", [])
    for provider in [providers] if isinstance(providers, dict) else providers:
        regions[f"aws.{provider['alias']}" if "alias" in provider else "aws"] = provider.get(
            "region", "us-east-1"
        )
    found = []
    for body in document.get("resource", {}).get("aws_s3_bucket", {}).values():
        name = body.get("bucket", "")
        if name and "${" not in name:
            found.append((name, regions.get(body.get("provider", "aws"), "us-east-1")))
    return found


def empty_bucket(emulator: Emulator, bucket: str, region: str) -> int:
    """Delete every object version of ``bucket`` (what an operator does before removing
    a versioned bucket with ``force_destroy = false``); the count deleted."""
    s3 = emulator.client("s3", region)
    count = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
            count += 1
    return count


# --- the whole run ------------------------------------------------------------------


def _region(document: Mapping[str, Any]) -> str:
    providers = document.get("provider", {}).get("aws", [])
    if isinstance(providers, dict):
        providers = [providers]
    for provider in providers:
        if "alias" not in provider:
            return provider.get("region", "us-east-1")
    return "us-east-1"


def _state(outdir: Path, names: Iterable[str]) -> tuple[dict[str, str], str | None]:
    """Stack → its S3 state key, and the state bucket."""
    keys, bucket = {}, None
    for name in names:
        stack = json.loads((outdir / "stacks" / name / STACK_FILE).read_text(encoding="utf-8"))
        s3 = stack.get("terraform", {}).get("backend", {}).get("s3")
        if s3:
            keys[name] = s3["key"]
            bucket = bucket or s3["bucket"]
    return keys, bucket


def run_emulation(
    outdir: Path,
    toolchain: Toolchain,
    env: dict[str, str],
    cache_dir: Path,
    say: Callable[[str], None],
    only: str | None,
    *,
    stacks_wanted: Iterable[str] | None = None,
    endpoint: str | None = None,
    destroy: bool = True,
) -> int:
    """Tier 3 on ``outdir``'s account stacks and one environment (default production).

    For iterating (``python -m kreo_infra.tfcheck.emulator``): ``stacks_wanted`` applies
    only those stacks (the others' gap walk still runs, so removed outputs carry over),
    ``endpoint`` uses an emulator already running there (kept: its state survives the
    run), ``destroy=False`` leaves what was applied in place.
    """
    only = only or "production"
    total_start = time.perf_counter()
    order = deployment_order(outdir, only)
    stacks = order.all
    wanted = set(stacks_wanted) if stacks_wanted else None
    keys, state_bucket = _state(outdir, stacks)
    work = cache_dir / "emulate"
    tf_env = _terraform_env(toolchain, env)
    runs: list[StackRun] = []
    seeded: dict[str, list[Seeded]] = {}
    failed = False
    say(f"\n# tier 3: apply against a local AWS emulator (moto), {only}")
    with Emulator(work / "moto.log", env, endpoint=endpoint) as emulator:
        say(f"moto server on {emulator.endpoint} (log {emulator.log})")
        removed_outputs: dict[str, dict[str, str]] = {}
        stopped = None
        for name in stacks:
            if stopped:
                run = StackRun(name, unchecked=f"not reached: {stopped} failed before it")
                runs.append(run)
                say(f"{name}: not checked - {run.unchecked}")
                continue
            run = prepare_stack(
                outdir / "stacks" / name,
                work / name,
                toolchain,
                emulator.endpoint,
                state_bucket=state_bucket,
                removed_outputs=removed_outputs,
            )
            if run.unchecked:
                runs.append(run)
                say(f"{name}: not checked - {run.unchecked}")
                continue
            assert run.document is not None
            if name in keys:
                removed_outputs[keys[name]] = run.removal.outputs
            if wanted is not None and name not in wanted:
                continue
            runs.append(run)
            for address, gap in sorted(run.removal.removed.items()):
                say(f"  not applied (emulator gap {gap}): {address}")
            for address, gap in sorted(run.removal.ignored.items()):
                say(f"  changes ignored (emulator gap {gap}): {address}")
            for address, duration in sorted(run.removal.shortened.items()):
                say(f"  provider wait shortened to {duration} (WAIT_TIMEOUTS): {address}")
            try:
                region = _region(run.document)
                vpc = None
                if run.document.get("data", {}).get("aws_lb") or run.document.get("data", {}).get(
                    "aws_lb_target_group"
                ):
                    tags = {"Environment": only, "Project": "kreo"}
                    vpc = _vpc_of(emulator, region, tags)
                seeded[name] = seed_load_balancers(emulator, run.document, region, vpc)
            except Exception as error:
                say(f"  seeding failed: {error}")
            for item in seeded.get(name, []):
                say(
                    "  seeded in the emulator (the unchecked app stack creates it): "
                    + item.description
                )
            apply_stack(run, toolchain, tf_env)
            status = "ok" if run.ok else "FAILED"
            say(
                f"{name}: {status} - {run.applied} resources, apply {run.apply_seconds:.1f}s, "
                f"replan {run.replan_seconds:.1f}s"
            )
            for error in run.errors:
                say(f"  {error}")
            for warning in run.warnings:
                say(f"  warning: {warning}")
            for change in run.changes:
                say(f"  second plan not empty: {change}")
            if not run.ok:
                failed = True
            if run.errors:
                stopped = name  # a perpetual diff still lets the stacks after it run

        say("\n# destroy, reverse order" if destroy else "\n# not destroyed (kept)")
        for run in reversed(runs):
            if not run.was_applied or not destroy:
                continue
            for bucket, region in buckets_of(run.document or {}):
                try:
                    count = empty_bucket(emulator, bucket, region)
                except Exception as error:
                    if "NoSuchBucket" not in str(error):
                        say(f"  emptying {bucket} failed: {error}")
                    continue
                if count:
                    say(
                        f"  emptied {bucket} ({count} object versions: state files, access "
                        "logs) before destroying it (force_destroy = false)"
                    )
            destroy_stack(run, toolchain, tf_env)
            for item in seeded.get(run.stack, []):
                try:
                    item.delete()
                except Exception as error:
                    run.destroy_errors.append(f"seeded {item.description}: {error}")
            status = "destroyed" if not run.destroy_errors else "destroy incomplete (warning)"
            say(f"{run.stack}: {status} ({run.destroy_seconds:.1f}s)")
            for error in run.kept:
                say(f"  kept by its protection (intended): {error}")
            for error in run.destroy_errors:
                say(f"  warning: {error}")

    say("\n# summary")
    say(f"{'stack':32} {'resources':>9} {'apply':>8} {'replan':>8} {'destroy':>8}  result")
    for run in runs:
        result = (run.unchecked and f"not checked: {run.unchecked}") or (
            "ok" if run.ok else "FAILED"
        )
        say(
            f"{run.stack:32} {run.applied:9d} {run.apply_seconds:7.1f}s "
            f"{run.replan_seconds:7.1f}s {run.destroy_seconds:7.1f}s  {result}"
        )
    say(f"\n{'FAILED' if failed else 'ok'} in {time.perf_counter() - total_start:.0f}s")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kreo_infra.tfcheck.emulator``: iterate on some stacks against a moto
    server kept running (``--serve`` starts one and waits; ``--endpoint`` uses it)."""
    import argparse
    import os

    from kreo_infra.tfcheck.toolchain import discover

    parser = argparse.ArgumentParser(prog="python -m kreo_infra.tfcheck.emulator")
    parser.add_argument("--outdir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--only", default="production")
    parser.add_argument("--cache", type=Path, default=Path(".cache/terraform"))
    parser.add_argument("--stacks", help="comma-separated stacks to apply (default: all)")
    parser.add_argument("--endpoint", help="a moto server already running (its state is kept)")
    parser.add_argument("--no-destroy", action="store_true")
    parser.add_argument("--serve", action="store_true", help="start moto, print it, wait")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    cache = args.cache.resolve()
    if args.serve:
        with Emulator(cache / "emulate-dev" / "moto.log", env) as emulator:
            print(emulator.endpoint, flush=True)
            assert emulator.process is not None
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop moto too
            with contextlib.suppress(KeyboardInterrupt):
                emulator.process.wait()
        return 0
    toolchain = discover(env, cache)
    return run_emulation(
        args.outdir,
        toolchain,
        env,
        cache,
        lambda m: print(m, flush=True),
        args.only,
        stacks_wanted=args.stacks.split(",") if args.stacks else None,
        endpoint=args.endpoint,
        destroy=not args.no_destroy,
    )


if __name__ == "__main__":
    sys.exit(main())
