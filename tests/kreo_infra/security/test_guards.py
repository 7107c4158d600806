"""kreo_infra.security.guards: the names and statements the recovery guardrails share."""

from __future__ import annotations

from kreo_infra.aws import AwsAccount

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")


def test_break_glass_and_boundary_arns() -> None:
    from kreo_infra.security.guards import (
        BOUNDARY_POLICY,
        BREAK_GLASS_ROLE,
        boundary_arn,
        break_glass_arn,
    )

    assert break_glass_arn(ACCOUNT) == f"arn:aws:iam::123456789012:role/{BREAK_GLASS_ROLE}"
    assert boundary_arn(ACCOUNT) == f"arn:aws:iam::123456789012:policy/{BOUNDARY_POLICY}"


def test_guarded_key_statement_denies_key_destruction_to_all_but_break_glass_and_root() -> None:
    from kreo_infra.security.guards import (
        KEY_DESTRUCTION,
        break_glass_arn,
        guarded_key_statement,
    )

    statement = guarded_key_statement(ACCOUNT)
    assert statement["Effect"] == "Deny"
    assert set(statement["Action"]) == set(KEY_DESTRUCTION)
    assert statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [
        break_glass_arn(ACCOUNT),
        "arn:aws:iam::123456789012:root",
    ]
