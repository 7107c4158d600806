"""The standard tags of every Kreo AWS resource (pure data, no cdktf import)."""

from __future__ import annotations

from kreo_infra.config import EnvironmentConfig

MANAGED_BY = "kreo-infra"
"""Value of the ``ManagedBy`` tag: this repository, so a console user knows where to change it."""

TAG_KEYS = ("Project", "Environment", "Stack", "ManagedBy", "Owner", "CostCenter")

BACKUP_TAG = ("kreo.com/backup", "daily")
"""Resources carrying this tag (and their environment's ``Environment`` tag) are
backed up daily by the environment's AWS Backup plan: the Prometheus and
Alertmanager volumes, tagged by the gp3 StorageClass."""


def backup_tags(config: EnvironmentConfig) -> dict[str, str]:
    """The tags that put a resource into ``config``'s environment backup selection."""
    key, value = BACKUP_TAG
    return {key: value, "Environment": config.name, "Project": config.project}


def standard_tags(config: EnvironmentConfig, stack_name: str) -> dict[str, str]:
    """The tags every taggable AWS resource of ``stack_name`` carries."""
    return {
        "Project": config.project,
        "Environment": config.name,
        "Stack": stack_name,
        "ManagedBy": MANAGED_BY,
        "Owner": config.tags.owner,
        "CostCenter": config.tags.cost_center,
    }
