"""Find secret literals (API keys, passwords) in synthesized files with detect-secrets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import transient_settings

DETECTORS = (
    "AWSKeyDetector",
    "StripeDetector",
    "SendGridDetector",
    "TwilioKeyDetector",
    "KeywordDetector",
    "PrivateKeyDetector",
    "JwtTokenDetector",
    "BasicAuthDetector",
    "SlackDetector",
    "GitHubTokenDetector",
)
"""Detectors for the key shapes the seed's .env.production holds, and passwords.

The entropy detectors are left out: synthesized JSON is full of hashes and
encoded policies that look random without being secret.
"""

ALLOWED_LINES = (
    # EC2 launch templates: "http_tokens": "required" is IMDSv2, not a token.
    r'^\s*"http_tokens": "(required|optional)",?$',
    # RDS Proxy: the *method* clients use (SCRAM), not a password.
    r'^\s*"client_password_auth_type": "POSTGRES_(SCRAM_SHA_256|MD5)",?$',
    # Kubernetes: whether a pod gets an API token mounted (charts travel as assets).
    r"^\s*automountServiceAccountToken: (true|false)$",
    # ExternalSecret data: the *names* of a secret's keys, its values stay in AWS.
    r"^\s*-? ?(secretKey|property): ['\"]?(username|password)['\"]?$",
    # The marketplace chart's database-roles job: the *name* of a Secrets Manager secret.
    r"^\s*masterSecret: ['\"]?[a-z0-9/_-]+['\"]?(\s+#.*)?$",
)
"""Exact lines the keyword detector mistakes for secrets (each one explained)."""


@dataclass(frozen=True)
class SecretHit:
    """A likely secret: where it is and what kind (never the value itself)."""

    file: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}"


def scan_for_secrets(files: Iterable[Path]) -> list[SecretHit]:
    """Every likely secret literal in ``files``."""
    settings = {
        "plugins_used": [{"name": name} for name in DETECTORS],
        "filters_used": [
            {
                "path": "detect_secrets.filters.regex.should_exclude_line",
                "pattern": list(ALLOWED_LINES),
            }
        ],
    }
    hits: list[SecretHit] = []
    with transient_settings(settings):
        collection = SecretsCollection()
        for path in files:
            collection.scan_file(str(path))
        for filename, secret in collection:
            hits.append(SecretHit(filename, secret.line_number or 0, secret.type))
    return sorted(hits, key=lambda hit: (hit.file, hit.line, hit.kind))
