"""ExternalDNS as released: its domain, zone and policy."""

from __future__ import annotations

from kreo_infra.platform.addons import external_dns
from tests.conftest import Synthesis
from tests.kreo_infra.platform.addons.conftest import IDENTITY_INPUTS, Platform


def test_external_dns_domain_and_policy(platform: Platform) -> None:
    config = platform.config
    values = platform.values("external-dns")
    assert values["domainFilters"] == [config.dns.domain]
    assert values["policy"] == config.platform.external_dns_policy
    # Each cluster owns the records it wrote, a recovery's included (decision 78).
    assert values["txtOwnerId"] == config.cluster_name
    assert values["provider"] == {"name": "aws"}


def test_a_recovery_owns_records_apart_from_the_recovered_cluster(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """external-dns changes only records whose TXT owner id is its own. A recovery's
    differs from the recovered cluster's, so the two never take turns at
    api.<domain> (the recovered cluster returns with its region): the runbook hands
    the record over once, deleting the recovered owner's (docs/runbooks/
    disaster-recovery.md), and the recovered one leaves the recovery's alone."""
    recovery = Platform(synthesis, synthesis.environment(recovery_name))
    assert recovery.config.recovery_of is not None
    recovered = Platform(synthesis, synthesis.environment(recovery.config.recovery_of))
    mine, theirs = recovery.values("external-dns"), recovered.values("external-dns")
    assert mine["txtOwnerId"] == recovery.config.cluster_name
    assert theirs["txtOwnerId"] == recovered.config.cluster_name != mine["txtOwnerId"]
    assert mine["domainFilters"] == theirs["domainFilters"]
    # upsert-only on the apex: neither deletes what the other wrote.
    assert mine["policy"] == theirs["policy"] == "upsert-only"


def test_external_dns_never_deletes_on_the_apex(platform: Platform) -> None:
    """The apex zone holds records no cluster created (mail, verifications):
    external-dns there only adds and updates. A subdomain's zone is its own."""
    config = platform.config
    values = platform.values("external-dns")
    if config.dns.domain == config.dns.apex:
        assert values["policy"] == "upsert-only"
    else:
        assert values["policy"] in ("upsert-only", "sync")
        assert values["domainFilters"] == [config.dns.domain] != [config.dns.apex]


def test_external_dns_lists_only_the_edge_zone(platform: Platform) -> None:
    """Without the filter the apex's filter also matches the delegated subdomain's
    zone, which the role may not list, and the whole sync fails."""
    (flag,) = platform.values("external-dns")["extraArgs"]
    assert flag.startswith("--zone-id-filter=")
    assert f"cross-stack-reference-input-{platform.config.stack_prefix}-edge" in flag


def test_record_names_are_the_hosts_and_their_registry_records() -> None:
    assert external_dns.record_names(["api.kreo.com"]) == ["api.kreo.com", "*-api.kreo.com"]


def test_role_changes_only_the_api_hosts_records() -> None:
    (change, *_) = external_dns.statements(IDENTITY_INPUTS)
    assert change["Action"] == ["route53:ChangeResourceRecordSets"]
    assert change["Resource"] == f"arn:aws:route53:::hostedzone/{IDENTITY_INPUTS.zone_id}"
    names = change["Condition"]["ForAllValues:StringLike"]
    assert names["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
        "api.test.kreo.com",
        "*-api.test.kreo.com",
    ]
