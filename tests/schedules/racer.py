"""A process that races others on `fire_due`: every process waits at a barrier, then fires
the same clock time at the same moment (tests/schedules/test_concurrency.py)."""

import os


def race(barrier, database_url: str, times: list, results) -> None:
    """In a fresh process: set Django up on the test database, then for each time in `times`
    wait for every racer and call `fire_due(time)`; put how many ticks this process handled."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="simple_rbas.settings",
        DJANGO_READ_DOT_ENV_FILE="false",
        SECRET_KEY="racer-test-secret",
        DATABASE_URL=database_url,
        MAX_ACTIVE_RUNS_PER_USER="1000",
    )
    import django

    django.setup()
    from schedules.services import fire_due

    handled = 0
    for now in times:
        barrier.wait(timeout=60)
        handled += fire_due(now)
    results.put(handled)
