"""docker-compose.yml and deploy/k8s cannot run here (no Docker engine, no cluster), so they
are checked statically: they parse (and the Kubernetes objects validate against the API
schema), every command is a real `portico` command with options its service accepts, and every
PORTICO_ variable is one some service's settings actually read."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from portico.cli import SERVICES, _parser
from portico_executors.config import EXECUTOR_TYPES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
K8S_DIR = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"


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
        for name, field in settings_class.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


KNOWN_SETTINGS = _known_settings()


def assert_real_command(command: list[str]) -> None:
    assert command[0] == "portico"
    if command[1] in SERVICES:
        # `portico <service> …` hands the rest to the service's own parser.
        module = importlib.import_module(f"portico_{command[1]}.__main__")
        module.build_parser().parse_args(command[2:])
    else:
        assert _parser().parse_args(command[1:]).command in ("migrate", "up", "keys")


# --- docker-compose.yml -----------------------------------------------------------------------


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = COMPOSE["services"]
    return services


def test_every_portico_service_is_in_compose() -> None:
    commands = {tuple(s["command"][:2]) for s in _services().values() if s.get("command")}
    for name in ("gateway", "orchestrator", "executors"):
        assert ("portico", name) in commands


@pytest.mark.parametrize("name", sorted(_services()))
def test_compose_commands_are_real(name: str) -> None:
    command = _services()[name].get("command")
    if command is not None:
        assert_real_command(command)


@pytest.mark.parametrize("name", sorted(_services()))
def test_compose_dependencies_exist_and_are_healthchecked(name: str) -> None:
    services = _services()
    for dependency, spec in (services[name].get("depends_on") or {}).items():
        assert dependency in services, f"{name} depends on unknown service {dependency}"
        if spec["condition"] == "service_healthy":
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", sorted(_services()))
def test_compose_variables_are_real_settings(name: str) -> None:
    for variable in _services()[name].get("environment") or {}:
        if variable.startswith("PORTICO_"):
            assert variable in KNOWN_SETTINGS, f"{name} sets {variable}, which no Settings reads"


def test_dockerfile_installs_the_locked_workspace() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert (ROOT / "uv.lock").exists()


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]]  # (INSTRUCTION, its arguments)

    def arguments(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def _dockerfile_stages() -> list[Stage]:
    """The Dockerfile's build stages, each with its instructions (continuations joined)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            image, _, name = arguments.partition(" AS ")
            stages.append(Stage(image.strip(), name.strip() or None, []))
        else:
            stages[-1].instructions.append((instruction, arguments.strip()))
    return stages


def test_the_image_builds_and_serves_the_editor() -> None:
    stages = _dockerfile_stages()
    node = [stage for stage in stages if stage.image.startswith("node:20")]
    assert len(node) == 1, "one Node 20 stage builds the editor"
    editor = node[0]
    assert editor.name is not None
    runs = editor.arguments("RUN")
    assert any(run.startswith("npm ci") for run in runs)
    assert "npm run build" in runs
    assert runs.index("npm run build") > next(i for i, r in enumerate(runs) if "npm ci" in r)
    copied = " ".join(editor.arguments("COPY"))
    assert "web/package-lock.json" in copied
    assert "web/" in copied.split()  # the sources, with the committed openapi.json
    assert (ROOT / "web" / "openapi.json").is_file()

    final = stages[-1]
    assert final is not editor
    from_editor = [c for c in final.arguments("COPY") if c.startswith(f"--from={editor.name} ")]
    assert len(from_editor) == 1
    source, destination = from_editor[0].split()[1:]
    assert source.endswith("/dist")
    environment = " ".join(final.arguments("ENV"))
    assert f"PORTICO_WEB_DIR={destination}" in environment.split()
    assert "PORTICO_WEB_DIR" in KNOWN_SETTINGS


def test_docker_context_leaves_out_builds_and_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"web/node_modules", "web/dist", ".venv", ".git"} <= ignored


# --- deploy/k8s ---------------------------------------------------------------------------------


def _k8s_objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        objects += [doc for doc in yaml.safe_load_all((K8S_DIR / resource).read_text()) if doc]
    return objects


K8S_OBJECTS = _k8s_objects()


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in K8S_OBJECTS if o["kind"] == kind]


def _containers() -> list[dict[str, Any]]:
    workloads = _by_kind("Deployment") + _by_kind("Job")
    return [c for w in workloads for c in w["spec"]["template"]["spec"]["containers"]]


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("obj", K8S_OBJECTS, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_k8s_objects_validate_against_the_api_schema(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_k8s_selectors_match_their_pods() -> None:
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in _by_kind("Deployment")]
    for deployment in _by_kind("Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for service in _by_kind("Service"):
        assert any(service["spec"]["selector"].items() <= labels.items() for labels in pod_labels)


def test_k8s_commands_are_real_and_cover_every_executor_type() -> None:
    consumed: set[str] = set()
    for container in _containers():
        command = container["command"]
        assert_real_command(command)
        if command[1] == "executors":
            types = command[command.index("--types") + 1] if "--types" in command else ""
            consumed |= set(types.split(",")) if types else set(EXECUTOR_TYPES)
    assert consumed == set(EXECUTOR_TYPES)


def test_k8s_variables_are_real_settings_and_reach_every_container() -> None:
    provided = {}
    for source in _by_kind("ConfigMap") + _by_kind("Secret"):
        keys = set(source.get("data") or {}) | set(source.get("stringData") or {})
        if source["metadata"].get("labels", {}).get("portico.dev/mounted") == "true":
            continue  # mounted as files or read key by key (secretKeyRef), not by envFrom
        assert keys <= KNOWN_SETTINGS, keys - KNOWN_SETTINGS
        provided[source["metadata"]["name"]] = keys
    for container in _containers():
        names = {
            ref.get("secretRef", ref.get("configMapRef", {}))["name"]
            for ref in container["envFrom"]
        }
        assert names <= provided.keys()
        reachable = set().union(*(provided[n] for n in names))
        assert {"PORTICO_DATABASE_URL", "PORTICO_AMQP_URL"} <= reachable


def test_gateway_probes_hit_real_routes() -> None:
    from portico_gateway.app import create_app
    from portico_gateway.config import Settings

    routes = set(create_app(Settings()).openapi()["paths"])
    for container in _containers():
        for probe in ("livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in routes


def test_k8s_single_variables_are_real_settings_from_real_secret_keys() -> None:
    secrets = {
        s["metadata"]["name"]: set(s.get("stringData") or {}) | set(s.get("data") or {})
        for s in _by_kind("Secret")
    }
    for container in _containers():
        for variable in container.get("env") or []:
            assert variable["name"] in KNOWN_SETTINGS, variable["name"]
            ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if ref is not None:
                assert ref["key"] in secrets[ref["name"]], ref


def test_each_key_reaches_only_the_service_that_needs_it() -> None:
    holders = {
        container["name"]: {v["name"] for v in container.get("env") or []}
        for container in _containers()
    }
    signing = {name for name, env in holders.items() if "PORTICO_GRANT_SIGNING_KEY" in env}
    ring = {name for name, env in holders.items() if "PORTICO_CREDENTIALS_KEYS_FILE" in env}
    assert signing == {"orchestrator"}
    assert ring == {"credentials"}
