"""The OpenAPI schema: valid with no warnings, in step with docs/openapi.yaml, served offline."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def generate(tmp_path) -> subprocess.CompletedProcess:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env |= {"DJANGO_READ_DOT_ENV_FILE": "false", "SECRET_KEY": "schema-only"}
    return subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--file", str(tmp_path / "openapi.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip


def test_the_schema_validates_without_warnings_and_matches_the_committed_one(tmp_path):
    result = generate(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    generated = (tmp_path / "openapi.yaml").read_text()
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generated == committed, (
        "docs/openapi.yaml is out of date: run "
        "`.venv/bin/python manage.py spectacular --file docs/openapi.yaml`"
    )


def test_every_api_route_is_described_with_its_errors():
    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    paths = schema["paths"]
    for path in (
        "/api/auth/signup/", "/api/auth/login/", "/api/auth/refresh/", "/api/auth/logout/",
        "/api/auth/logout-all/", "/api/auth/me/", "/api/auth/password/",
        "/api/access/{policy}/", "/api/users/", "/api/users/{id}/", "/api/scripts/",
        "/api/scripts/{slug}/", "/api/scripts/{slug}/runs/", "/api/runs/", "/api/runs/{id}/",
        "/api/runs/{id}/cancel/", "/api/runs/{id}/artifacts/{name}", "/healthz", "/readyz",
    ):  # fmt: skip
        assert path in paths, path
    run = paths["/api/scripts/{slug}/runs/"]["post"]
    assert {"200", "202", "400", "401", "403", "404", "429"} <= set(run["responses"])
    assert "409" in paths["/api/users/{id}/"]["patch"]["responses"]
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {"rbas_access", "bearer", "personal_token", "oauth2"}
    assert schemes["oauth2"]["type"] == "oauth2"
    assert schema["components"]["securitySchemes"]["rbas_access"]["in"] == "cookie"
    legacy = [op for p, ops in paths.items() if not p.startswith(("/api/", "/healthz", "/readyz"))
              for op in ops.values()]  # fmt: skip
    assert legacy and all(op.get("deprecated") for op in legacy)
    script = schema["components"]["schemas"]["Script"]["properties"]
    assert "params_schema" in script


def test_the_schema_is_served_as_yaml_and_json(client, db):
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200
    assert yaml.safe_load(as_yaml.content)["openapi"].startswith("3.")
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200 and as_json.json()["info"]["title"] == "simple RBAS API"


def test_swagger_ui_is_served_without_any_outside_network(client, db):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http://", "https://", "//")) for s in sources)
    assert any("swagger-ui-bundle.js" in s for s in sources)


def test_personal_tokens_are_described_as_a_bearer_scheme_of_their_own(tmp_path):
    result = generate(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    schema = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    scheme = schema["components"]["securitySchemes"]["personal_token"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    tokens = schema["paths"]["/api/tokens/"]
    assert {"get", "post"} <= set(tokens)
    assert {"201", "400", "401", "403"} <= set(tokens["post"]["responses"])
    assert {"204", "401", "403", "404"} <= set(
        schema["paths"]["/api/tokens/{id}/"]["delete"]["responses"]
    )
