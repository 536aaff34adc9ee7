"""Calls released at the same instant, each in its own thread and database connection (for
races that only PostgreSQL can run: SQLite's test database cannot be shared by threads)."""

import threading

from django.db import connection
from rest_framework.exceptions import APIException


def run_together(*calls):
    """Run each call in its own thread and connection, released at the same instant."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except APIException as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
