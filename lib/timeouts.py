"""A reader's function, run with a time limit: an endless loop becomes a message.

:func:`call_reader` calls a function written by a reader (an exercise, an
assignment) and returns either its result or a sentence saying what went
wrong (an exception, or no answer within :data:`SECONDS`), so that a check
never hangs and never crashes on the reader's code.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["SECONDS", "TooSlow", "time_limit", "call_reader"]


SECONDS = 5
"""How long a reader's function may run inside a check before it is stopped."""


class TooSlow(Exception):
    """Raised inside :func:`time_limit` when the time is up."""


@contextmanager
def time_limit(seconds=SECONDS):
    """Stop the block with :class:`TooSlow` after ``seconds`` (main thread, Unix only).

    Elsewhere the block simply runs without a limit. Used so that an
    endless loop in a reader's function becomes a message, not a hang.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise TooSlow(f"did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_reader(function, *args, seconds=SECONDS):
    """``(result, None)`` or ``(None, message)`` for a call of a reader's function.

    Exceptions and endless loops become messages naming what happened.
    """
    name = getattr(function, "__name__", "your function")
    if not callable(function):
        return None, f"{name} should be a function, got {type(function).__name__}."
    try:
        with time_limit(seconds):
            return function(*args), None
    except TooSlow:
        return None, (f"{name} did not finish within {seconds:g} s and was stopped: "
                      f"is there an endless loop?")
    except Exception as err:  # the reader's code: report it, do not crash
        return None, f"{name} raised {type(err).__name__}: {err}"
