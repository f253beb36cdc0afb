"""docker-compose.yml cannot run here (no Docker engine), so it is checked statically:
it parses, every service has what it depends on, every command is a real `portico`
command, and every PORTICO_ variable is one some service's settings actually read."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from portico.cli import SERVICES, _parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _known_settings() -> set[str]:
    names = set()
    classes: list[type[BaseSettings]] = []
    for module_name in ["portico.settings", *(f"portico_{s}.config" for s in SERVICES)]:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value is not BaseSettings
        ]
    for settings_class in classes:
        prefix = settings_class.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in settings_class.model_fields}
    return names


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = COMPOSE["services"]
    return services


def test_every_portico_service_is_in_compose() -> None:
    commands = {tuple(s["command"][:2]) for s in _services().values() if s.get("command")}
    for name in ("gateway", "orchestrator", "executors"):
        assert ("portico", name) in commands


@pytest.mark.parametrize("name", sorted(_services()))
def test_commands_parse_with_the_real_cli(name: str) -> None:
    command = _services()[name].get("command")
    if command is None:
        return
    assert command[0] == "portico"
    if command[1] in SERVICES:
        # `portico <service> …` hands the rest to the service's own parser.
        module = importlib.import_module(f"portico_{command[1]}.__main__")
        module.build_parser().parse_args(command[2:])
        assert callable(module.main)
    else:
        assert _parser().parse_args(command[1:]).command in ("migrate", "up")


@pytest.mark.parametrize("name", sorted(_services()))
def test_dependencies_exist_and_are_healthchecked(name: str) -> None:
    services = _services()
    for dependency, spec in (services[name].get("depends_on") or {}).items():
        assert dependency in services, f"{name} depends on unknown service {dependency}"
        if spec["condition"] == "service_healthy":
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", sorted(_services()))
def test_portico_variables_are_real_settings(name: str) -> None:
    known = _known_settings()
    environment = _services()[name].get("environment") or {}
    for variable in environment:
        if variable.startswith("PORTICO_"):
            assert variable in known, f"{name} sets {variable}, which no Settings reads"


def test_dockerfile_installs_the_locked_workspace() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert (ROOT / "uv.lock").exists()
