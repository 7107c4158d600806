"""What changes between two synth outputs, and which changes can lose data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kreo_infra.review.output import Resource, SynthOutput

STATEFUL_TYPES = {
    "aws_db_instance": "database",
    "aws_elasticache_replication_group": "cache",
    "aws_opensearch_domain": "search domain",
    "aws_s3_bucket": "bucket",
    "aws_secretsmanager_secret": "secret",
    "aws_kms_key": "KMS key (data encrypted with it is lost with it)",
    "aws_eks_cluster": "cluster",
    "aws_backup_vault": "backup vault",
    "aws_ecr_repository": "image repository",
    "aws_route53_zone": "DNS zone (new name servers)",
    "aws_cloudwatch_log_group": "log group",
    "aws_db_instance_automated_backups_replication": "replicated database backups",
    "aws_backup_logically_air_gapped_vault": "air-gapped backup vault",
    "aws_s3_bucket_object_lock_configuration": "object lock of a bucket (the state's versions)",
}
"""Resource types whose deletion deletes data (or an identity others depend on)."""

REPLACEMENT_ATTRIBUTES = {
    "aws_db_instance": {
        "identifier", "engine", "storage_encrypted", "kms_key_id", "db_subnet_group_name",
        "username", "db_name", "replicate_source_db", "availability_zone",
    },
    "aws_elasticache_replication_group": {
        "replication_group_id", "engine", "at_rest_encryption_enabled", "kms_key_id",
        "subnet_group_name",
    },
    "aws_opensearch_domain": {"domain_name", "encrypt_at_rest"},
    "aws_s3_bucket": {"bucket", "bucket_prefix", "object_lock_enabled"},
    "aws_secretsmanager_secret": {"name", "name_prefix"},
    "aws_kms_key": {"customer_master_key_spec", "key_spec", "key_usage", "multi_region"},
    "aws_eks_cluster": {"name", "encryption_config", "kubernetes_network_config"},
    "aws_backup_vault": {"name", "kms_key_arn"},
    "aws_ecr_repository": {"name", "encryption_configuration"},
    "aws_route53_zone": {"name"},
    "aws_cloudwatch_log_group": {"name"},
}  # fmt: skip
"""Arguments whose change makes Terraform replace (destroy and create) the resource."""

IGNORED_ATTRIBUTES = {"depends_on"}
"""Ordering only: a change here changes nothing in AWS."""


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    resource: Resource
    attributes: tuple[AttributeChange, ...]


@dataclass
class ChangeReport:
    added: list[Resource] = field(default_factory=list)
    removed: list[Resource] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    stacks_added: list[str] = field(default_factory=list)
    stacks_removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.stacks_added or self.stacks_removed
        )

    @property
    def dangers(self) -> list[str]:
        """Removals of stateful resources and changes that force their replacement."""
        found = []
        for resource in self.removed:
            if resource.type in STATEFUL_TYPES:
                found.append(f"removes {STATEFUL_TYPES[resource.type]} `{resource.address}`")
        for change in self.changed:
            forcing = REPLACEMENT_ATTRIBUTES.get(change.resource.type, set())
            for attribute in change.attributes:
                if attribute.path.split(".")[0].split("[")[0] in forcing:
                    found.append(
                        f"replaces {STATEFUL_TYPES[change.resource.type]} "
                        f"`{change.resource.address}`: `{attribute.path}` "
                        f"{_short(attribute.before)} → {_short(attribute.after)}"
                    )
        return found


def _short(value: Any, limit: int = 80) -> str:
    text = "(absent)" if value is _ABSENT else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT: Any = _Absent()


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value and prefix:
            yield prefix, value
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def attribute_changes(before: dict[str, Any], after: dict[str, Any]) -> list[AttributeChange]:
    """Leaf-level differences between two resource configurations."""
    old = {k: v for k, v in _flatten(before) if k.split(".")[0] not in IGNORED_ATTRIBUTES}
    new = {k: v for k, v in _flatten(after) if k.split(".")[0] not in IGNORED_ATTRIBUTES}
    return [
        AttributeChange(path, old.get(path, _ABSENT), new.get(path, _ABSENT))
        for path in sorted(set(old) | set(new))
        if old.get(path, _ABSENT) != new.get(path, _ABSENT)
    ]


def compare(base: SynthOutput, head: SynthOutput) -> ChangeReport:
    """What ``head`` adds, removes and changes relative to ``base``."""
    report = ChangeReport()
    base_stacks, head_stacks = set(base.stack_names), set(head.stack_names)
    report.stacks_added = sorted(head_stacks - base_stacks)
    report.stacks_removed = sorted(base_stacks - head_stacks)
    for stack in sorted(base_stacks | head_stacks):
        old = base.resources(stack) if stack in base_stacks else {}
        new = head.resources(stack) if stack in head_stacks else {}
        for key in sorted(set(new) - set(old)):
            report.added.append(new[key])
        for key in sorted(set(old) - set(new)):
            report.removed.append(old[key])
        for key in sorted(set(old) & set(new)):
            changes = attribute_changes(old[key].config, new[key].config)
            if changes:
                report.changed.append(ResourceChange(new[key], tuple(changes)))
    return report
