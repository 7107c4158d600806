"""What EKS supports and what every cluster runs: facts about the service, kept apart
from the schema that checks config against them (update them when EKS releases or
retires a version or an add-on)."""

from __future__ import annotations

EKS_STANDARD_SUPPORT: dict[str, str | None] = {
    "1.35": "2027-03-27",
    "1.36": None,
}
"""Kubernetes minors in EKS *standard* support on 2026-12-01, each with the last day
of that support (ISO date, UTC), or None where AWS's date is not known to us.

Source: AWS's "Amazon EKS Kubernetes release calendar" (EKS user guide,
https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar,
also ``aws eks describe-cluster-versions``, ``endOfStandardSupportDate``), as
https://endoflife.date/amazon-eks reproduces it: 1.35's standard support ends
2027-03-27, 1.34's on 2026-12-02 (so 1.34 is gone). 1.36 is on EKS (the user
guide has its release notes) but no copy of the calendar we could read gives its
end date: None until one does. Verify a date against AWS's page before relying
on it; copy it here as AWS writes it.

Update when EKS releases or retires a version; extended support costs six times as
much and is never chosen by default. ``tests/kreo_infra/config/test_eks.py`` fails
once an environment's version is within :data:`UPGRADE_NOTICE_DAYS` of its end."""

UPGRADE_NOTICE_DAYS = 60
"""How long before a version's end of standard support the tests start failing for
an environment still on it: the upgrade (docs/operations.md) must be under way by
then. It is also the shortest notice AWS gives: it announces an end of standard
support at least 60 days ahead (the calendar page's FAQ)."""

ADDONS = (
    "vpc-cni",
    "coredns",
    "kube-proxy",
    "aws-ebs-csi-driver",
    "eks-pod-identity-agent",
    "amazon-cloudwatch-observability",
)
"""The EKS managed add-ons every cluster runs (versions pinned in config)."""
