"""plan_subnets: the one function that decides subnet ranges."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from kreo_infra.config.subnets import plan_subnets
from kreo_infra.errors import PropsError


def test_slash_16_over_three_azs() -> None:
    plan = plan_subnets("10.0.0.0/16", 3)
    assert plan.private == ("10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18")
    assert plan.public == ("10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22")
    assert plan.database == ("10.0.204.0/22", "10.0.208.0/22", "10.0.212.0/22")


def test_slash_20_over_three_azs() -> None:
    plan = plan_subnets("10.20.0.0/20", 3)
    assert plan.private == ("10.20.0.0/22", "10.20.4.0/22", "10.20.8.0/22")
    assert plan.public == ("10.20.12.0/26", "10.20.12.64/26", "10.20.12.128/26")
    assert plan.database == ("10.20.12.192/26", "10.20.13.0/26", "10.20.13.64/26")


def test_four_azs_halve_the_private_blocks() -> None:
    plan = plan_subnets("10.0.0.0/16", 4)
    assert [ipaddress.IPv4Network(c).prefixlen for c in plan.private] == [19] * 4
    assert len(plan.public) == len(plan.database) == 4


@pytest.mark.parametrize(
    ("cidr", "azs"),
    [
        ("10.0.0.0/16", 2),
        ("10.0.0.0/16", 3),
        ("172.16.0.0/20", 3),
        ("10.1.0.0/22", 3),
        ("10.0.0.0/16", 6),
    ],
)
def test_subnets_are_inside_the_vpc_and_disjoint(cidr: str, azs: int) -> None:
    plan = plan_subnets(cidr, azs)
    vpc = ipaddress.IPv4Network(cidr)
    networks = [ipaddress.IPv4Network(c) for c in (*plan.public, *plan.private, *plan.database)]
    assert len(networks) == 3 * azs
    assert all(n.subnet_of(vpc) for n in networks)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(networks, 2))
    assert all(n.prefixlen <= 28 for n in networks)


def test_private_subnets_get_most_of_the_space() -> None:
    plan = plan_subnets("10.0.0.0/16", 3)
    private = sum(ipaddress.IPv4Network(c).num_addresses for c in plan.private)
    assert private >= 0.75 * 2**16


def test_rejects_a_vpc_too_small() -> None:
    expected = r"'10.0.0.0/24' .* would be /30, AWS's smallest is /28; use a VPC of /22 or larger"
    with pytest.raises(PropsError, match=expected):
        plan_subnets("10.0.0.0/24", 3)


def test_rejects_no_azs() -> None:
    with pytest.raises(PropsError, match="az_count=0"):
        plan_subnets("10.0.0.0/16", 0)
