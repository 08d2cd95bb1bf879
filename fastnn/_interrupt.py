"""Ctrl-C as a request, not an exception: while training runs, the first
SIGINT only sets a flag that the fit loop reads between chunks of work, so
the model is never left half-way through a step.

Outside the loop's critical sections (the user's callbacks), a second SIGINT
before the loop has seen the first raises KeyboardInterrupt at once (the way
out of a callback that hangs). Outside the main thread, or
when someone else has installed a SIGINT handler, nothing is changed and a
KeyboardInterrupt arrives as usual.
"""
import signal
import threading
from contextlib import contextmanager


class Requests:
    """Whether an interrupt was requested; whether requests are deferred at
    all; whether the loop is in a critical section (where every request waits)."""

    def __init__(self, deferred):
        self.deferred = deferred
        self.requested = False
        self.critical = False

    def __call__(self, signum, frame):
        if self.requested and not self.critical:
            raise KeyboardInterrupt
        self.requested = True


@contextmanager
def deferred_interrupts():
    """Within the block, SIGINT sets ``requests.requested`` instead of raising
    (where that is possible: ``requests.deferred`` says whether it is)."""
    deferrable = (threading.current_thread() is threading.main_thread()
                  and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    requests = Requests(deferrable)
    if not deferrable:
        yield requests
        return
    signal.signal(signal.SIGINT, requests)
    try:
        yield requests
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
