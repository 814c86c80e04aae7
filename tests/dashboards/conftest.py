"""The dashboards' shared fixture: the built demo world published as the serving snapshot."""

from __future__ import annotations

import pytest

from afterclick import runs, warehouse


@pytest.fixture(scope="session")
def snapshot(built):
    settings, first, second = built
    for build in (first, second):  # the world's two builds, recorded as transform runs
        run_id, started_at = runs.start_run()
        runs.finish_run(
            settings,
            run_id,
            "transform",
            started_at,
            "success",
            {
                "transform": {"models_built": build.models_built, "tests_failed": build.tests_failed},
                "seconds": build.seconds,
            },
        )
    warehouse.publish(settings)
    return settings
