"""Edge constructs: the rate arithmetic, defaults and input validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="eu-west-1")


# --- WAF --------------------------------------------------------------------------------------


def test_rate_limit_is_nginx_rate_over_the_window_plus_burst() -> None:
    from kreo_infra.edge.waf import rate_limit_per_window

    assert rate_limit_per_window(requests_per_second=100, burst=200, window_seconds=60) == 6200
    assert rate_limit_per_window(requests_per_second=100, burst=200, window_seconds=300) == 30200
    assert rate_limit_per_window(requests_per_second=1, burst=0, window_seconds=60) == 60


def test_rate_limit_window_validated() -> None:
    from kreo_infra.edge.waf import rate_limit_per_window

    with pytest.raises(PropsError, match=r"window_seconds=30 .* use \(60, 120, 300, 600\)"):
        rate_limit_per_window(requests_per_second=100, burst=200, window_seconds=30)


def test_rate_limit_rate_validated() -> None:
    from kreo_infra.edge.waf import rate_limit_per_window

    with pytest.raises(PropsError, match="positive rate"):
        rate_limit_per_window(requests_per_second=0, burst=200, window_seconds=60)


def web_acl(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.edge.waf import RateLimit, WebAcl

    props: dict[str, Any] = {
        "name": "acl",
        "scope_kind": "REGIONAL",
        "rate_limit": RateLimit(limit=6200, window_seconds=60),
        "log_retention_days": 30,
        "account": ACCOUNT,
    }
    return WebAcl(stack, "waf", **{**props, **overrides})


def test_regional_acl_stays_in_the_stack_region(stack: Any) -> None:
    web_acl(stack)
    resources = synth_stack(stack)["resource"]
    (acl,) = resources["aws_wafv2_web_acl"].values()
    assert acl["scope"] == "REGIONAL"
    assert "region" not in acl
    (key,) = resources["aws_kms_key"].values()
    (statement,) = json.loads(key["policy"])["Statement"][1:]
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}


def test_cloudfront_acl_and_its_logs_live_in_us_east_1(stack: Any) -> None:
    web_acl(stack, scope_kind="CLOUDFRONT")
    resources = synth_stack(stack)["resource"]
    (acl,) = resources["aws_wafv2_web_acl"].values()
    assert (acl["scope"], acl["region"]) == ("CLOUDFRONT", "us-east-1")
    (group,) = resources["aws_cloudwatch_log_group"].values()
    assert group["region"] == "us-east-1"
    (key,) = resources["aws_kms_key"].values()
    assert key["region"] == "us-east-1"
    (statement,) = json.loads(key["policy"])["Statement"][1:]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert (
        ":logs:us-east-1:"
        in statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    )
    (logging,) = resources["aws_wafv2_web_acl_logging_configuration"].values()
    assert logging["region"] == "us-east-1"


def test_acl_scope_validated(stack: Any) -> None:
    with pytest.raises(PropsError, match=r"scope_kind='GLOBAL' .* REGIONAL or CLOUDFRONT"):
        web_acl(stack, scope_kind="GLOBAL")


def test_acl_rate_limit_validated(stack: Any) -> None:
    from kreo_infra.edge.waf import RateLimit

    with pytest.raises(PropsError, match=r"rate_limit.limit=5 .* use 10 or more"):
        web_acl(stack, rate_limit=RateLimit(limit=5, window_seconds=60))
    with pytest.raises(PropsError, match=r"rate_limit.window_seconds=10"):
        web_acl(stack, rate_limit=RateLimit(limit=100, window_seconds=10))


def test_acl_needs_managed_rules(stack: Any) -> None:
    with pytest.raises(PropsError, match="managed_rule_groups"):
        web_acl(stack, managed_rule_groups=())


def test_acl_has_no_private_paths_by_default(stack: Any) -> None:
    web_acl(stack)
    (acl,) = synth_stack(stack)["resource"]["aws_wafv2_web_acl"].values()
    assert "private-paths" not in [r["name"] for r in acl["rule"]]


def test_acl_blocks_private_paths_first_however_spelled(stack: Any) -> None:
    web_acl(stack, private_path_prefixes=["/metrics", "/debug"])
    (acl,) = synth_stack(stack)["resource"]["aws_wafv2_web_acl"].values()
    first = min(acl["rule"], key=lambda r: r["priority"])
    assert first["name"] == "private-paths"
    assert first["action"] == {"block": {}}
    matches = first["statement"]["or_statement"]["statement"]
    assert [m["byte_match_statement"]["search_string"] for m in matches] == ["/metrics", "/debug"]
    for match in matches:
        statement = match["byte_match_statement"]
        assert statement["field_to_match"] == {"uri_path": {}}
        assert statement["positional_constraint"] == "STARTS_WITH"
        # /%4Detrics, //metrics and /METRICS all reach an Express router's /metrics.
        assert [t["type"] for t in statement["text_transformation"]] == [
            "URL_DECODE",
            "NORMALIZE_PATH",
            "LOWERCASE",
        ]
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])


def test_acl_private_paths_validated(stack: Any) -> None:
    with pytest.raises(PropsError, match=r"private_path_prefixes=\['/Metrics'\]"):
        web_acl(stack, private_path_prefixes=["/Metrics"])
    with pytest.raises(PropsError, match="lower-case paths starting with /"):
        web_acl(stack, private_path_prefixes=["metrics"])


# --- DNS and certificates ---------------------------------------------------------------------


def test_existing_zone_is_looked_up_not_created(stack: Any) -> None:
    from kreo_infra.edge.dns import PublicZone

    PublicZone(stack, "zone", domain="kreo.com", create=False)
    out = synth_stack(stack)
    assert "aws_route53_zone" not in out.get("resource", {})
    (lookup,) = out["data"]["aws_route53_zone"].values()
    assert (lookup["name"], lookup["private_zone"]) == ("kreo.com", False)


def test_created_zone_is_delegated_from_its_parent(stack: Any) -> None:
    from kreo_infra.edge.dns import PublicZone

    PublicZone(stack, "zone", domain="shop.kreo.com", delegate_from="kreo.com")
    out = synth_stack(stack)
    (zone,) = out["resource"]["aws_route53_zone"].values()
    assert zone["force_destroy"] is False
    (parent,) = out["data"]["aws_route53_zone"].values()
    assert parent["name"] == "kreo.com"
    (ns,) = out["resource"]["aws_route53_record"].values()
    assert (ns["name"], ns["type"], ns["ttl"]) == ("shop.kreo.com", "NS", 172800)
    assert ns["records"].endswith(".name_servers}")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"delegate_from": "kreo.org"}, "use a parent of shop.kreo.com"),
        ({"delegate_from": "kreo.com", "create": False}, "delegate only a zone created here"),
    ],
)
def test_zone_delegation_validated(stack: Any, props: dict[str, Any], message: str) -> None:
    from kreo_infra.edge.dns import PublicZone

    with pytest.raises(PropsError, match=message):
        PublicZone(stack, "zone", domain="shop.kreo.com", **props)


def test_certificate_defaults(stack: Any) -> None:
    from kreo_infra.edge.dns import DnsValidatedCertificate

    DnsValidatedCertificate(stack, "cert", domain_name="api.kreo.com", zone_id="Z1")
    resources = synth_stack(stack)["resource"]
    (cert,) = resources["aws_acm_certificate"].values()
    assert cert["validation_method"] == "DNS"
    assert cert["key_algorithm"] == "RSA_2048"
    assert cert["lifecycle"] == {"create_before_destroy": True}
    assert "subject_alternative_names" not in cert
    assert "region" not in cert


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["api.kreo.com"], "list each name once"),
        (["*.kreo.com"], "name each host"),
        (["WWW.kreo.com"], "lowercase, without a trailing dot"),
        (["www.kreo.com."], "lowercase, without a trailing dot"),
    ],
)
def test_certificate_names_validated(stack: Any, names: list[str], message: str) -> None:
    from kreo_infra.edge.dns import DnsValidatedCertificate

    with pytest.raises(PropsError, match=message):
        DnsValidatedCertificate(
            stack, "cert", domain_name="api.kreo.com", alternative_names=names, zone_id="Z1"
        )


# --- CloudFront -------------------------------------------------------------------------------


def settings() -> Any:
    from kreo_infra.edge.cdn import EdgeSettings

    return EdgeSettings(
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/x",
        web_acl_arn="arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y",
        response_headers_policy_id="policy",
        logs_bucket_domain="logs.s3.amazonaws.com",
        price_class="PriceClass_100",
    )


def test_distribution_defaults(stack: Any) -> None:
    from kreo_infra.edge.cdn import S3Distribution

    S3Distribution(
        stack, "cdn", name="media", aliases=["cdn.kreo.com"], origin_domain="b", settings=settings()
    )
    (distribution,) = synth_stack(stack)["resource"]["aws_cloudfront_distribution"].values()
    assert "origin_group" not in distribution
    assert "custom_error_response" not in distribution
    assert "default_root_object" not in distribution
    behaviour = distribution["default_cache_behavior"]
    assert behaviour["target_origin_id"] == "primary"
    assert behaviour["allowed_methods"] == ["GET", "HEAD", "OPTIONS"]


def test_distribution_needs_an_alias(stack: Any) -> None:
    from kreo_infra.edge.cdn import S3Distribution

    with pytest.raises(PropsError, match=r"aliases=.* name at least one host"):
        S3Distribution(stack, "cdn", name="m", aliases=[], origin_domain="b", settings=settings())


def test_security_headers_default_referrer_policy(stack: Any) -> None:
    from kreo_infra.edge.cdn import SecurityHeadersPolicy

    SecurityHeadersPolicy(stack, "headers", name="h")
    (policy,) = synth_stack(stack)["resource"]["aws_cloudfront_response_headers_policy"].values()
    referrer = policy["security_headers_config"]["referrer_policy"]
    assert referrer["referrer_policy"] == "strict-origin-when-cross-origin"
