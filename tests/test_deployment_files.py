"""The deployment files: the image, the Okteto stack and the Kubernetes manifests agree with the
service (database host, variables, entry points)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def documented_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z_]+)=", text, re.MULTILINE))


def test_the_okteto_stack_wires_web_and_worker_to_the_db_service():
    stack = yaml.safe_load((ROOT / "okteto-stack.yml").read_text())
    services = stack["services"]
    assert set(services) == {"db", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["db"]["volumes"] and services["db"]["healthcheck"]
    for name in ("web", "worker"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert re.fullmatch(r"postgres://rbas:\$\{POSTGRES_PASSWORD\}@db:5432/rbas", url)
    web = services["web"]
    assert web["command"] == "./run_web.sh"  # so migrations run on deploy
    assert web["environment"]["EMBEDDED_WORKERS"] == "0"
    assert web["environment"]["COOKIE_SECURE"] == "true"
    assert web["environment"]["DEBUG"] == "false"
    assert "readyz" in " ".join(web["healthcheck"]["test"])
    assert services["worker"]["command"] == "python manage.py db_worker"
    assert services["worker"]["replicas"] == 2


def test_the_stack_sets_only_documented_variables_and_no_secret_values():
    stack = yaml.safe_load((ROOT / "okteto-stack.yml").read_text())
    environment = stack["services"]["web"]["environment"]
    assert set(environment) <= documented_variables()
    for secret in ("SECRET_KEY", "DJANGO_SUPERUSER_PASSWORD"):
        assert environment[secret] == f"${{{secret}}}"


def manifests() -> list[dict]:
    documents = []
    for path in sorted((ROOT / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def test_the_kubernetes_manifests_point_the_apps_at_the_db_service():
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in manifests() if "metadata" in d}
    assert ("Service", "db") in by_kind and ("StatefulSet", "db") in by_kind
    settings = by_kind[("ConfigMap", "rbas-settings")]["data"]
    assert settings["POSTGRES_HOST"] == "db"
    assert set(settings) - {"POSTGRES_HOST", "POSTGRES_DB", "POSTGRES_USER"} <= (
        documented_variables()
    )
    for name in ("web", "worker"):
        pod = by_kind[("Deployment", name)]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert "@$(POSTGRES_HOST):5432/" in env["DATABASE_URL"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"]
    assert by_kind[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0][
        "command"
    ] == ["./run_web.sh"]
    secret = by_kind[("Secret", "rbas-secrets")]["stringData"]
    assert secret["SECRET_KEY"] == ""  # a template: no usable secret is committed


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is installed by .ci/run")
def test_kustomize_renders_manifests_that_pass_the_kubernetes_schemas(tmp_path):
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "k8s")], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "rendered.yaml").write_text(rendered)
    validation = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict",
         str(tmp_path / "rendered.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert validation.returncode == 0, validation.stdout + validation.stderr
    assert rendered.count("\nkind: ") + rendered.startswith("kind: ") >= 6
    # The Secret is created by the operator first: applying the stack must not overwrite it.
    assert "kind: Secret" not in rendered


def test_the_dockerfile_runs_run_web_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["./run_web.sh"]' in dockerfile
    assert "USER 10001:10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in dockerfile
    assert dockerfile.count("FROM ${PYTHON_IMAGE}") == 2  # build stage + runtime
    ignored = (ROOT / ".dockerignore").read_text().split()
    for must in (".env", "*.sqlite3", ".venv/", ".git/"):
        assert must in ignored


def test_the_github_workflows_match_the_workflow_schema():
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 2
    result = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"),
         "--builtin-schema", "vendor.github-workflows", *workflows],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command_then_postgresql():
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step.get("run", "") for step in ci["jobs"]["test"]["steps"]]
    assert "make test" in steps
    assert ci["jobs"]["test"]["services"]["postgres"]["image"] == "postgres:16"
