"""The documentation site builds strictly: a broken link, a missing anchor or a page left out of the
navigation fails it (what `make docs` runs before the test suite)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_site_builds_strictly_with_its_generated_reference_pages(tmp_path):
    built = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "configuration.html").is_file()
    assert (tmp_path / "site" / "reference" / "cli.html").is_file()
    assert "AFTERCLICK_SMTP__HOST" in (tmp_path / "site" / "configuration.html").read_text()


def test_a_broken_link_fails_the_build(tmp_path):
    """Strict mode really counts warnings (mkdocs' --quiet, for one, would hide them)."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "getting-started.md").write_text(
        (docs / "getting-started.md").read_text() + "\n[a page that is not there](nowhere.md)\n"
    )
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        (ROOT / "mkdocs.yml")
        .read_text()
        .replace("docs_dir: docs", f"docs_dir: {docs}")
        .replace("  - docs/hooks/reference.py", f"  - {docs}/hooks/reference.py")
    )
    built = _build(config, tmp_path / "site")
    assert built.returncode != 0
    assert "nowhere.md" in built.stderr
