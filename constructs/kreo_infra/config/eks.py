"""What EKS supports and what every cluster runs: facts about the service, kept apart
from the schema that checks config against them (update them when EKS releases or
retires a version or an add-on)."""

from __future__ import annotations

from datetime import date

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
much and is never chosen by default. From :data:`UPGRADE_NOTICE_DAYS` before a
version's end, every synthesis (``main.py --check``, the first step of ``make
synth``) warns for each environment still on it (:func:`support_notice`)."""

UPGRADE_NOTICE_DAYS = 60
"""How long before a version's end of standard support every synthesis warns about an
environment still on it: the upgrade (docs/operations.md) must be under way by then.
It is also the shortest notice AWS gives: it announces an end of standard support at
least 60 days ahead (the calendar page's FAQ). A warning, not a failure: a test that
failed on a date would block every deploy, the upgrade's own and a hotfix's alike."""


def end_of_standard_support(version: str) -> date | None:
    """The last day of ``version``'s standard support; None where AWS has not said."""
    end = EKS_STANDARD_SUPPORT.get(version)
    return None if end is None else date.fromisoformat(end)


def support_notice(version: str, today: date) -> str | None:
    """Why ``version`` must be upgraded, from :data:`UPGRADE_NOTICE_DAYS` before the end
    of its standard support on; None before that or where the end is not known."""
    end = end_of_standard_support(version)
    if end is None or (end - today).days > UPGRADE_NOTICE_DAYS:
        return None
    left = (end - today).days
    when = f"ends {end}, in {left} days" if left >= 0 else f"ended {end}, {-left} days ago"
    return (
        f"EKS standard support of Kubernetes {version} {when}: upgrade the cluster to a "
        'newer minor (docs/operations.md, "Upgrade Kubernetes or an EKS add-on")'
    )


ADDONS = (
    "vpc-cni",
    "coredns",
    "kube-proxy",
    "aws-ebs-csi-driver",
    "eks-pod-identity-agent",
    "amazon-cloudwatch-observability",
)
"""The EKS managed add-ons every cluster runs (versions pinned in config)."""
