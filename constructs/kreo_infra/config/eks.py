"""What EKS supports and what every cluster runs: facts about the service, kept apart
from the schema that checks config against them (update them when EKS releases or
retires a version or an add-on)."""

from __future__ import annotations

EKS_STANDARD_SUPPORT = ("1.34", "1.35", "1.36")
"""Kubernetes versions in EKS *standard* support on 2026-11-28 (1.34 leaves it in
December 2026). Update when EKS releases or retires a version; extended support
costs six times as much and is never chosen by default."""

ADDONS = (
    "vpc-cni",
    "coredns",
    "kube-proxy",
    "aws-ebs-csi-driver",
    "eks-pod-identity-agent",
    "amazon-cloudwatch-observability",
)
"""The EKS managed add-ons every cluster runs (versions pinned in config)."""
