"""``kreo-<env>-edge``: DNS, certificates, CloudFront and WAF in front of everything public."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_acm_certificate import DataAwsAcmCertificate
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from kreo_infra.config import EnvironmentConfig
from kreo_infra.edge.cdn import EdgeSettings, S3Distribution, SecurityHeadersPolicy, StaticSite
from kreo_infra.edge.dns import DnsValidatedCertificate, PublicZone
from kreo_infra.edge.waf import CLOUDFRONT_REGION, RateLimit, WebAcl, rate_limit_per_window
from kreo_infra.errors import PropsError
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import EdgeOutputs
from kreo_infra.storage.buckets import PrivateBucket, replica_bucket_name, s3_origin_domain
from kreo_infra.workloads import METRICS_PATH

PARENT_ZONE_PROFILE = "kreo-parent-zone"
"""The AWS profile the parent-zone provider uses (``make plan`` / ``apply-plan`` write it)."""

PARENT_ZONE_CONFIG = "parent-zone.aws-config"
"""The shared config file holding that profile, in the stack's directory (never in a
plan bundle: each job writes its own)."""


class EdgeStack(KreoStack):
    """The public zone, the API and CDN certificates, the two web ACLs, and the
    CloudFront distributions of the media bucket and the two web apps.

    It needs no other layer: it comes before the cluster (whose external-dns
    and cert-manager roles are scoped to this zone) and the data layer (whose
    media bucket admits this media CDN only). Records: ``www``, ``vendors`` and
    ``cdn`` are this stack's; ``api`` belongs to external-dns, which publishes
    it from the marketplace Ingress (docs/decisions.md, "DNS record owners").
    Where the environment is ``recoverable``, the API certificate is also issued
    in its DR region, for its recovery.

    A recovery environment's edge (``recovery_of``, decision 78) makes only the
    regional web ACL: it looks up the recovered environment's zone and its API
    certificate in this region, and reuses its distributions, CDN certificate and
    CLOUDFRONT web ACL (global things, their control planes in us-east-1).

    Later layers read :class:`EdgeOutputs` (``outputs``) only.
    """

    layer = "edge"

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        parent_zone_account_id: str | None = None,
    ) -> None:
        super().__init__(scope, config=config)
        name = config.stack_prefix
        dns, edge, aws = config.dns, config.edge, self.account

        self.zone = PublicZone(
            self,
            "zone",
            domain=dns.domain,
            create=dns.zone == "create",
            delegate_from=dns.delegate_from,
            parent_provider=(
                self._parent_zone_provider(parent_zone_account_id)
                if dns.delegate_from and parent_zone_account_id != config.account_id
                else None
            ),
        )
        self.api_certificate: DnsValidatedCertificate | None = None
        self.dr_api_certificate: DnsValidatedCertificate | None = None
        if config.recovery_of is None:
            self.api_certificate = DnsValidatedCertificate(
                self, "api-certificate", domain_name=dns.api_fqdn, zone_id=self.zone.zone_id
            )
            api_certificate_arn = self.api_certificate.arn
        else:
            # Issued in peacetime by the recovered environment's edge (below): a
            # regional read here, where validating anew would write to Route 53.
            api_certificate_arn = DataAwsAcmCertificate(
                self, "api-certificate", domain=dns.api_fqdn, statuses=["ISSUED"], most_recent=True
            ).arn
        if config.recoverable:
            # The API certificate of the environment's recovery, in the DR region,
            # validated by the same records (docs/decisions.md, "Region recovery").
            self.dr_api_certificate = DnsValidatedCertificate(
                self,
                "dr-api-certificate",
                domain_name=dns.api_fqdn,
                region=config.dr_region,
                validated_by=self.api_certificate,
            )

        edge_limit = config.application.edge_rate_limit
        rate_limit = RateLimit(
            limit=rate_limit_per_window(
                requests_per_second=edge_limit.requests_per_second,
                burst=edge_limit.burst,
                window_seconds=edge_limit.evaluation_window_seconds,
            ),
            window_seconds=edge_limit.evaluation_window_seconds,
        )
        waf = {"rate_limit": rate_limit, "log_retention_days": edge.waf_log_retention_days}
        # The services serve their Prometheus metrics on the API port: the
        # cluster scrapes them, the internet may not.
        self.regional_waf = WebAcl(
            self, "regional-waf", name=f"{name}-api", scope_kind="REGIONAL", account=aws,
            private_path_prefixes=[METRICS_PATH], **waf,
        )  # fmt: skip
        self.media_cdn: S3Distribution | None = None
        self.sites: dict[str, StaticSite] = {}
        if config.recovery_of is None:
            self._content_delivery(waf)
        media, sites = self.media_cdn, self.sites
        self.publish(
            EdgeOutputs(
                zone_id=self.zone.zone_id,
                zone_name_servers=self.zone.name_servers,
                api_certificate_arn=api_certificate_arn,
                regional_web_acl_arn=self.regional_waf.arn,
                media_cdn_domain=dns.cdn_fqdn,
                media_distribution_arn=media.arn if media else None,
                media_distribution_domain=media.domain_name if media else None,
                www_bucket=edge.www_bucket if sites else None,
                www_distribution_id=sites["www-site"].cdn.distribution.id if sites else None,
                vendors_bucket=edge.vendors_bucket if sites else None,
                vendors_distribution_id=(
                    sites["vendors-site"].cdn.distribution.id if sites else None
                ),
                media_distribution_id=media.distribution.id if media else None,
                dr_api_certificate_arn=(
                    self.dr_api_certificate.arn if self.dr_api_certificate else None
                ),
            )
        )

    def _content_delivery(self, waf: dict) -> None:
        """The CDN certificate and web ACL (us-east-1), the security headers, the
        CloudFront logs, the media and web-app distributions and their records:
        global things a recovery environment reuses, never makes (their control
        planes are in us-east-1, and the aliases are the recovered environment's)."""
        config, aws = self.config, self.account
        name, dns, edge = config.stack_prefix, config.dns, config.edge
        self.cdn_certificate = DnsValidatedCertificate(
            self,
            "cdn-certificate",
            domain_name=dns.www_fqdn,
            alternative_names=[dns.vendors_fqdn, dns.cdn_fqdn],
            zone_id=self.zone.zone_id,
            region=CLOUDFRONT_REGION,
        )
        self.cdn_waf = WebAcl(
            self, "cdn-waf", name=f"{name}-cdn", scope_kind="CLOUDFRONT", account=aws, **waf
        )
        headers = SecurityHeadersPolicy(self, "security-headers", name=f"{name}-security-headers")

        self.cdn_logs = PrivateBucket(
            self,
            "cdn-logs",
            name=edge.logs_bucket,
            noncurrent_version_expiry_days=1,
            expire_current_days=edge.logs_expiry_days,
            object_ownership="BucketOwnerPreferred",
        )
        settings = EdgeSettings(
            certificate_arn=self.cdn_certificate.arn,
            web_acl_arn=self.cdn_waf.arn,
            response_headers_policy_id=headers.id,
            logs_bucket_domain=self.cdn_logs.bucket.bucket_domain_name,
            price_class=edge.price_class,
        )

        storage = config.storage
        self.media_cdn = S3Distribution(
            self,
            "media-cdn",
            name=f"{name}-media",
            aliases=[dns.cdn_fqdn],
            origin_domain=s3_origin_domain(storage.media_bucket, config.region),
            failover_origin_domain=(
                s3_origin_domain(replica_bucket_name(storage.media_bucket), config.dr_region)
                if storage.replicate_to_dr_region
                else None
            ),
            settings=settings,
        )
        sites = {
            "www-site": (dns.www_fqdn, edge.www_bucket, f"{name}-www"),
            "vendors-site": (dns.vendors_fqdn, edge.vendors_bucket, f"{name}-vendors"),
        }
        self.sites = {
            site_id: StaticSite(
                self,
                site_id,
                name=site_name,
                host=host,
                bucket_name=bucket,
                noncurrent_version_expiry_days=edge.web_noncurrent_version_expiry_days,
                settings=settings,
                account=aws,
            )
            for site_id, (host, bucket, site_name) in sites.items()
        }

        self.zone.alias_to_cloudfront(
            "cdn-record", name=dns.cdn_fqdn, distribution_domain=self.media_cdn.domain_name
        )
        for site_id, site in self.sites.items():
            self.zone.alias_to_cloudfront(
                site_id.replace("-site", "-record"),
                name=sites[site_id][0],
                distribution_domain=site.cdn.domain_name,
            )

    def _parent_zone_provider(self, parent_account_id: str | None) -> AwsProvider:
        """An AWS provider (alias ``parent-zone``) in the parent zone's account, as the
        profile :data:`PARENT_ZONE_PROFILE` of the file :data:`PARENT_ZONE_CONFIG`
        beside the stack says: a role the parent's bootstrap grants this environment
        (delivery.zone_delegation). The job, not the plan, picks the role: ``make
        plan`` writes the reader role there, ``make apply-plan``/``deploy`` the
        delegation role, so a saved plan made read-only applies with the role that
        may write the NS record (a plan file carries its provider configuration)."""
        config = self.config
        if parent_account_id is None:
            raise PropsError(
                "EdgeStack", "parent_zone_account_id", None,
                f"name the account of {config.dns.delegate_from}'s zone",
            )  # fmt: skip
        return AwsProvider(
            self,
            "aws-parent-zone",
            alias="parent-zone",
            region=config.region,
            allowed_account_ids=[parent_account_id],
            profile=PARENT_ZONE_PROFILE,
            shared_config_files=[PARENT_ZONE_CONFIG],
            default_tags=[AwsProviderDefaultTags(tags=self._tags)],
        )
