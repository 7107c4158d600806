"""Read-only checks of the live AWS account before a deploy (``make preflight``).

Every check only describes or lists: nothing is created, changed or read out of
a secret. ``python -m kreo_infra.preflight --env <env> [--stage account|workloads|all]``
prints one ``ok``/``FAIL`` line per check and exits 1 if any failed. Imports
boto3 only (no cdktf, no providers), so it answers in seconds.
"""

from kreo_infra.preflight.checks import STAGES, Result, planned_checks, run_checks

__all__ = ["STAGES", "Result", "planned_checks", "run_checks"]
