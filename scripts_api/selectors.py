"""Read-side queries over scripts and runs, applying the policies of `users.roles`."""

import time

from django.conf import settings
from rest_framework import exceptions

from scripts_api.execution import runs_reap_expired
from scripts_api.models import Run, RunStatus, Script
from users import roles


def scripts_for(user) -> list[Script]:
    """The published scripts `user` may run."""
    scripts = Script.objects.filter(is_published=True).defer("source")
    return [script for script in scripts if script.allows(user.level)]


def script_for(user, slug: str) -> Script:
    """The published script `slug`, if `user` may run it: 404 when unknown, 403 when not."""
    # The source is the workers' business: the web never needs it.
    script = Script.objects.filter(slug=slug, is_published=True).defer("source").first()
    if script is None:
        raise exceptions.NotFound("No such script.")
    if not script.allows(user.level):
        needed = (
            f"the '{script.policy}' policy"
            if isinstance(script.policy, str)
            else f"one of the levels {', '.join(script.policy)}"
        )
        raise exceptions.PermissionDenied(f"This script requires {needed}.", code="policy_denied")
    return script


def runs_visible_to(user):
    """Runs `user` may see: their own, or everyone's under the `admin` policy."""
    runs = Run.objects.select_related("script")
    return runs if roles.allows("admin", user.level) else runs.filter(user=user)


def run_for(user, run_id) -> Run:
    """A run `user` may see; anyone else's gives 404, as if it did not exist."""
    run = runs_visible_to(user).filter(pk=run_id).first()
    if run is None:
        raise exceptions.NotFound("No such run.")
    # Workers reap expired leases; a reader reaps only what no worker did for two leases (none
    # is alive), so that it never races a worker that is renewing after a database outage.
    lease = 2 * settings.RUN_LEASE_SECONDS
    if (
        run.status == RunStatus.RUNNING
        and Run.objects.lease_expired(lease_seconds=lease).filter(pk=run.pk).exists()
    ):
        runs_reap_expired(lease_seconds=lease)
        run.refresh_from_db()
    return run


def run_wait(run: Run, seconds: float) -> Run:
    """Poll `run` until it finishes or `seconds` pass; holds no transaction while it waits."""
    started = time.monotonic()
    deadline = started + seconds
    status = Run.objects.filter(pk=run.pk).values_list("status", flat=True)
    while not run.is_finished:
        now = time.monotonic()
        if now >= deadline:
            break
        # Poll often while a short run may finish, then back off: a waiting request should
        # not eat the CPU the workers need. Only the status is read until it changes.
        elapsed = now - started
        delay = 0.002 if elapsed < 0.1 else 0.01 if elapsed < 1 else 0.05
        time.sleep(min(delay, deadline - now))
        current = status.first()
        if current is None:
            raise exceptions.NotFound("No such run.")
        if current != run.status:
            run.refresh_from_db()  # the answer says where the run is now, not where it was
    return run
