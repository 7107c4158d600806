"""WAFv2 web ACLs: AWS managed rule groups, a per-client rate limit, and logging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.log_group import EncryptedLogGroup

CLOUDFRONT_REGION = "us-east-1"
"""CloudFront-scope web ACLs, their logs and CloudFront certificates live here."""

EVALUATION_WINDOWS = (60, 120, 300, 600)
"""The windows (seconds) a WAF rate-based rule can count requests over."""

MIN_RATE_LIMIT = 10
"""The smallest limit WAF accepts for a rate-based rule."""

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",  # known bad sources first: cheapest to drop
    "AWSManagedRulesCommonRuleSet",  # OWASP top-10 style protections
    "AWSManagedRulesKnownBadInputsRuleSet",  # Log4Shell and other exploit payloads
    "AWSManagedRulesSQLiRuleSet",  # SQL injection
)
"""AWS managed rule groups every web ACL evaluates, in priority order."""

REDACTED_HEADERS = ("authorization", "cookie")
"""Headers WAF logs never contain: bearer tokens and session cookies."""


def rate_limit_per_window(*, requests_per_second: int, burst: int, window_seconds: int) -> int:
    """The WAF limit equivalent to NGINX's ``limit_req rate=<r>r/s burst=<b> nodelay``.

    A client NGINX never throttles sends at most ``r`` requests per second plus
    a one-off burst of ``b``; over a window of ``w`` seconds that is
    ``r * w + b``. WAF blocks a client whose count over the window exceeds the
    limit, so this limit lets every NGINX-conforming client through and blocks
    one that sustains more (docs/decisions.md, "Edge rate limit").
    """
    if window_seconds not in EVALUATION_WINDOWS:
        raise PropsError(
            "rate_limit_per_window", "window_seconds", window_seconds, f"use {EVALUATION_WINDOWS}"
        )
    if requests_per_second < 1 or burst < 0:
        raise PropsError(
            "rate_limit_per_window",
            "requests_per_second/burst",
            (requests_per_second, burst),
            "use a positive rate and a non-negative burst",
        )
    return max(requests_per_second * window_seconds + burst, MIN_RATE_LIMIT)


@dataclass(frozen=True)
class RateLimit:
    """A per-client-IP limit: at most ``limit`` requests per ``window_seconds``."""

    limit: int
    window_seconds: int


def _visibility(metric: str) -> dict[str, object]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


PATH_NORMALISATION = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")
"""How a path is read before it is matched: ``/%4Detrics``, ``//metrics`` and
``/METRICS`` are all ``/metrics`` to an Express router (case-insensitive by
default), so they must be to the rule too."""


def _path_starts_with(prefix: str) -> dict[str, object]:
    return {
        "byte_match_statement": {
            "field_to_match": {"uri_path": {}},
            "positional_constraint": "STARTS_WITH",
            "search_string": prefix,
            "text_transformation": [
                {"priority": priority, "type": kind}
                for priority, kind in enumerate(PATH_NORMALISATION)
            ],
        }
    }


class WebAcl(Construct):
    """A WAFv2 web ACL allowing by default, after AWS managed rules and a rate limit.

    ``scope`` is ``REGIONAL`` (load balancers; created in the account's region)
    or ``CLOUDFRONT`` (created in us-east-1, as CloudFront requires). Rules, in
    order: ``private_path_prefixes`` (block: paths the origin serves but the
    internet must not reach, matched after URL-decoding, path normalisation and
    lower-casing, as the Node.js services route them), the
    :data:`MANAGED_RULE_GROUPS` (their own actions, mostly block), then
    ``rate_limit`` per client IP (block). Every request WAF sees is logged
    to ``aws-waf-logs-<name>`` (the prefix WAF requires), kept
    ``log_retention_days``, encrypted, with :data:`REDACTED_HEADERS` redacted.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        scope_kind: Literal["REGIONAL", "CLOUDFRONT"],
        rate_limit: RateLimit,
        log_retention_days: int,
        account: AwsAccount,
        managed_rule_groups: Sequence[str] = MANAGED_RULE_GROUPS,
        private_path_prefixes: Sequence[str] = (),
    ) -> None:
        if scope_kind not in ("REGIONAL", "CLOUDFRONT"):
            raise PropsError("WebAcl", "scope_kind", scope_kind, "use REGIONAL or CLOUDFRONT")
        if rate_limit.window_seconds not in EVALUATION_WINDOWS:
            raise PropsError(
                "WebAcl", "rate_limit.window_seconds", rate_limit.window_seconds,
                f"use {EVALUATION_WINDOWS}",
            )  # fmt: skip
        if rate_limit.limit < MIN_RATE_LIMIT:
            raise PropsError(
                "WebAcl", "rate_limit.limit", rate_limit.limit, f"use {MIN_RATE_LIMIT} or more"
            )
        if not managed_rule_groups:
            raise PropsError("WebAcl", "managed_rule_groups", managed_rule_groups, "name one")
        for prefix in private_path_prefixes:
            if not prefix.startswith("/") or prefix != prefix.lower():
                raise PropsError(
                    "WebAcl", "private_path_prefixes", list(private_path_prefixes),
                    "use lower-case paths starting with /",
                )  # fmt: skip
        super().__init__(scope, id)
        # None: the stack's own region. CloudFront-scope resources must be in us-east-1.
        region = CLOUDFRONT_REGION if scope_kind == "CLOUDFRONT" else None
        metric = name.replace("-", "")
        rules = []
        if private_path_prefixes:
            matches = [_path_starts_with(prefix) for prefix in private_path_prefixes]
            rules.append(
                Wafv2WebAclRule(
                    name="private-paths",
                    priority=0,
                    action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
                    statement=(
                        matches[0]
                        if len(matches) == 1
                        else {"or_statement": {"statement": matches}}
                    ),
                    visibility_config=Wafv2WebAclRuleVisibilityConfig(
                        **_visibility(f"{metric}PrivatePaths")  # type: ignore[arg-type]
                    ),
                )
            )
        rules += [
            Wafv2WebAclRule(
                name=group,
                priority=len(rules) + priority,
                override_action=Wafv2WebAclRuleOverrideAction(
                    none=Wafv2WebAclRuleOverrideActionNone()
                ),
                statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                visibility_config=Wafv2WebAclRuleVisibilityConfig(
                    **_visibility(f"{metric}{group}")  # type: ignore[arg-type]
                ),
            )
            for priority, group in enumerate(managed_rule_groups)
        ]
        rules.append(
            Wafv2WebAclRule(
                name="rate-limit-per-client-ip",
                priority=len(rules),
                action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
                statement={
                    "rate_based_statement": {
                        "aggregate_key_type": "IP",
                        "limit": rate_limit.limit,
                        "evaluation_window_sec": rate_limit.window_seconds,
                    }
                },
                visibility_config=Wafv2WebAclRuleVisibilityConfig(
                    **_visibility(f"{metric}RateLimit")  # type: ignore[arg-type]
                ),
            )
        )
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=name,
            description=f"Managed rules and a per-IP rate limit in front of {name}",
            scope=scope_kind,
            region=region,
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=Wafv2WebAclVisibilityConfig(**_visibility(metric)),  # type: ignore[arg-type]
        )
        self.logs = EncryptedLogGroup(
            self,
            "logs",
            name=f"aws-waf-logs-{name}",
            retention_days=log_retention_days,
            key_alias=f"alias/{name}-waf-logs",
            description=f"the WAF logs of {name}",
            account=account,
            region=region,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            region=region,
            log_destination_configs=[self.logs.arn],
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                        name=header
                    )
                )
                for header in REDACTED_HEADERS
            ],
        )

    @property
    def arn(self) -> str:
        return self.acl.arn
