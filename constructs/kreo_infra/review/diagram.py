"""``python -m kreo_infra.review.diagram``: an architecture diagram per environment,
drawn from the synthesized stacks (``make diagram``), never by hand.

    python -m kreo_infra.review.diagram [cdktf.out] [--out docs]

Writes ``<out>/architecture-<env>.svg``: each stack a box (deployment order,
left to right, top to bottom) listing its main resources, and an arrow for
each cross-stack dependency. matplotlib renders the SVG (no Graphviz binary
needed); text stays text, ids are stable, and no timestamp is written, so an
unchanged architecture gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from kreo_infra.review.output import SynthOutput

MAIN_RESOURCES = {
    "aws_vpc": "VPC",
    "aws_nat_gateway": "NAT gateway",
    "aws_vpc_endpoint": "VPC endpoint",
    "aws_route53_zone": "Route53 zone",
    "aws_acm_certificate": "ACM certificate",
    "aws_cloudfront_distribution": "CloudFront distribution",
    "aws_wafv2_web_acl": "WAF web ACL",
    "aws_eks_cluster": "EKS cluster",
    "aws_eks_node_group": "EKS node group",
    "aws_eks_addon": "EKS add-on",
    "aws_ecr_repository": "ECR repository",
    "aws_db_instance": "RDS PostgreSQL instance",
    "aws_db_proxy": "RDS Proxy",
    "aws_elasticache_replication_group": "ElastiCache Valkey",
    "aws_opensearch_domain": "OpenSearch domain",
    "aws_s3_bucket": "S3 bucket",
    "aws_secretsmanager_secret": "Secrets Manager secret",
    "kubernetes_namespace_v1": "Kubernetes namespace",
    "helm_release": "Helm release",
    "aws_backup_vault": "AWS Backup vault",
    "aws_backup_plan": "AWS Backup plan",
    "aws_db_instance_automated_backups_replication": "RDS backup replication",
    "aws_sns_topic": "SNS alarm topic",
    "aws_cloudwatch_metric_alarm": "CloudWatch alarm",
    "aws_cloudwatch_dashboard": "CloudWatch dashboard",
    "aws_iam_openid_connect_provider": "GitHub OIDC provider",
    "aws_iam_role": "IAM role",
    "aws_kms_key": "KMS key",
    "aws_resourcegroups_group": "resource group",
}
"""Resource types a reader of the diagram cares about, with their labels."""

COLUMNS = 3
BOX_WIDTH = 6.0
LINE_HEIGHT = 0.32
GAP = 1.2


def box_lines(output: SynthOutput, stack: str) -> list[str]:
    counts = output.counts(stack)
    lines = []
    for resource_type, label in MAIN_RESOURCES.items():
        if count := counts.get(resource_type):
            lines.append(f"{count} x {label}" if count > 1 else label)
    return lines


def draw(output: SynthOutput, stacks: list[str], title: str, target: Path) -> None:
    """Draw ``stacks`` of ``output`` into the SVG file ``target``."""
    import matplotlib

    matplotlib.use("svg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "kreo-infra"})
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    contents = {stack: box_lines(output, stack) for stack in stacks}
    heights = {s: (len(lines) + 1.6) * LINE_HEIGHT for s, lines in contents.items()}
    rows = [stacks[i : i + COLUMNS] for i in range(0, len(stacks), COLUMNS)]
    row_heights = [max(heights[s] for s in row) for row in rows]
    width = COLUMNS * BOX_WIDTH + (COLUMNS + 1) * GAP
    height = sum(row_heights) + (len(rows) + 1) * GAP + 0.8
    figure = plt.figure(figsize=(width, height))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.axis("off")
    axes.text(GAP, height - 0.6, title, fontsize=16, weight="bold", va="center")

    anchors: dict[str, tuple[float, float, float, float]] = {}
    top = height - 0.8 - GAP
    for row, row_height in zip(rows, row_heights, strict=True):
        for column, stack in enumerate(row):
            x = GAP + column * (BOX_WIDTH + GAP)
            box_height = heights[stack]
            y = top - box_height
            patch = FancyBboxPatch(
                (x, y), BOX_WIDTH, box_height, boxstyle="round,pad=0.05",
                facecolor="#eef3fb", edgecolor="#2f5597", linewidth=1.2, zorder=2,
            )  # fmt: skip
            patch.set_gid(f"stack:{stack}")
            axes.add_patch(patch)
            axes.text(x + 0.2, top - 0.35, stack, fontsize=11, weight="bold", va="center", zorder=3)
            for index, line in enumerate(contents[stack]):
                axes.text(
                    x + 0.3, top - 0.35 - (index + 1) * LINE_HEIGHT, line, fontsize=9,
                    va="center", color="#333333", zorder=3,
                )  # fmt: skip
            anchors[stack] = (x, y, BOX_WIDTH, box_height)
        top -= row_height + GAP

    for stack in stacks:
        for dependency in output.dependencies(stack):
            if dependency not in anchors:
                continue
            sx, sy, sw, _ = anchors[dependency]
            tx, ty, tw, th = anchors[stack]
            arrow = FancyArrowPatch(
                (sx + sw / 2, sy), (tx + tw / 2, ty + th),
                arrowstyle="-|>", mutation_scale=12, color="#7f7f7f", linewidth=0.8,
                connectionstyle="arc3,rad=0.15", shrinkA=2, shrinkB=2, zorder=1,
            )  # fmt: skip
            arrow.set_gid(f"depends:{stack}->{dependency}")
            axes.add_patch(arrow)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="svg", metadata={"Date": None})
    plt.close(figure)


def main(argv: list[str] | None = None, progress: Callable[[str], None] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.review.diagram")
    parser.add_argument("outdir", nargs="?", default="cdktf.out", type=Path)
    parser.add_argument("--out", default=Path("docs"), type=Path)
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"diagram: {message}", file=sys.stderr, flush=True)

    progress = progress or say
    try:
        output = SynthOutput(args.outdir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    groups = output.environments()
    account = groups.pop("account", [])
    for environment, stacks in groups.items():
        target = args.out / f"architecture-{environment}.svg"
        for stack in stacks:
            progress(f"{environment}: {stack}")
        draw(output, account + stacks, f"Kreo Marketplace - {environment}", target)
        progress(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
