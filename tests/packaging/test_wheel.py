"""The release wheel, installed into a fresh virtual environment the way a user
installs it. `make integration` builds it first (`make wheel`)."""

from __future__ import annotations

import json
import subprocess
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]


@pytest.fixture(scope="module")
def wheel() -> Path:
    wheels = sorted((ROOT / "dist").glob(f"logsorter-{VERSION}-*.whl"))
    if not wheels:
        pytest.fail("no wheel in dist/: run `make wheel` (make integration does)")
    return wheels[-1]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("wheel-venv")
    venv.create(env, with_pip=True)
    subprocess.run(
        [env / "bin/python", "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    return env


def run(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=False, capture_output=True, text=True, cwd=env, timeout=120)


def test_wheel_ships_ruleset_stubs_and_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("logsorter/ruleset.toml", "logsorter/_core.pyi", "logsorter/py.typed"):
        assert expected in names
    assert any(n.startswith("logsorter/_core.") and n.endswith(".so") for n in names)
    assert not any(n.startswith(("tests/", "benches/")) for n in names)


def test_cli_help_and_version(installed: Path) -> None:
    help_run = run(installed, str(installed / "bin/logsorter"), "--help")
    assert help_run.returncode == 0, help_run.stderr
    assert "classify" in help_run.stdout
    version = run(installed, str(installed / "bin/logsorter"), "--version")
    assert version.stdout.strip() == f"logsorter {VERSION}"


def test_classify_the_sample_log(installed: Path) -> None:
    result = run(
        installed,
        str(installed / "bin/logsorter"),
        "classify",
        str(ROOT / "fixtures/sample-ci-log.txt"),
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert set(verdict) == {"rule", "line", "line_num", "captures", "context", "score"}


def test_handlers_import_and_default_ruleset_is_packaged(installed: Path) -> None:
    code = (
        "import logsorter, logsorter.handlers as h\n"
        "assert callable(h.classify) and callable(h.collate) and callable(h.collate_dlq)\n"
        "assert logsorter.RuleSet.default().digest == "
        "logsorter.RuleSet.from_file(logsorter.DEFAULT_RULESET_PATH).digest\n"
        "assert 'site-packages' in logsorter.__file__\n"
    )
    result = run(installed, str(installed / "bin/python"), "-c", code)
    assert result.returncode == 0, result.stderr
