"""Signals other apps hear, so that scripts_api never imports them (imports point down)."""

from django.dispatch import Signal

# Sent by `scripts_sync` inside its transaction, after the Script table was brought in line:
# `specs` (the catalog's `ScriptSpec` of every file published now) and `kept` (the slugs whose
# new content was rejected: they stay at their last good version, and so do their schedules).
# A receiver may return lines for `sync_scripts` to print.
scripts_synced = Signal()

# Sent by `manage.py db_worker` once it is ready to run tasks, before its loop starts: an app
# with periodic work (the schedules' tick loop) starts its own daemon thread here.
worker_started = Signal()
