"""The EC2 instance types a node group may use, and what the kubelet leaves for pods.

A node's *allocatable* resources are what the scheduler packs pods into:
capacity minus ``kubeReserved`` minus ``systemReserved`` minus the hard
eviction threshold (Kubernetes, "Reserve Compute Resources for System
Daemons"). On the EKS-optimized Amazon Linux 2023 AMI ``nodeadm`` writes the
kubelet configuration; its rules, read from awslabs/amazon-eks-ami at tag
``v20260724``, file ``nodeadm/internal/kubelet/config.go``:

* ``withDefaultReservedResources``: ``kubeReserved`` cpu from
  ``getCPUMillicoresToReserve`` (6 % of the first core, 1 % of the second,
  0.5 % of the third and fourth, 0.25 % of every further core) and memory from
  ``getMemoryMebibytesToReserve`` (11 MiB per pod the node may run, plus
  255 MiB); ``systemReserved`` has a cgroup but no amounts;
* ``defaultKubeletSubConfig``: ``evictionHard`` ``memory.available`` 100Mi;
* ``maxPods`` from ``CalcMaxPods`` (``nodeadm/internal/kubelet/eni_max_pods.go``):
  ENIs x (IPv4 addresses per ENI - 1) + 2, the VPC CNI without prefix
  delegation, with the ENI figures of ``instance-info.jsonl`` beside it.

Memory *capacity* (what the kubelet reads from ``/proc/meminfo``) is below the
nominal size EC2 advertises: firmware, the kernel and its page structures take
a share before the kubelet sees it. This table does not have measured
capacities, so it takes the estimate Karpenter uses for every type until a node
of it has registered: nominal minus 7.5 % (aws/karpenter-provider-aws,
``pkg/operator/options/options.go``, ``--vm-memory-overhead-percent``, default
0.075). It is on the safe side for these sizes (it overstates what the kernel
takes from a 4 GiB node and more so on larger ones); replace it with a node's
``status.capacity.memory`` once one runs.

Node groups may use only the types in :data:`INSTANCE_TYPES`, so that every
node has a known size; the config loader is where that is enforced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EC2_SIZES = "docs.aws.amazon.com/ec2/latest/instancetypes/gp.html (vCPUs, memory)"
"""Where the nominal vCPU and memory figures come from: EC2's general-purpose table."""

ENI_MAX_PODS = (
    "awslabs/amazon-eks-ami v20260724 nodeadm/internal/kubelet/instance-info.jsonl "
    "(defaultMaxENIs, ipv4AddressesPerInterface) with CalcMaxPods"
)
"""Where the max-pods figures come from."""

VM_MEMORY_OVERHEAD = 0.075
"""Share of nominal memory assumed missing from the kubelet's capacity (Karpenter's default)."""

EVICTION_HARD_MEMORY_MIB = 100
"""``evictionHard: memory.available: 100Mi`` (nodeadm ``defaultKubeletSubConfig``)."""

_CPU_RANGES_MILLICORES = (0, 1000, 2000, 4000)
_CPU_RESERVED_BASIS_POINTS = (600, 100, 50, 25)
"""nodeadm ``getCPUMillicoresToReserve``: the share (1/100 %) reserved in each range of cores."""


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type as a node: its size and how many pods it may run.

    ``burstable`` types (T3) earn CPU credits at a baseline below their vCPUs
    (20 % per vCPU for t3.medium, 30 % for t3.large) and, in the default
    *unlimited* mode, pay for sustained use above it: the kubelet still
    advertises every vCPU, so requests that fit can still be throttled or billed.
    """

    name: str
    vcpus: int
    memory_mib: int
    """Nominal memory, as EC2 lists it."""
    enis: int
    ipv4_per_eni: int
    burstable: bool
    source: str

    @property
    def max_pods(self) -> int:
        """Pods the kubelet admits: ENIs x (IPv4 per ENI - 1) + 2 (nodeadm ``CalcMaxPods``)."""
        return self.enis * (self.ipv4_per_eni - 1) + 2

    @property
    def cpu_millicores(self) -> int:
        return self.vcpus * 1000

    @property
    def memory_capacity_mib(self) -> int:
        """Estimated kubelet memory capacity: nominal less :data:`VM_MEMORY_OVERHEAD`."""
        return math.floor(self.memory_mib * (1 - VM_MEMORY_OVERHEAD))

    @property
    def allocatable_cpu_millicores(self) -> int:
        return allocatable_cpu_millicores(self)

    @property
    def allocatable_memory_mib(self) -> int:
        return allocatable_memory_mib(self)


def kube_reserved_cpu_millicores(cpu_millicores: int) -> int:
    """``kubeReserved.cpu`` of a node with ``cpu_millicores`` (``getCPUMillicoresToReserve``).

    Integer arithmetic per range, as nodeadm's ``getResourceToReserveInRange``
    does: 2 vCPUs reserve 70m, 4 reserve 80m, 8 reserve 90m.
    """
    bounds = (*_CPU_RANGES_MILLICORES, cpu_millicores)
    reserved = 0
    for index, basis_points in enumerate(_CPU_RESERVED_BASIS_POINTS):
        start, end = bounds[index], bounds[index + 1]
        if cpu_millicores <= start:
            continue
        reserved += (min(cpu_millicores, end) - start) * basis_points // 10000
    return reserved


def kube_reserved_memory_mib(max_pods: int) -> int:
    """``kubeReserved.memory`` (``getMemoryMebibytesToReserve``): 11 MiB x max pods + 255 MiB."""
    return 11 * max_pods + 255


def allocatable_cpu_millicores(instance: InstanceType) -> int:
    """Allocatable CPU: capacity minus ``kubeReserved`` (nodeadm sets no ``systemReserved``)."""
    return instance.cpu_millicores - kube_reserved_cpu_millicores(instance.cpu_millicores)


def allocatable_memory_mib(instance: InstanceType) -> int:
    """Node allocatable memory: estimated capacity minus ``kubeReserved`` minus ``evictionHard``."""
    return (
        instance.memory_capacity_mib
        - kube_reserved_memory_mib(instance.max_pods)
        - EVICTION_HARD_MEMORY_MIB
    )


def _row(
    name: str, vcpus: int, memory_gib: int, enis: int, ipv4_per_eni: int, *, burstable: bool
) -> tuple[str, InstanceType]:
    source = (
        f"{EC2_SIZES}: {vcpus} vCPU, {memory_gib} GiB; {ENI_MAX_PODS}: "
        f"{enis} ENIs x {ipv4_per_eni} IPv4"
    )
    return name, InstanceType(
        name=name,
        vcpus=vcpus,
        memory_mib=memory_gib * 1024,
        enis=enis,
        ipv4_per_eni=ipv4_per_eni,
        burstable=burstable,
        source=source,
    )


INSTANCE_TYPES: dict[str, InstanceType] = dict(
    [
        _row("t3.medium", 2, 4, 3, 6, burstable=True),
        _row("t3.large", 2, 8, 3, 12, burstable=True),
        _row("m6i.large", 2, 8, 3, 10, burstable=False),
        _row("m7i.large", 2, 8, 3, 10, burstable=False),
        _row("m6i.xlarge", 4, 16, 4, 15, burstable=False),
        _row("m7i.xlarge", 4, 16, 4, 15, burstable=False),
        _row("m6i.2xlarge", 8, 32, 4, 15, burstable=False),
        _row("m7i.2xlarge", 8, 32, 4, 15, burstable=False),
    ]
)
"""The instance types node groups may use (x86_64, for the AL2023 standard AMI)."""
