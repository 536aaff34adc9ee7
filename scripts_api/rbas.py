"""The module scripts import as `rbas`: `rbas.progress(0.4, "step 2")` shows a progress bar.

The sandbox server imports this file once and every run's child finds it in `sys.modules` as
`rbas` (whatever the child's `sys.path`). In the child, `channel` is the write end of a pipe of
its own (sandbox_server.PROGRESS_FD), so nothing a script prints can pose as its progress.
Outside a run (`channel` is None) `progress` checks its arguments and does nothing, so a script
runs unchanged on its author's machine.
"""

import json
import math
import os
import time

# How long a message may be; longer ones are cut.
MAX_MESSAGE_CHARS = 200
# Updates that change only the fraction are written at most this often; a held one is written
# with the next call, or when the script ends (`flush`).
FRACTION_INTERVAL_SECONDS = 0.05

channel: int | None = None
_sent: tuple[float, str] | None = None
_sent_at = 0.0
_held: tuple[float, str] | None = None


def progress(fraction: float, message: str = "") -> None:
    """Report how far the script is: `fraction` from 0 to 1 (clamped), and a short message."""
    global _held
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"progress() needs a number from 0 to 1, not {type(fraction).__name__}")
    if math.isnan(fraction):
        raise ValueError("progress() needs a number from 0 to 1, not NaN")
    if not isinstance(message, str):
        raise TypeError(f"progress()'s message must be a str, not {type(message).__name__}")
    update = (min(max(float(fraction), 0.0), 1.0), message[:MAX_MESSAGE_CHARS])
    if channel is None or update == _sent:
        _held = None
        return
    same_step = _sent is not None and update[1] == _sent[1]
    if same_step and time.monotonic() - _sent_at < FRACTION_INTERVAL_SECONDS:
        _held = update
        return
    _write(update)


def flush() -> None:
    """Write the update held back by the rate limit, if any (the script is ending)."""
    if _held is not None:
        _write(_held)


def _write(update: tuple[float, str]) -> None:
    global _sent, _sent_at, _held
    line = json.dumps({"fraction": update[0], "message": update[1]}).encode() + b"\n"
    try:
        written = os.write(channel, line)
    except BlockingIOError:
        written = 0  # the server is behind: keep the newest, send it with the next call
    except OSError:
        return  # the channel is gone (the run is ending): nothing to report to
    if written == len(line):
        _sent, _sent_at, _held = update, time.monotonic(), None
    else:
        _held = update
