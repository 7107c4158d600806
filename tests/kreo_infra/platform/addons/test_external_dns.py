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
    # The owner of the zone's records: a recovery's are the recovered cluster's.
    owner = platform.synthesis.environment(config.recovery_of) if config.recovery_of else config
    assert values["txtOwnerId"] == owner.cluster_name
    assert values["provider"] == {"name": "aws"}


def test_a_recovery_takes_the_recovered_records_over(
    synthesis: Synthesis, recovery_name: str
) -> None:
    """external-dns changes only records whose TXT owner id is its own: a recovery's
    is the recovered environment's, so it moves api.<domain> to its own load balancer
    (docs/runbooks/disaster-recovery.md); its own cluster name would leave the record
    where it points."""
    recovery = Platform(synthesis, synthesis.environment(recovery_name))
    assert recovery.config.recovery_of is not None
    recovered = Platform(synthesis, synthesis.environment(recovery.config.recovery_of))
    mine, theirs = recovery.values("external-dns"), recovered.values("external-dns")
    assert mine["txtOwnerId"] == theirs["txtOwnerId"] == recovered.config.cluster_name
    assert recovery.config.cluster_name != recovered.config.cluster_name
    assert mine["domainFilters"] == theirs["domainFilters"]


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
