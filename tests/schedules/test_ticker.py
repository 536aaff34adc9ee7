"""The loop each worker runs: a failing round is logged, and the next one tries again."""

import pytest

from schedules import ticker


def test_a_failing_round_is_logged_and_does_not_stop_the_loop(monkeypatch, caplog, db):
    calls = []

    def fire_due():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return 2

    monkeypatch.setattr(ticker, "fire_due", fire_due)
    ticker.tick_once()
    ticker.tick_once()
    assert len(calls) == 2
    assert "firing due ticks failed" in caplog.text
    assert "Schedules: 2 ticks handled." in caplog.text


@pytest.mark.django_db
def test_the_worker_started_signal_starts_the_loop(monkeypatch):
    from scripts_api.signals import worker_started

    started = []
    monkeypatch.setattr(ticker, "start", lambda: started.append(True))
    worker_started.send(sender=None)
    assert started == [True]
