"""ExternalDNS: the Ingress's host name as a Route 53 record.

What: watches Services and Ingresses and writes the DNS records of their
hosts (with TXT ownership records, ``registry: txt``) into the environment's
public hosted zone.

Why: the API's record follows its ALB, which the AWS Load Balancer Controller
creates and may replace (hence ``after`` the controller): nobody copies a
load balancer's name into the edge layer.

Values that matter: ``domainFilters`` the environment's domain and
``--zone-id-filter`` its zone only (the chart, 1.21.1, has no zoneIdFilters
value): without the filter, ``kreo.com`` also matches the delegated
``staging.kreo.com`` zone, whose records the role may not list, and one failed
listing aborts the whole sync. ``policy`` is ``platform.external_dns_policy``
(``upsert-only`` on the apex, which holds records no cluster made);
``txtOwnerId`` is the cluster's name.

IAM: change only the API host's records (and their TXT registry records) in
the one zone; the edge layer owns every other record, so the two owners never
fight over one.
https://github.com/kubernetes-sigs/external-dns/tree/external-dns-helm-chart-1.21.1/charts/external-dns
"""

from __future__ import annotations

from collections.abc import Sequence

from kreo_infra.platform.addons import Addon, IdentityInputs, ReleaseInputs
from kreo_infra.platform.values import Values, resources
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import Workload

WORKLOAD = Workload("external-dns", "external-dns", "external-dns")


def record_names(hosts: Sequence[str]) -> list[str]:
    """The record names external-dns may change: each host, and its TXT registry
    records (``a-<host>``, ``aaaa-<host>``, ``cname-<host>``)."""
    return [name for host in hosts for name in (host, f"*-{host}")]


def statements(inputs: IdentityInputs) -> list[Statement]:
    """Change the records of the API host (and their registry TXT records) in one zone only.

    The edge layer owns every other record of the zone; limiting names here is
    what guarantees the two owners never fight over one record.
    """
    zone = f"arn:{inputs.partition}:route53:::hostedzone/{inputs.zone_id}"
    return [
        {
            "Sid": "ChangeTheIngressHostRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": zone,
            "Condition": {
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": (
                        record_names(inputs.record_hosts)
                    )
                }
            },
        },
        {
            "Sid": "ReadZoneRecords",
            "Effect": "Allow",
            "Action": ["route53:ListResourceRecordSets", "route53:ListTagsForResources"],
            "Resource": zone,
        },
        {
            "Sid": "FindZones",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones"],
            "Resource": "*",
        },
    ]


def values(inputs: ReleaseInputs) -> Values:
    return {
        "provider": {"name": "aws"},
        "domainFilters": [inputs.domain],
        # The edge layer's zone only (the IAM role allows no other). The chart
        # (1.21.1) has no zoneIdFilters value, so the flag goes in as an argument;
        # without it, domainFilters [kreo.com] also matches the delegated
        # staging.kreo.com zone, whose records the role may not list, and one
        # failed listing aborts the whole sync.
        "extraArgs": [f"--zone-id-filter={inputs.zone_id}"],
        "policy": inputs.external_dns_policy,
        "registry": "txt",
        # Each cluster owns what it wrote: a rebuild's external-dns (a cluster of its
        # own) leaves production's records alone until the runbook hands them over,
        # and production's, back from a region loss, leaves the rebuild's alone
        # (decision 78; kubernetes-sigs/external-dns docs/registry/txt.md).
        "txtOwnerId": inputs.cluster_name,
        "sources": ["service", "ingress"],
        "serviceAccount": {"create": True, "name": WORKLOAD.service_account},
        "env": [{"name": "AWS_DEFAULT_REGION", "value": inputs.region}],
        "resources": resources("external-dns"),
    }


ADDON = Addon(
    name="external-dns",
    workload=WORKLOAD,
    values=values,
    service_account_key=("serviceAccount", "name"),
    statements=statements,
    # The records point at the load balancers the controller makes.
    after=("aws-load-balancer-controller",),
    creates_namespace=True,
)
