"""kreo-<env>-edge, asserted on the synthesized JSON of every environment.

A recovery environment's edge makes no CloudFront (distributions, CDN certificate,
CLOUDFRONT web ACL, security headers, logs, web-app sites, alias records) and
creates no API certificate (it reads the one its recovered environment's edge
issues in its DR region): the tests of those are ``own_environments``, and
test_recovery_modes.py asserts what a recovery's edge does instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]

SITES = ("media-cdn", "www-site/cdn", "vendors-site/cdn")


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-edge", config


def one(synthesis: Synthesis, stack: str, kind: str, path: str) -> dict[str, Any]:
    return synthesis.resources(stack, kind)[path]


def distribution(synthesis: Synthesis, stack: str, site: str) -> dict[str, Any]:
    return one(synthesis, stack, "aws_cloudfront_distribution", f"{site}/distribution")


def test_edge_needs_no_other_layer(env: Env) -> None:
    synthesis, stack, _ = env
    assert "terraform_remote_state" not in synthesis.stack(stack).get("data", {})


# --- Route53 ------------------------------------------------------------------------------------


def test_the_domain_zone_is_created_or_looked_up_as_configured(env: Env) -> None:
    synthesis, stack, config = env
    dns = config.dns
    lookups = synthesis.stack(stack).get("data", {}).get("aws_route53_zone", {})
    zones = synthesis.resources(stack, "aws_route53_zone")
    if dns.zone == "create":
        zone = zones["zone/zone"]
        assert zone["name"] == dns.domain
        assert zone["force_destroy"] is False
        assert all(z["name"] != dns.domain for z in lookups.values())
    else:
        assert zones == {}
        assert [z["name"] for z in lookups.values()] == [dns.domain]


def test_a_subdomain_zone_is_delegated_from_its_parent(env: Env) -> None:
    synthesis, stack, config = env
    dns = config.dns
    lookups = synthesis.stack(stack).get("data", {}).get("aws_route53_zone", {})
    records = synthesis.resources(stack, "aws_route53_record")
    if dns.delegate_from is None:
        assert "zone/delegation" not in records
        # No parent looked up: at most the existing zone itself.
        assert len(lookups) == (0 if dns.zone == "create" else 1)
        return
    assert dns.domain.endswith(f".{dns.delegate_from}")
    ((parent_name, parent),) = lookups.items()
    assert parent["name"] == dns.delegate_from
    ns = records["zone/delegation"]
    assert (ns["name"], ns["type"]) == (dns.domain, "NS")
    assert ns["records"] == synthesis.ref(stack, "aws_route53_zone", "zone/zone", "name_servers")
    assert ns["zone_id"] == f"${{data.aws_route53_zone.{parent_name}.zone_id}}"


@pytest.mark.own_environments
def test_alias_records_for_www_vendors_and_cdn(env: Env) -> None:
    synthesis, stack, config = env
    dns = config.dns
    zone_id = synthesis.ref(stack, "aws_route53_zone", "zone/zone", "zone_id")
    expected = {
        "cdn-record": (dns.cdn_fqdn, "media-cdn"),
        "www-record": (dns.www_fqdn, "www-site/cdn"),
        "vendors-record": (dns.vendors_fqdn, "vendors-site/cdn"),
    }
    records = synthesis.resources(stack, "aws_route53_record")
    for record_id, (name, site) in expected.items():
        target = synthesis.ref(
            stack, "aws_cloudfront_distribution", f"{site}/distribution", "domain_name"
        )
        for record_type in ("a", "aaaa"):
            record = records[f"zone/{record_id}-{record_type}"]
            assert (record["name"], record["type"]) == (name, record_type.upper())
            assert record["zone_id"] == zone_id
            assert record["alias"] == {
                "name": target,
                "zone_id": "Z2FDTNDATAQYW2",
                "evaluate_target_health": False,
            }


def test_the_api_record_is_left_to_external_dns(env: Env) -> None:
    synthesis, stack, config = env
    names = {r["name"] for r in synthesis.resources(stack, "aws_route53_record").values()}
    assert config.dns.api_fqdn not in names


# --- ACM ----------------------------------------------------------------------------------------


def assert_dns_validated(synthesis: Synthesis, stack: str, cert_id: str) -> dict[str, Any]:
    cert = one(synthesis, stack, "aws_acm_certificate", f"{cert_id}/certificate")
    assert cert["validation_method"] == "DNS"
    records = one(synthesis, stack, "aws_route53_record", f"{cert_id}/validation-records")
    options = synthesis.ref(
        stack, "aws_acm_certificate", f"{cert_id}/certificate", "domain_validation_options"
    )
    assert options.removeprefix("${").removesuffix("}") in records["for_each"]
    assert records["zone_id"] == synthesis.ref(stack, "aws_route53_zone", "zone/zone", "zone_id")
    assert records["name"] == "${each.value.resource_record_name}"
    validation = one(synthesis, stack, "aws_acm_certificate_validation", f"{cert_id}/validation")
    assert validation["certificate_arn"] == synthesis.ref(
        stack, "aws_acm_certificate", f"{cert_id}/certificate", "arn"
    )
    record_id = records["//"]["metadata"]["uniqueId"]
    assert f"aws_route53_record.{record_id}" in validation["validation_record_fqdns"]
    return cert


@pytest.mark.own_environments
def test_api_certificate_in_the_cluster_region(env: Env) -> None:
    synthesis, stack, config = env
    cert = assert_dns_validated(synthesis, stack, "api-certificate")
    assert cert["domain_name"] == config.dns.api_fqdn
    assert "region" not in cert  # the stack's provider region: config.region, the ALB's
    assert "subject_alternative_names" not in cert


@pytest.mark.own_environments
def test_cdn_certificate_in_us_east_1(env: Env) -> None:
    synthesis, stack, config = env
    cert = assert_dns_validated(synthesis, stack, "cdn-certificate")
    dns = config.dns
    assert cert["region"] == "us-east-1"
    assert cert["domain_name"] == dns.www_fqdn
    assert cert["subject_alternative_names"] == [dns.vendors_fqdn, dns.cdn_fqdn]
    validation = one(
        synthesis, stack, "aws_acm_certificate_validation", "cdn-certificate/validation"
    )
    assert validation["region"] == "us-east-1"


# --- CloudFront ---------------------------------------------------------------------------------


@pytest.mark.own_environments
@pytest.mark.parametrize("site", SITES)
def test_every_distribution_is_https_only_with_tls_1_2(env: Env, site: str) -> None:
    synthesis, stack, _ = env
    d = distribution(synthesis, stack, site)
    assert d["viewer_certificate"] == {
        "acm_certificate_arn": synthesis.ref(
            stack, "aws_acm_certificate_validation", "cdn-certificate/validation", "certificate_arn"
        ),
        "ssl_support_method": "sni-only",
        "minimum_protocol_version": "TLSv1.2_2021",
    }
    behaviour = d["default_cache_behavior"]
    assert behaviour["viewer_protocol_policy"] == "redirect-to-https"
    assert behaviour["compress"] is True
    assert behaviour["allowed_methods"] == ["GET", "HEAD", "OPTIONS"]
    policy_id = behaviour["cache_policy_id"]
    (lookup,) = [
        body
        for name, body in synthesis.stack(stack)["data"]["aws_cloudfront_cache_policy"].items()
        if policy_id == f"${{data.aws_cloudfront_cache_policy.{name}.id}}"
    ]
    assert lookup["name"] == "Managed-CachingOptimized"
    assert behaviour["response_headers_policy_id"] == synthesis.ref(
        stack, "aws_cloudfront_response_headers_policy", "security-headers/policy", "id"
    )
    assert d["enabled"] is True
    assert d["is_ipv6_enabled"] is True


@pytest.mark.own_environments
@pytest.mark.parametrize("site", SITES)
def test_every_distribution_is_behind_the_cloudfront_waf_and_logged(env: Env, site: str) -> None:
    synthesis, stack, _ = env
    d = distribution(synthesis, stack, site)
    assert d["web_acl_id"] == synthesis.ref(stack, "aws_wafv2_web_acl", "cdn-waf/acl", "arn")
    assert d["logging_config"]["bucket"] == synthesis.ref(
        stack, "aws_s3_bucket", "cdn-logs/bucket", "bucket_domain_name"
    )
    assert d["logging_config"]["include_cookies"] is False


@pytest.mark.own_environments
@pytest.mark.parametrize("site", SITES)
def test_every_origin_is_signed_by_origin_access_control(env: Env, site: str) -> None:
    synthesis, stack, _ = env
    d = distribution(synthesis, stack, site)
    oac_path = f"{site}/origin-access-control"
    oac = one(synthesis, stack, "aws_cloudfront_origin_access_control", oac_path)
    assert (oac["origin_access_control_origin_type"], oac["signing_behavior"]) == ("s3", "always")
    assert oac["signing_protocol"] == "sigv4"
    oac_id = synthesis.ref(stack, "aws_cloudfront_origin_access_control", oac_path, "id")
    assert d["origin"]
    for origin in d["origin"]:
        assert origin["origin_access_control_id"] == oac_id
        assert "s3_origin_config" not in origin  # no legacy origin access identity
        assert "custom_origin_config" not in origin


@pytest.mark.own_environments
def test_media_cdn_serves_the_media_bucket(env: Env) -> None:
    synthesis, stack, config = env
    d = distribution(synthesis, stack, "media-cdn")
    assert d["aliases"] == [config.dns.cdn_fqdn]
    primary = f"{config.storage.media_bucket}.s3.{config.region}.amazonaws.com"
    assert d["origin"][0]["domain_name"] == primary
    assert "custom_error_response" not in d


@pytest.mark.own_environments
def test_media_fails_over_to_the_dr_copy_when_replicated(env: Env) -> None:
    synthesis, stack, config = env
    d = distribution(synthesis, stack, "media-cdn")
    if not config.storage.replicate_to_dr_region:
        assert len(d["origin"]) == 1
        assert "origin_group" not in d
        return
    dr = f"{config.storage.media_bucket}-dr.s3.{config.dr_region}.amazonaws.com"
    assert [o["domain_name"] for o in d["origin"]][1] == dr
    (group,) = d["origin_group"]
    # Failing, or missing the object (what a rebuild wrote to the DR copy only).
    assert group["failover_criteria"]["status_codes"] == [403, 404, 500, 502, 503, 504]
    assert [m["origin_id"] for m in group["member"]] == ["primary", "failover"]
    assert d["default_cache_behavior"]["target_origin_id"] == group["origin_id"]


@pytest.mark.own_environments
@pytest.mark.parametrize("site", ["www", "vendors"])
def test_web_apps_are_single_page_apps(env: Env, site: str) -> None:
    synthesis, stack, config = env
    d = distribution(synthesis, stack, f"{site}-site/cdn")
    assert d["aliases"] == [getattr(config.dns, f"{site}_fqdn")]
    assert d["default_root_object"] == "index.html"
    assert {
        (e["error_code"], e["response_code"], e["response_page_path"])
        for e in d["custom_error_response"]
    } == {(403, 200, "/index.html"), (404, 200, "/index.html")}
    bucket = getattr(config.edge, f"{site}_bucket")
    assert d["origin"][0]["domain_name"] == f"{bucket}.s3.{config.region}.amazonaws.com"


@pytest.mark.own_environments
@pytest.mark.parametrize("site", ["www", "vendors"])
def test_web_app_buckets_are_private_versioned_and_encrypted(env: Env, site: str) -> None:
    synthesis, stack, config = env
    path = f"{site}-site/bucket"
    bucket = one(synthesis, stack, "aws_s3_bucket", f"{path}/bucket")
    assert bucket["bucket"] == getattr(config.edge, f"{site}_bucket")
    bucket_id = synthesis.ref(stack, "aws_s3_bucket", f"{path}/bucket", "id")
    block = one(
        synthesis, stack, "aws_s3_bucket_public_access_block", f"{path}/public-access-block"
    )
    assert block["bucket"] == bucket_id
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls")
    assert all(block[k] is True for k in (*flags, "restrict_public_buckets"))
    versioning = one(synthesis, stack, "aws_s3_bucket_versioning", f"{path}/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    sse = one(
        synthesis, stack, "aws_s3_bucket_server_side_encryption_configuration", f"{path}/encryption"
    )
    (rule,) = sse["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == synthesis.ref(
        stack, "aws_kms_key", f"{site}-site/key/key", "arn"
    )


def allow_statements(policy: str) -> list[dict[str, Any]]:
    return [s for s in json.loads(policy)["Statement"] if s["Effect"] == "Allow"]


@pytest.mark.own_environments
@pytest.mark.parametrize("site", ["www", "vendors"])
def test_only_its_distribution_reads_and_decrypts_a_web_app(env: Env, site: str) -> None:
    synthesis, stack, _ = env
    arn = synthesis.ref(
        stack, "aws_cloudfront_distribution", f"{site}-site/cdn/distribution", "arn"
    )
    policy = one(synthesis, stack, "aws_s3_bucket_policy", f"{site}-site/bucket/policy")
    (read,) = allow_statements(policy["policy"])
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": [arn]}}
    key = one(synthesis, stack, "aws_kms_key", f"{site}-site/key/key")
    statements = allow_statements(key["policy"])
    (decrypt,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"AWS:SourceArn": [arn]}}


@pytest.mark.own_environments
def test_security_headers_from_the_seed(env: Env) -> None:
    synthesis, stack, _ = env
    policy = one(
        synthesis, stack, "aws_cloudfront_response_headers_policy", "security-headers/policy"
    )
    headers = policy["security_headers_config"]
    assert headers["strict_transport_security"] == {
        "access_control_max_age_sec": 31536000,
        "include_subdomains": True,
        "preload": False,
        "override": True,
    }
    assert headers["frame_options"] == {"frame_option": "SAMEORIGIN", "override": True}
    assert headers["content_type_options"] == {"override": True}
    assert headers["xss_protection"] == {"protection": True, "mode_block": True, "override": True}
    assert headers["referrer_policy"] == {
        "referrer_policy": "strict-origin-when-cross-origin",
        "override": True,
    }


@pytest.mark.own_environments
def test_cdn_logs_bucket_accepts_cloudfront_logs(env: Env) -> None:
    synthesis, stack, config = env
    bucket = one(synthesis, stack, "aws_s3_bucket", "cdn-logs/bucket")
    assert bucket["bucket"] == config.edge.logs_bucket
    ownership = one(synthesis, stack, "aws_s3_bucket_ownership_controls", "cdn-logs/ownership")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerPreferred"
    lifecycle = one(synthesis, stack, "aws_s3_bucket_lifecycle_configuration", "cdn-logs/lifecycle")
    (rule,) = lifecycle["rule"]
    assert rule["expiration"] == [{"days": config.edge.logs_expiry_days}]


# --- WAF ----------------------------------------------------------------------------------------


def assert_managed_rules_and_rate_limit(
    acl: dict[str, Any], scope: str, config: EnvironmentConfig
) -> None:
    assert acl["scope"] == scope
    assert acl.get("region") == ("us-east-1" if scope == "CLOUDFRONT" else None)
    assert acl["default_action"] == {"allow": {}}
    rules = {r["name"]: r for r in acl["rule"]}
    for group in (
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ):
        rule = rules[group]
        assert rule["statement"] == {
            "managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}
        }
        assert rule["override_action"] == {"none": {}}  # the group's own block actions apply
    rate = rules["rate-limit-per-client-ip"]
    limit = config.application.edge_rate_limit
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rate_based_statement"] == {
        "aggregate_key_type": "IP",
        "limit": limit.requests_per_second * limit.evaluation_window_seconds + limit.burst,
        "evaluation_window_sec": limit.evaluation_window_seconds,
    }
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])
    assert rate["priority"] == max(r["priority"] for r in acl["rule"])


def test_api_web_acl_managed_rules_and_rate_limit(env: Env) -> None:
    synthesis, stack, config = env
    acl = one(synthesis, stack, "aws_wafv2_web_acl", "regional-waf/acl")
    assert_managed_rules_and_rate_limit(acl, "REGIONAL", config)


@pytest.mark.own_environments
def test_cdn_web_acl_managed_rules_and_rate_limit(env: Env) -> None:
    synthesis, stack, config = env
    acl = one(synthesis, stack, "aws_wafv2_web_acl", "cdn-waf/acl")
    assert_managed_rules_and_rate_limit(acl, "CLOUDFRONT", config)


def test_only_the_api_acl_blocks_the_metrics_path(env: Env) -> None:
    """The services serve /metrics on the API port, which the ALB routes from the
    internet; CloudFront fronts only the web apps and media."""
    synthesis, stack, _ = env
    acls = synthesis.resources(stack, "aws_wafv2_web_acl")
    api = acls.pop("regional-waf/acl")
    (private,) = [r for r in api["rule"] if r["name"] == "private-paths"]
    match = private["statement"]["byte_match_statement"]
    assert (match["search_string"], match["positional_constraint"]) == ("/metrics", "STARTS_WITH")
    assert private["priority"] == 0
    # Every other ACL (the CloudFront one, where the environment has distributions).
    assert set(acls) <= {"cdn-waf/acl"}
    for acl in acls.values():
        assert "private-paths" not in [r["name"] for r in acl["rule"]]


def assert_waf_logs(
    synthesis: Synthesis, stack: str, config: EnvironmentConfig, acl_id: str
) -> None:
    logging = one(synthesis, stack, "aws_wafv2_web_acl_logging_configuration", f"{acl_id}/logging")
    assert logging["resource_arn"] == synthesis.ref(
        stack, "aws_wafv2_web_acl", f"{acl_id}/acl", "arn"
    )
    group_path = f"{acl_id}/logs/group"
    assert logging["log_destination_configs"] == [
        synthesis.ref(stack, "aws_cloudwatch_log_group", group_path, "arn")
    ]
    redacted = [f["single_header"]["name"] for f in logging["redacted_fields"]]
    assert "authorization" in redacted
    group = one(synthesis, stack, "aws_cloudwatch_log_group", group_path)
    assert group["name"].startswith("aws-waf-logs-")
    assert group["retention_in_days"] == config.edge.waf_log_retention_days
    assert group["kms_key_id"] == synthesis.ref(
        stack, "aws_kms_key", f"{acl_id}/logs/key/key", "arn"
    )


def test_api_waf_logs_with_retention_and_redaction(env: Env) -> None:
    synthesis, stack, config = env
    assert_waf_logs(synthesis, stack, config, "regional-waf")


@pytest.mark.own_environments
def test_cdn_waf_logs_with_retention_and_redaction(env: Env) -> None:
    synthesis, stack, config = env
    assert_waf_logs(synthesis, stack, config, "cdn-waf")


# --- Outputs and the media bucket of the data layer ---------------------------------------------


def api_certificate_arn(synthesis: Synthesis, stack: str, config: EnvironmentConfig) -> str:
    """The API certificate the load balancer serves: the edge's own once validated, or
    (a recovery) the lookup of the one its recovered environment's edge issued here."""
    if config.recovery_of is None:
        return synthesis.ref(
            stack, "aws_acm_certificate_validation", "api-certificate/validation", "certificate_arn"
        )
    (name,) = synthesis.stack(stack)["data"]["aws_acm_certificate"]
    return f"${{data.aws_acm_certificate.{name}.arn}}"


def test_outputs_for_the_app_layer(env: Env) -> None:
    synthesis, stack, config = env
    outputs = synthesis.stack(stack)["output"]
    assert outputs["api-certificate-arn"]["value"] == api_certificate_arn(synthesis, stack, config)
    assert outputs["regional-web-acl-arn"]["value"] == synthesis.ref(
        stack, "aws_wafv2_web_acl", "regional-waf/acl", "arn"
    )
    assert outputs["media-cdn-domain"]["value"] == config.dns.cdn_fqdn


def test_the_dr_api_certificate_where_the_environment_is_recoverable(env: Env) -> None:
    """A recoverable environment's edge issues its API certificate in its DR region
    too, in peacetime, for its recovery's load balancer there (validation needs
    Route 53's control plane, in the region a recovery has lost); it is validated by
    the API certificate's own records: ACM gives a name the same record in every
    region, so a second set would collide with the first."""
    synthesis, stack, config = env
    certificates = synthesis.resources(stack, "aws_acm_certificate")
    outputs = synthesis.stack(stack)["output"]
    if not config.recoverable:
        assert "dr-api-certificate/certificate" not in certificates
        assert "dr-api-certificate-arn" not in outputs
        return
    api, dr = (
        certificates["api-certificate/certificate"],
        certificates["dr-api-certificate/certificate"],
    )
    assert dr["region"] == config.dr_region != config.region
    assert (dr["domain_name"], dr["validation_method"]) == (config.dns.api_fqdn, "DNS")
    assert dr["key_algorithm"] == api["key_algorithm"]
    assert "subject_alternative_names" not in dr
    validation = one(
        synthesis, stack, "aws_acm_certificate_validation", "dr-api-certificate/validation"
    )
    assert validation["region"] == config.dr_region
    assert validation["certificate_arn"] == synthesis.ref(
        stack, "aws_acm_certificate", "dr-api-certificate/certificate", "arn"
    )
    api_fqdns = synthesis.ref(
        stack,
        "aws_acm_certificate_validation",
        "api-certificate/validation",
        "validation_record_fqdns",
    )
    assert api_fqdns.removeprefix("${").removesuffix("}") in validation["validation_record_fqdns"]
    records = synthesis.resources(stack, "aws_route53_record")
    assert [p for p in records if p.startswith("dr-api-certificate/")] == []
    assert outputs["dr-api-certificate-arn"]["value"] == synthesis.ref(
        stack, "aws_acm_certificate_validation", "dr-api-certificate/validation", "certificate_arn"
    )


@pytest.mark.own_environments
def test_media_bucket_and_key_admit_only_the_media_cdn(env: Env) -> None:
    synthesis, _, config = env
    data = f"{config.stack_prefix}-data"
    paths = [("storage/media/policy", "storage/key/key")]
    if config.storage.replicate_to_dr_region:
        paths.append(("storage/replica/policy", "storage/replica-key/key"))
    for policy_path, key_path in paths:
        policy = one(synthesis, data, "aws_s3_bucket_policy", policy_path)
        (read,) = [
            s
            for s in allow_statements(policy["policy"])
            if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        ]
        (arn,) = read["Condition"]["StringEquals"]["AWS:SourceArn"]
        # The edge stack's media distribution, through a cross-stack reference.
        assert arn.startswith(
            f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-edge"
        )
        key = one(synthesis, data, "aws_kms_key", key_path)
        (decrypt,) = [
            s
            for s in allow_statements(key["policy"])
            if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        ]
        assert decrypt["Condition"] == {"StringEquals": {"AWS:SourceArn": [arn]}}
    edge_outputs = synthesis.stack(f"{config.stack_prefix}-edge")["output"]
    output = arn.split(".outputs.")[1].rstrip("}")
    assert edge_outputs[output]["value"] == synthesis.ref(
        f"{config.stack_prefix}-edge",
        "aws_cloudfront_distribution",
        "media-cdn/distribution",
        "arn",
    )
