"""The layers' import rules (``[tool.importlinter]`` in pyproject.toml) hold, and they can fail.

``lint-imports`` runs in ``make test`` before pytest; this runs it too, so pytest alone enforces
the layers. The contracts are also run on a copy of the packages with one forbidden import added,
to show each rule catches what it is meant to (a contract misnamed or misplaced would keep
silently).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract for contract in CONFIG["contracts"]}


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:  # the copy's packages before the repository's editable install
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_layers_are_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_the_kernel_is_the_same_in_both_layer_contracts():
    """The kernel's modules are listed twice: in the layers across packages and in the contract
    that makes every module of afterclick declare its layer. The lists must agree, or a new kernel
    module would be placed in one and unchecked by the other."""
    across = {m.strip() for m in CONTRACTS["layers"]["layers"][-1].split(":")}
    within = {f"afterclick.{m.strip()}" for m in CONTRACTS["afterclick-modules"]["layers"][-1].split(":")}
    assert across == within
    on_disk = {
        f"afterclick.{p.stem if p.is_file() else p.name}"
        for p in (REPO / "afterclick").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert on_disk - across == {"afterclick.cli", "afterclick.pipeline"}


@pytest.fixture
def copy_of_the_packages(tmp_path) -> Path:
    for package in CONFIG["root_packages"]:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        ("ingest/erp.py", "import writeback.engine", "layers"),
        ("afterclick/runs.py", "import ingest.landing", "layers"),
        ("afterclick/settings.py", "import afterclick.pipeline", "layers"),
        ("flows/notify.py", "import demo.ids", "demo-only-from-cli"),
        ("writeback/ledger.py", "import demo.catalog", "demo-only-from-cli"),
        ("demo/ids.py", "import ingest.landing", "demo-from-outside"),
        ("afterclick/loyalty.py", "LEVELS = ()", "afterclick-modules"),  # a new module without a layer
        ("ingest/erp.py", "import yaml", "demo-extra-only-in-demo"),  # pyyaml comes with the demo extra only
    ],
    ids=[
        "ingest-imports-writeback",
        "kernel-imports-ingest",
        "kernel-imports-pipeline",
        "flows-imports-demo",
        "writeback-imports-demo",
        "demo-imports-ingest",
        "undeclared-afterclick-module",
        "ingest-imports-a-demo-extra",
    ],
)
def test_a_forbidden_import_breaks_its_contract(copy_of_the_packages, module, added, broken):
    path = copy_of_the_packages / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{added}\n")
    result = lint_imports(copy_of_the_packages, pythonpath=copy_of_the_packages)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{CONTRACTS[broken]['name']} BROKEN" in " ".join(result.stdout.split()), result.stdout
