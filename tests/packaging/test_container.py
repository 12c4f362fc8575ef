"""The container image and compose stack, checked with what runs here: no
Docker engine is available, so the Dockerfile and compose file are parsed,
must agree with ``logsorter.functions`` (which cannot be imported from
there), and every handler they name must resolve in the installed package."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml
from logsorter.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "public.ecr.aws/lambda/python:3.12"


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions of each stage, by stage name, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        current.append(line)
    return stages


def dockerfile_args() -> dict[str, str]:
    args = re.findall(r"^ARG (\w+)=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    return dict(args)


def resolve_handler(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_two_stages_on_the_lambda_python_base_image() -> None:
    stages = dockerfile_stages()
    assert list(stages) == ["builder", "runtime"]
    assert dockerfile_args()["LAMBDA_PYTHON_IMAGE"] == BASE_IMAGE
    for instructions in stages.values():
        assert instructions[0].startswith("FROM ${LAMBDA_PYTHON_IMAGE} AS ")


def test_builder_builds_the_wheel_with_cache_mounts() -> None:
    builder = dockerfile_stages()["builder"]
    build = "\n".join(builder)
    assert "maturin build --profile dist" in build
    assert "--mount=type=cache,target=/opt/cargo/registry" in build
    copies = [i.split()[1:-1] for i in builder if i.startswith("COPY ")]
    assert copies, "the builder copies the sources in"
    for name in (n for names in copies for n in names):
        assert (ROOT / name).exists(), f"the builder copies {name}, which is not in the repo"


def test_runtime_installs_only_the_wheel() -> None:
    runtime = dockerfile_stages()["runtime"]
    text = "\n".join(runtime)
    assert "COPY --from=builder /dist/*.whl" in text
    for build_tool in ("dnf", "rustup", "cargo", "maturin", "gcc"):
        assert build_tool not in text, f"{build_tool} in the runtime stage"


def test_default_cmd_is_the_first_function_and_resolves() -> None:
    cmd = next(i for i in dockerfile_stages()["runtime"] if i.startswith("CMD "))
    assert json.loads(cmd[4:]) == [FUNCTIONS[0].handler]
    assert callable(resolve_handler(FUNCTIONS[0].handler))


def test_dockerfile_comment_names_every_handler() -> None:
    text = (ROOT / "Dockerfile").read_text()
    comment = text[: text.index("\nARG ")]
    named = set(re.findall(r"logsorter\.handlers\.\w+", comment))
    assert named == {f.handler for f in FUNCTIONS}


def test_dockerignore_keeps_the_context_to_sources() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "everything is excluded unless listed"
    assert not any(
        r.lstrip("!").startswith((".venv", "target", "dist")) for r in rules if r.startswith("!")
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_serves_every_function_from_the_image(compose: dict[str, object]) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    with_command = {name for name, svc in services.items() if "command" in svc}
    assert with_command == {f.service for f in FUNCTIONS}
    for function in FUNCTIONS:
        svc = services[function.service]
        assert svc["command"] == [function.handler]
        assert callable(resolve_handler(function.handler)), function.handler
        assert svc["image"] == "logsorter:latest"
        assert svc["environment"]["AWS_ENDPOINT_URL"] == "http://aws:5000"
        assert svc["environment"].items() >= function.environment.items()
        assert f"{function.local_port}:8080" in svc["ports"], "the image's emulator port"


def test_compose_aws_stand_in_is_moto(compose: dict[str, object]) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    assert services["aws"]["image"].startswith("motoserver/moto:")
