"""External Secrets Operator: Secrets Manager values as Kubernetes Secrets.

What: keeps Kubernetes Secrets in step with Secrets Manager, from the
``ExternalSecret`` and ``ClusterSecretStore`` resources (CRDs) it installs.

Why: no secret value passes through Terraform, a stack's state or a Helm
release record (a ConfigMap the view policy reads): the marketplace's database
and cache settings and Grafana's admin password reach their pods through it.
The ClusterSecretStore itself comes from charts/kreo-platform (hence that
chart waits for this release's CRDs).

Values that matter: the CRDs are installed with the release; the operator,
its webhook and its certificate controller each run two replicas with a
disruption budget; the operator and the certificate controller elect a leader
(``leaderElect``, off by default: values.yaml line 91 at helm-chart-2.9.0, read
by templates/deployment.yaml and cert-controller-deployment.yaml), else both
replicas of each would reconcile every resource at once.

IAM: read (never write or list) the environment's secrets, and decrypt them
only through Secrets Manager.
https://github.com/external-secrets/external-secrets/tree/helm-chart-2.9.0/deploy/charts/external-secrets
"""

from __future__ import annotations

from kreo_infra.platform.addons import Addon, IdentityInputs, ReleaseInputs
from kreo_infra.platform.values import CONTROLLER_REPLICAS, PDB, Values, resources
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import Workload

WORKLOAD = Workload("external-secrets", "external-secrets", "external-secrets")


def statements(inputs: IdentityInputs) -> list[Statement]:
    """Read (never write or list) the secrets whose names start with the
    environment's prefix.

    Every secret is encrypted with a customer-managed key, and GetSecretValue
    needs ``kms:Decrypt`` on it too (Secrets Manager decrypts on the caller's
    behalf: "Secret encryption and decryption in AWS Secrets Manager", AWS
    documentation). Allowed only through Secrets Manager in this region and
    only for these secrets (the ``SecretARN`` encryption context Secrets Manager
    always sends); the keys live in the data layer, deployed after this one,
    hence the context rather than key ARNs.
    """
    partition, region, account_id = inputs.partition, inputs.region, inputs.account_id
    secrets = (
        f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{inputs.secrets_prefix}*"
    )
    return [
        {
            "Sid": "ReadTheEnvironmentsSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds",
            ],
            "Resource": secrets,
        },
        {
            "Sid": "DecryptThemThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
            },
        },
    ]


def values(_: ReleaseInputs) -> Values:
    def component(workload: str) -> Values:
        return {
            "replicaCount": CONTROLLER_REPLICAS,
            "podDisruptionBudget": PDB,
            "resources": resources(workload),
        }

    return {
        "installCRDs": True,
        "leaderElect": True,
        **component("external-secrets"),
        "serviceAccount": {"create": True, "name": WORKLOAD.service_account},
        "webhook": component("external-secrets-webhook"),
        "certController": component("external-secrets-cert-controller"),
    }


ADDON = Addon(
    name="external-secrets",
    workload=WORKLOAD,
    values=values,
    service_account_key=("serviceAccount", "name"),
    statements=statements,
    creates_namespace=True,
)
