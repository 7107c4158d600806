"""Stacks: one per environment and layer, named ``kreo-<env>-<layer>``."""

from kreo_infra.stacks.app import AppStack
from kreo_infra.stacks.backup import BackupStack
from kreo_infra.stacks.base import BaseStack
from kreo_infra.stacks.bootstrap import BootstrapStack
from kreo_infra.stacks.cluster import ClusterStack
from kreo_infra.stacks.data import DataStack
from kreo_infra.stacks.edge import EdgeStack
from kreo_infra.stacks.github import GithubStack
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.network import NetworkStack
from kreo_infra.stacks.observability import ObservabilityStack
from kreo_infra.stacks.platform import PlatformStack

__all__ = [
    "AppStack",
    "BackupStack",
    "BaseStack",
    "BootstrapStack",
    "ClusterStack",
    "DataStack",
    "EdgeStack",
    "GithubStack",
    "KreoStack",
    "NetworkStack",
    "ObservabilityStack",
    "PlatformStack",
]
