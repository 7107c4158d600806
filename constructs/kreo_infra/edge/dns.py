"""Route53: the environment's public zone, its delegation, alias records, and
ACM certificates validated through it."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformIterator, TerraformProvider, Token
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from kreo_infra.errors import PropsError

DELEGATION_TTL = 172800
"""Two days, the TTL Route53 gives a zone's own NS record."""

VALIDATION_TTL = 300

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
"""The hosted zone id of every CloudFront distribution (alias targets)."""


class PublicZone(Construct):
    """The public hosted zone of ``domain``: created here, or looked up.

    With ``create`` the zone is made here, never force-destroyed with its
    records; with ``delegate_from`` the NS record delegating ``domain`` is added
    to that parent zone, looked up by name through ``parent_provider`` (the
    parent zone's account, through a role it grants; default: this stack's
    provider, a parent in the same account). Without
    ``create`` an existing zone is looked up by name and nothing is changed.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: str,
        create: bool = True,
        delegate_from: str | None = None,
        parent_provider: TerraformProvider | None = None,
    ) -> None:
        if parent_provider is not None and delegate_from is None:
            raise PropsError(
                "PublicZone", "parent_provider", "given", "pass it with delegate_from only"
            )
        if delegate_from is not None and not create:
            raise PropsError(
                "PublicZone", "delegate_from", delegate_from, "delegate only a zone created here"
            )
        if delegate_from is not None and not domain.endswith(f".{delegate_from}"):
            raise PropsError(
                "PublicZone", "delegate_from", delegate_from, f"use a parent of {domain}"
            )
        super().__init__(scope, id)
        self.domain = domain
        if create:
            zone = Route53Zone(
                self,
                "zone",
                name=domain,
                comment=f"Public zone of {domain} (kreo-infra edge layer)",
                force_destroy=False,
            )
            self.zone_id = zone.zone_id
            self.name_servers: list[str] = zone.name_servers
        else:
            existing = DataAwsRoute53Zone(self, "zone", name=domain, private_zone=False)
            self.zone_id = existing.zone_id
            self.name_servers = existing.name_servers
        if delegate_from is not None:
            parent = DataAwsRoute53Zone(
                self,
                "parent",
                name=delegate_from,
                private_zone=False,
                provider=parent_provider,
            )
            Route53Record(
                self,
                "delegation",
                zone_id=parent.zone_id,
                name=domain,
                type="NS",
                ttl=DELEGATION_TTL,
                records=self.name_servers,
                provider=parent_provider,
            )

    def alias_to_cloudfront(self, id: str, *, name: str, distribution_domain: str) -> None:
        """A and AAAA alias records ``name`` → a CloudFront distribution."""
        for record_type in ("A", "AAAA"):
            Route53Record(
                self,
                f"{id}-{record_type.lower()}",
                zone_id=self.zone_id,
                name=name,
                type=record_type,
                alias=Route53RecordAlias(
                    name=distribution_domain,
                    zone_id=CLOUDFRONT_ZONE_ID,
                    evaluate_target_health=False,
                ),
            )


class DnsValidatedCertificate(Construct):
    """An ACM certificate for ``domain_name`` and ``alternative_names``, validated
    by DNS records this construct writes into ``zone_id``.

    ``region`` places the certificate elsewhere than the stack's region (CloudFront
    takes certificates from us-east-1 only). ``validated_by`` (instead of
    ``zone_id``) is a certificate of the same names in another region whose
    records validate this one too: ACM gives a name the same validation record in
    every region of an account (hashicorp/terraform-provider-aws#13653), so a
    second set of records would only collide with the first. ``arn`` is the validated
    certificate's: anything using it waits until ACM has issued it. Keys are
    RSA-2048 (what every client accepts) and renewed by ACM while the records stay.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        zone_id: str | None = None,
        alternative_names: Sequence[str] = (),
        region: str | None = None,
        validated_by: DnsValidatedCertificate | None = None,
    ) -> None:
        names = [domain_name, *alternative_names]
        if (zone_id is None) == (validated_by is None):
            raise PropsError(
                "DnsValidatedCertificate", "zone_id", zone_id,
                "give exactly one of zone_id (write the records) and validated_by",
            )  # fmt: skip
        if validated_by is not None and validated_by.names != names:
            raise PropsError(
                "DnsValidatedCertificate", "validated_by", validated_by.names,
                f"validate by a certificate of the same names ({names})",
            )  # fmt: skip
        if len(set(names)) != len(names):
            raise PropsError(
                "DnsValidatedCertificate", "alternative_names", list(alternative_names),
                "list each name once, not repeating domain_name",
            )  # fmt: skip
        if any(name != name.lower() or name.endswith(".") for name in names):
            # ACM reports each name lowercased and without the root dot; the
            # validation records are keyed by these names and matched to ACM's.
            raise PropsError(
                "DnsValidatedCertificate", "domain_name", names,
                "write each name in lowercase, without a trailing dot",
            )  # fmt: skip
        if any(name.startswith("*.") for name in names):
            raise PropsError(
                "DnsValidatedCertificate", "domain_name", names,
                "name each host: a wildcard would also cover hosts another owner serves",
            )  # fmt: skip
        super().__init__(scope, id)
        self.certificate = AcmCertificate(
            self,
            "certificate",
            domain_name=domain_name,
            subject_alternative_names=list(alternative_names) or None,
            validation_method="DNS",
            key_algorithm="RSA_2048",
            region=region,
            lifecycle={"create_before_destroy": True},
        )
        # One record per name, keyed by the name: the plan shows which host each
        # record validates. The keys come from this config, the values from the
        # certificate: for_each keys must be known at plan time, and the
        # certificate's validation options are not until it exists (keying by
        # `val.domain_name` of the options fails the first plan in a new account
        # with "Invalid for_each argument"; tests/kreo_infra/tfcheck guard it).
        self.names = names
        if validated_by is not None:
            self.records = validated_by.records
            self.validation = AcmCertificateValidation(
                self,
                "validation",
                certificate_arn=self.certificate.arn,
                validation_record_fqdns=validated_by.validation.validation_record_fqdns,
                region=region,
            )
            return
        validation_options = Token.as_string(self.certificate.domain_validation_options)
        options = TerraformIterator.from_map(
            Token.as_any_map(
                TerraformIterator.from_list(names).for_expression_for_map(
                    "val",
                    f"one([for o in {validation_options} : o if o.domain_name == val])",
                )
            )
        )
        self.records = Route53Record(
            self,
            "validation-records",
            for_each=options,
            zone_id=zone_id,
            name=options.get_string("resource_record_name"),
            type=options.get_string("resource_record_type"),
            records=[options.get_string("resource_record_value")],
            ttl=VALIDATION_TTL,
        )
        self.validation = AcmCertificateValidation(
            self,
            "validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=Token.as_list(
                TerraformIterator.from_resources(self.records).pluck_property("fqdn")
            ),
            region=region,
        )

    @property
    def arn(self) -> str:
        """The certificate's ARN, available once ACM has validated it."""
        return self.validation.certificate_arn
