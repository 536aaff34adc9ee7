"""A script file's own schedule: `SCHEDULE`, `SCHEDULE_PARAMS`, `SCHEDULE_TIMEZONE`,
`SCHEDULE_AS` (docs/writing-scripts.md), checked without executing the file."""

from django.conf import settings
from rest_framework.exceptions import ValidationError

from scripts_api.cron import cron_problem, zone_problem
from scripts_api.params import validate_params

NAMES = ("SCHEDULE", "SCHEDULE_PARAMS", "SCHEDULE_TIMEZONE", "SCHEDULE_AS")


class ScheduleProblem(ValueError):
    """The file's schedule constants break a rule; the message says which."""


def _params_problem(schema: dict, params: dict) -> str | None:
    try:
        validate_params(schema, params)
    except ValidationError as error:
        detail = error.detail.get("params", error.detail)
        if isinstance(detail, dict):
            return "; ".join(f"{name}: {' '.join(map(str, why))}" for name, why in detail.items())
        return " ".join(map(str, detail))
    return None


def read(values: dict, params_schema: dict) -> dict | None:
    """The schedule declared by `values` (the literal values of the file's schedule constants
    that are present): {"cron", "timezone", "params", "run_as"}, or None when the file declares
    none. Raises `ScheduleProblem` with the reason when it is invalid."""
    if "SCHEDULE" not in values:
        extra = [name for name in NAMES if name in values]
        if extra:
            raise ScheduleProblem(f"{', '.join(extra)} without SCHEDULE: declare SCHEDULE too.")
        return None
    cron = values["SCHEDULE"]
    problem = cron_problem(cron)
    if problem:
        raise ScheduleProblem(f"SCHEDULE: {problem}")
    zone = values.get("SCHEDULE_TIMEZONE", settings.SCHEDULES_DEFAULT_TIMEZONE)
    problem = zone_problem(zone)
    if problem:
        raise ScheduleProblem(f"SCHEDULE_TIMEZONE: {problem}")
    run_as = values.get("SCHEDULE_AS")
    if not isinstance(run_as, str) or not run_as.strip():
        raise ScheduleProblem(
            'SCHEDULE_AS is missing: name the user the scheduled runs run as, e.g. "reports".'
        )
    params = values.get("SCHEDULE_PARAMS", {})
    if not isinstance(params, dict):
        raise ScheduleProblem("SCHEDULE_PARAMS must be a dict of parameter names to values.")
    problem = _params_problem(params_schema, params)
    if problem:
        raise ScheduleProblem(f"SCHEDULE_PARAMS: {problem}")
    return {"cron": " ".join(cron.split()), "timezone": zone, "params": params, "run_as": run_as}
