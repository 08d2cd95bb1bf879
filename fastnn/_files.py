"""Files written atomically: a temporary file in the target's folder, renamed
over the target only once it is complete, so a reader never sees half a file."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_writer(path, suffix=""):
    """A binary file object whose content replaces ``path`` when the block ends
    without an exception (and is discarded otherwise)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
