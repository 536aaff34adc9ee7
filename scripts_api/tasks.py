"""The queue task: a worker (`manage.py db_worker`) executes one run per task."""

from django_tasks import task

from scripts_api.dependencies import environment_prepare
from scripts_api.execution import run_execute


@task()
def execute_run(run_id: str) -> str:
    """Execute the queued run `run_id` in the sandbox; returns its final status."""
    return run_execute(run_id=run_id)


@task()
def prepare_environment(digest: str) -> str:
    """Resolve and build the environment of dependency set `digest` on this worker's host."""
    return environment_prepare(digest=digest)
