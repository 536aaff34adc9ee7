"""Read-side queries over scripts and runs, applying the policies of `users.roles`."""

import time

from django.conf import settings
from rest_framework import exceptions

from scripts_api.execution import runs_reap_expired
from scripts_api.models import Run, RunStatus, Script
from scripts_api.waiting import wait_room
from users import roles

# Who a policy lets in, as the web app says it too (web/static/web/words.js).
POLICY_WORDS = {
    "authenticated": "everyone signed in",
    "staff": "staff only",
    "admin": "admins only",
    "investor": "owners and investors",
    "owner": "owners only",
}


def policy_in_words(policy: str | list[str]) -> str:
    """Who may run a script, for people: "staff only", or the levels' names for a list of keys."""
    if isinstance(policy, str):
        return POLICY_WORDS.get(policy, policy)
    names = (roles.LEVELS_BY_KEY[key].label for key in policy if key in roles.LEVELS_BY_KEY)
    return "the levels " + ", ".join(names)


def scripts_for(levels: tuple[int, ...]) -> list[Script]:
    """The published scripts that all of `levels` (`roles.request_levels`) may run."""
    scripts = Script.objects.filter(is_published=True).defer("source")
    return [script for script in scripts if script.allows(*levels)]


def script_for(levels: tuple[int, ...], slug: str) -> Script:
    """The published script `slug`, if all of `levels` may run it: 404 when unknown, 403 when
    not."""
    # The source is the workers' business: the web never needs it. (`get`, not `first`: no
    # ORDER BY to compile on a unique slug, about 80 µs a request.)
    try:
        script = Script.objects.defer("source").get(slug=slug, is_published=True)
    except Script.DoesNotExist:
        raise exceptions.NotFound("No such script.") from None
    if not script.allows(*levels):
        raise exceptions.PermissionDenied(
            f"This script is for {policy_in_words(script.policy)}.", code="policy_denied"
        )
    return script


def runs_visible_to(user, levels: tuple[int, ...]):
    """Runs `user` may see: their own, or everyone's when all of `levels` satisfy `admin`."""
    runs = Run.objects.select_related("script")
    return runs if roles.allows("admin", *levels) else runs.filter(user=user)


def run_for(user, levels: tuple[int, ...], run_id) -> Run:
    """A run `user` (with `levels`) may see; anyone else's gives 404, as if it did not exist."""
    run = runs_visible_to(user, levels).filter(pk=run_id).first()
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
    """`run` once it has finished, or as it is after `seconds` (or at once, when this process
    holds as many waits as it may, or is stopping: see `scripts_api.waiting`)."""
    deadline = time.monotonic() + seconds
    while not run.is_finished and (remaining := deadline - time.monotonic()) > 0:
        if wait_room.wait(run, remaining) != "changed":
            break  # refused (answered at once), or the run is as it was
        try:
            run = Run.objects.select_related("script").get(pk=run.pk)
        except Run.DoesNotExist:
            raise exceptions.NotFound("No such run.") from None
    return run


def scripts_declaring_secrets(names) -> dict[str, list[str]]:
    """Secret name -> slugs of the published scripts that declare it (for the vault app)."""
    wanted, found = set(names), {}
    for slug, secrets in Script.objects.filter(is_published=True).values_list("slug", "secrets"):
        for name in wanted.intersection(secrets or []):
            found.setdefault(name, []).append(slug)
    return found
