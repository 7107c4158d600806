"""EKS managed add-ons, pinned, with their workload-identity roles."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cdktf_cdktf_provider_aws.eks_addon import EksAddon, EksAddonPodIdentityAssociation
from constructs import Construct, IConstruct

from kreo_infra.security.pod_identity import PodIdentityRole

ADDON_CONFIGURATION: Mapping[str, Mapping[str, Any]] = {
    # The VPC CNI enforces Kubernetes NetworkPolicies (its network policy agent,
    # eBPF): without this the marketplace's default-deny policies would be inert.
    "vpc-cni": {"enableNetworkPolicy": "true"},
}
"""Add-on configuration (``configuration_values``) applied whenever the add-on is created."""

BEFORE_NODES = ("vpc-cni", "eks-pod-identity-agent", "kube-proxy")
"""Add-ons that must run before the first node joins (networking, identity);
the others (CoreDNS, the EBS CSI driver) need nodes to schedule on."""


class ManagedAddons(Construct):
    """One ``aws_eks_addon`` per entry of ``versions``, at exactly that version.

    ``roles`` binds an add-on's service account to its Pod Identity role;
    ``depends_on`` orders the add-ons after, e.g., the node groups. Conflicts
    with hand edits are overwritten on create and preserved on update, so an
    update never silently discards a fix made in an incident. ``configurations``
    (default :data:`ADDON_CONFIGURATION`) set an add-on's configuration values.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster_name: str,
        versions: Mapping[str, str],
        roles: Mapping[str, PodIdentityRole] | None = None,
        depends_on: Sequence[IConstruct] = (),
        configurations: Mapping[str, Mapping[str, Any]] = ADDON_CONFIGURATION,
    ) -> None:
        super().__init__(scope, id)
        roles = roles or {}
        self.addons: dict[str, EksAddon] = {}
        for name, version in versions.items():
            role = roles.get(name)
            association = (
                [
                    EksAddonPodIdentityAssociation(
                        role_arn=role.arn, service_account=role.workload.service_account
                    )
                ]
                if role
                else None
            )
            self.addons[name] = EksAddon(
                self,
                name,
                cluster_name=cluster_name,
                addon_name=name,
                addon_version=version,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                pod_identity_association=association,
                configuration_values=(
                    json.dumps(configurations[name], sort_keys=True)
                    if name in configurations
                    else None
                ),
                depends_on=list(depends_on) or None,
            )
