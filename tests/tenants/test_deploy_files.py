"""The production files stay coherent (docker compose itself does not run on CI)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_describes_the_production_stack_with_health_checks() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "ingest"} <= services.keys()
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "serve" in services["web"]["command"]
    assert services["web"]["environment"]["DEBUG"] == "0"
    assert "celery" in services["beat"]["command"] and "beat" in services["beat"]["command"]
    # Queued webhooks (the default on PostgreSQL) need their ingest worker.
    assert "ingest_worker" in services["ingest"]["command"]


def test_the_ci_script_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make run" in readme
    assert "DATABASE_URL" in ci and "REDIS_URL" in ci
