"""The wheel as a user installs it: built from the repository, installed with the demo extra into a
fresh virtual environment, and run from a folder outside the repository, so everything it needs
(the dbt project, the dashboards, the message templates, the demo's dependencies) must come from
the installed package.

The dependencies are the locked versions (``uv export`` of uv.lock), fetched through uv's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEMO_ONLY = {"starlette", "uvicorn", "aiosmtpd", "graphql-core", "jsonschema", "pyyaml"}
DBT_WRITES = ("target", "logs", ".user.yml")  # what dbt leaves in a project run in place


def _uv() -> str:
    uv = REPO / ".tools" / "bin" / "uv"  # what make setup bootstraps
    if uv.exists():
        return str(uv)
    if found := shutil.which("uv"):
        return found
    pytest.skip("uv is not installed (make setup bootstraps it into .tools/)")


def _run(args: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)], cwd=REPO)
    (built,) = out.glob("afterclick-*.whl")
    return built


def test_the_wheel_holds_the_packages_the_dbt_project_and_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/")[0] for name in names if not name.startswith("afterclick-")}
    assert tops == {"afterclick", "ingest", "writeback", "flows", "dashboards", "demo"}
    shipped = {
        name.removeprefix("afterclick/dbt_project/") for name in names if name.startswith("afterclick/dbt_project/")
    }
    in_repo = {
        path.relative_to(REPO / "dbt").as_posix()
        for path in (REPO / "dbt").rglob("*")
        if path.is_file() and path.relative_to(REPO / "dbt").parts[0] not in DBT_WRITES
    }
    assert shipped == in_repo and "dbt_project.yml" in shipped
    assert {"dashboards/app.py", "writeback/templates/en/delivered.txt"} <= names
    assert any(name.startswith("dashboards/views/") for name in names)
    assert not any("__pycache__" in name for name in names)


def test_the_demo_dependencies_come_only_with_the_demo_extra(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    parsed = [Requirement(r) for r in requires]
    base = {r.name for r in parsed if r.marker is None}
    demo = {r.name for r in parsed if r.marker is not None and r.marker.evaluate({"extra": "demo"})}
    assert demo == DEMO_ONLY
    assert not base & DEMO_ONLY and {"duckdb", "dbt-core", "streamlit"} <= base


def test_the_installed_wheel_runs_the_demo_outside_the_repository(wheel, tmp_path):
    uv = _uv()
    locked = tmp_path / "locked.txt"
    _run(
        [
            uv,
            "export",
            "--frozen",
            "--all-extras",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--quiet",
            "--output-file",
            str(locked),
        ],
        cwd=REPO,
    )
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp_path)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    uv_env = {**os.environ, "UV_LINK_MODE": "hardlink"}  # from uv's cache, not copied (falls back to copy)
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--constraint",
            str(locked),
            f"afterclick[demo] @ {wheel.as_uri()}",
        ],
        cwd=tmp_path,
        env=uv_env,
    )

    work = tmp_path / "merchant"  # a folder of the user's, outside the repository
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AFTERCLICK_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        AFTERCLICK_STATE_DIR=str(tmp_path / "state"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )

    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work, env=env
        ).stdout.strip()
    )
    project = Path(
        _run(
            [str(python), "-c", "from afterclick.transform import DBT_PROJECT_DIR; print(DBT_PROJECT_DIR)"],
            cwd=work,
            env=env,
        ).stdout.strip()
    )
    assert project == site_packages / "afterclick" / "dbt_project"
    assert (project / "dbt_project.yml").is_file()

    afterclick = str(bin_dir / "afterclick")
    _run([afterclick, "demo", "--orders", "300", "--days", "30", "--plain", "--no-serve"], cwd=work, env=env)
    counted = _run(
        [afterclick, "sql", "--format", "csv", "select count(*) as orders from fct_orders"], cwd=work, env=env
    ).stdout.split()
    assert counted[0] == "orders" and int(counted[1]) > 0
    # dbt ran on the installed project and wrote only into the state dir: the package stays as installed
    assert not [name for name in DBT_WRITES if (project / name).exists()]
    assert (tmp_path / "state").is_dir() and not list(work.iterdir())
