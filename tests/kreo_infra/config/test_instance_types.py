"""The instance-type table and the kubelet's allocatable arithmetic on the EKS AL2023 AMI."""

from __future__ import annotations

import pytest

from kreo_infra.config.instance_types import (
    EVICTION_HARD_MEMORY_MIB,
    INSTANCE_TYPES,
    InstanceType,
    allocatable_cpu_millicores,
    allocatable_memory_mib,
    kube_reserved_cpu_millicores,
    kube_reserved_memory_mib,
)


@pytest.mark.parametrize(
    ("vcpus", "reserved"),
    [
        # nodeadm's e2e expectations (awslabs/amazon-eks-ami v20260724,
        # nodeadm/test/e2e/cases/*/expected-kubelet-config.json): "cpu": "70m" on 2 vCPUs.
        (1, 60),
        (2, 70),
        (4, 80),
        (8, 90),
        # Every range of getCPUMillicoresToReserve: 6 % + 1 % + 2 x 0.5 % + 60 x 0.25 % of 64 cores.
        (64, 60 + 10 + 10 + 150),
    ],
)
def test_kube_reserved_cpu_follows_nodeadm(vcpus: int, reserved: int) -> None:
    assert kube_reserved_cpu_millicores(vcpus * 1000) == reserved


@pytest.mark.parametrize(
    ("max_pods", "reserved"),
    # nodeadm e2e expectations: 739Mi (44 pods), 893Mi (58), 1465Mi (110, the kubelet default).
    [(44, 739), (58, 893), (110, 1465), (17, 442)],
)
def test_kube_reserved_memory_follows_nodeadm(max_pods: int, reserved: int) -> None:
    assert kube_reserved_memory_mib(max_pods) == reserved


@pytest.mark.parametrize(
    ("name", "max_pods"),
    # The long-published eni-max-pods figures (VPC CNI without prefix delegation).
    [
        ("t3.medium", 17),
        ("t3.large", 35),
        ("m6i.large", 29),
        ("m7i.xlarge", 58),
        ("m6i.2xlarge", 58),
    ],
)
def test_max_pods_is_the_eni_formula(name: str, max_pods: int) -> None:
    assert INSTANCE_TYPES[name].max_pods == max_pods


def test_t3_medium_allocatable_matches_the_issue() -> None:
    """Issue 17: "A t3.medium has ~1930m allocatable CPU"; memory is the table's
    conservative estimate: 4096 MiB less 7.5 %, 442 MiB reserved, 100 MiB eviction."""
    node = INSTANCE_TYPES["t3.medium"]
    assert allocatable_cpu_millicores(node) == 1930
    assert node.memory_capacity_mib == 3788
    assert allocatable_memory_mib(node) == 3788 - 442 - EVICTION_HARD_MEMORY_MIB


def test_allocatable_grows_with_size_and_stays_below_nominal() -> None:
    for node in INSTANCE_TYPES.values():
        assert 0 < node.allocatable_cpu_millicores < node.vcpus * 1000
        assert 0 < node.allocatable_memory_mib < node.memory_capacity_mib < node.memory_mib
    xlarge, large = INSTANCE_TYPES["m7i.xlarge"], INSTANCE_TYPES["m7i.large"]
    assert xlarge.allocatable_cpu_millicores > 2 * large.allocatable_cpu_millicores - 100
    assert xlarge.allocatable_memory_mib > 2 * large.allocatable_memory_mib


@pytest.mark.parametrize("name", sorted(INSTANCE_TYPES))
def test_every_row_is_named_and_cites_its_source(name: str) -> None:
    node = INSTANCE_TYPES[name]
    assert isinstance(node, InstanceType)
    assert node.name == name
    assert "docs.aws.amazon.com/ec2" in node.source
    assert "amazon-eks-ami" in node.source
    assert f"{node.vcpus} vCPU" in node.source
    assert node.burstable == name.startswith("t")


def test_rows_are_frozen() -> None:
    with pytest.raises(AttributeError):
        INSTANCE_TYPES["t3.medium"].vcpus = 4  # type: ignore[misc]
