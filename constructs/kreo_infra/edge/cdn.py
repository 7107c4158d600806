"""CloudFront: private S3 origins behind origin access control, security headers,
and the static hosting of the two web apps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudfront_distribution import (
    CloudfrontDistribution,
    CloudfrontDistributionCustomErrorResponse,
    CloudfrontDistributionDefaultCacheBehavior,
    CloudfrontDistributionLoggingConfig,
    CloudfrontDistributionOrigin,
    CloudfrontDistributionOriginGroup,
    CloudfrontDistributionOriginGroupFailoverCriteria,
    CloudfrontDistributionOriginGroupMember,
    CloudfrontDistributionRestrictions,
    CloudfrontDistributionRestrictionsGeoRestriction,
    CloudfrontDistributionViewerCertificate,
)
from cdktf_cdktf_provider_aws.cloudfront_origin_access_control import (
    CloudfrontOriginAccessControl,
)
from cdktf_cdktf_provider_aws.cloudfront_response_headers_policy import (
    CloudfrontResponseHeadersPolicy,
    CloudfrontResponseHeadersPolicySecurityHeadersConfig,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection,
)
from cdktf_cdktf_provider_aws.data_aws_cloudfront_cache_policy import (
    DataAwsCloudfrontCachePolicy,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.kms import RotatingKey
from kreo_infra.storage.buckets import (
    PrivateBucket,
    cloudfront_decrypts,
    cloudfront_reads_objects,
    s3_origin_domain,
)

MINIMUM_TLS = "TLSv1.2_2021"
"""The strictest CloudFront security policy: TLS 1.2+ with forward-secret ciphers only
(the seed's NGINX allowed TLS 1.2 and 1.3 with HIGH ciphers)."""

CACHE_POLICY = "Managed-CachingOptimized"
"""AWS's managed policy for static content: long TTLs, gzip/brotli, no cookies or query."""

HSTS_MAX_AGE_SECONDS = 31536000
"""Seed NGINX: ``Strict-Transport-Security "max-age=31536000; includeSubDomains"``."""

FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
"""Origin answers that send a request to the failover origin instead: the primary
failing, and the primary not having the object (403: S3's answer for a missing key
when CloudFront may not list the bucket), which is the case for media a region's
rebuild wrote to the DR copy while the primary region answers again (decision 78)."""

SPA_FALLBACK_CODES = (403, 404)
"""S3 answers 403 for a missing key when CloudFront may not list the bucket."""

READ_ONLY_METHODS = ["GET", "HEAD", "OPTIONS"]


class SecurityHeadersPolicy(Construct):
    """A response-headers policy with the seed's NGINX security headers.

    HSTS for a year including sub-domains, ``X-Frame-Options: SAMEORIGIN``,
    ``X-Content-Type-Options: nosniff``, ``X-XSS-Protection: 1; mode=block``,
    and ``Referrer-Policy: strict-origin-when-cross-origin`` (full URLs stay on
    the site; other origins see the origin only, never over HTTP). Every
    header overrides what an origin sends.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        referrer_policy: str = "strict-origin-when-cross-origin",
    ) -> None:
        super().__init__(scope, id)
        self.policy = CloudfrontResponseHeadersPolicy(
            self,
            "policy",
            name=name,
            comment="Security headers of the seed's NGINX configuration",
            security_headers_config=CloudfrontResponseHeadersPolicySecurityHeadersConfig(
                strict_transport_security=CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                    include_subdomains=True,
                    preload=False,  # preloading is a one-way door; decide it consciously
                    override=True,
                ),
                frame_options=CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions(
                    frame_option="SAMEORIGIN", override=True
                ),
                content_type_options=CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions(
                    override=True
                ),
                xss_protection=CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection(
                    protection=True, mode_block=True, override=True
                ),
                referrer_policy=CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy(
                    referrer_policy=referrer_policy, override=True
                ),
            ),
        )

    @property
    def id(self) -> str:  # type: ignore[override]
        return self.policy.id


@dataclass(frozen=True)
class EdgeSettings:
    """What every distribution of an environment shares.

    ``certificate_arn`` must be an ACM certificate in us-east-1 covering the
    aliases; ``logs_bucket_domain`` is the ``<bucket>.s3.amazonaws.com`` name
    of the CloudFront access-log bucket.
    """

    certificate_arn: str
    web_acl_arn: str
    response_headers_policy_id: str
    logs_bucket_domain: str
    price_class: str


class S3Distribution(Construct):
    """A CloudFront distribution of private S3 origins reached through OAC.

    HTTPS only (HTTP redirects), TLS 1.2_2021 minimum, SNI, HTTP/2 and 3, IPv6,
    compression, the managed CachingOptimized policy, the security-headers
    policy, the web ACL, and access logs under ``<name>/``. Read-only methods.

    ``failover_origin_domain`` adds a second bucket (e.g. the DR copy) tried on
    5xx; ``single_page_app`` serves ``index.html`` at ``/`` and for unknown
    paths (403/404 from S3) with status 200, so client-side routes work.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        aliases: Sequence[str],
        origin_domain: str,
        settings: EdgeSettings,
        failover_origin_domain: str | None = None,
        single_page_app: bool = False,
    ) -> None:
        if not aliases:
            raise PropsError("S3Distribution", "aliases", aliases, "name at least one host")
        super().__init__(scope, id)
        self.oac = CloudfrontOriginAccessControl(
            self,
            "origin-access-control",
            name=name,
            description=f"CloudFront signs its requests to the {name} buckets",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        )
        cache_policy = DataAwsCloudfrontCachePolicy(self, "cache-policy", name=CACHE_POLICY)
        primary_id = "primary"
        origins = [
            CloudfrontDistributionOrigin(
                origin_id=primary_id,
                domain_name=origin_domain,
                origin_access_control_id=self.oac.id,
            )
        ]
        groups = None
        target = primary_id
        if failover_origin_domain is not None:
            origins.append(
                CloudfrontDistributionOrigin(
                    origin_id="failover",
                    domain_name=failover_origin_domain,
                    origin_access_control_id=self.oac.id,
                )
            )
            target = "primary-with-failover"
            groups = [
                CloudfrontDistributionOriginGroup(
                    origin_id=target,
                    failover_criteria=CloudfrontDistributionOriginGroupFailoverCriteria(
                        status_codes=list(FAILOVER_STATUS_CODES)
                    ),
                    member=[
                        CloudfrontDistributionOriginGroupMember(origin_id=primary_id),
                        CloudfrontDistributionOriginGroupMember(origin_id="failover"),
                    ],
                )
            ]
        errors = (
            [
                CloudfrontDistributionCustomErrorResponse(
                    error_code=code,
                    response_code=200,
                    response_page_path="/index.html",
                    error_caching_min_ttl=10,
                )
                for code in SPA_FALLBACK_CODES
            ]
            if single_page_app
            else None
        )
        self.distribution = CloudfrontDistribution(
            self,
            "distribution",
            comment=name,
            enabled=True,
            aliases=list(aliases),
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=settings.price_class,
            web_acl_id=settings.web_acl_arn,
            default_root_object="index.html" if single_page_app else None,
            origin=origins,
            origin_group=groups,
            custom_error_response=errors,
            default_cache_behavior=CloudfrontDistributionDefaultCacheBehavior(
                target_origin_id=target,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=READ_ONLY_METHODS,
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=cache_policy.id,
                response_headers_policy_id=settings.response_headers_policy_id,
            ),
            viewer_certificate=CloudfrontDistributionViewerCertificate(
                acm_certificate_arn=settings.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MINIMUM_TLS,
            ),
            restrictions=CloudfrontDistributionRestrictions(
                geo_restriction=CloudfrontDistributionRestrictionsGeoRestriction(
                    restriction_type="none"
                )
            ),
            logging_config=CloudfrontDistributionLoggingConfig(
                bucket=settings.logs_bucket_domain, prefix=f"{name}/", include_cookies=False
            ),
        )

    @property
    def arn(self) -> str:
        return self.distribution.arn

    @property
    def domain_name(self) -> str:
        return self.distribution.domain_name


class StaticSite(Construct):
    """A web app's build served from a private bucket through CloudFront.

    The bucket is a :class:`PrivateBucket` (versioned: a bad upload is rolled
    back by restoring the previous versions) encrypted with a key of its own;
    the bucket policy lets this distribution read objects and nothing else
    read anything, and the key policy lets this distribution decrypt.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        host: str,
        bucket_name: str,
        noncurrent_version_expiry_days: int,
        settings: EdgeSettings,
        account: AwsAccount,
    ) -> None:
        super().__init__(scope, id)
        bucket_arn = f"arn:{account.partition}:s3:::{bucket_name}"
        self.cdn = S3Distribution(
            self,
            "cdn",
            name=name,
            aliases=[host],
            origin_domain=s3_origin_domain(bucket_name, account.region),
            settings=settings,
            single_page_app=True,
        )
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}",
            description=f"Encrypts the static files of {host}",
            account=account,
            statements=[cloudfront_decrypts([self.cdn.arn])],
        )
        self.bucket = PrivateBucket(
            self,
            "bucket",
            name=bucket_name,
            noncurrent_version_expiry_days=noncurrent_version_expiry_days,
            kms_key_arn=self.key.arn,
            extra_statements=(cloudfront_reads_objects(bucket_arn, [self.cdn.arn]),),
        )
