"""Files written atomically: a temporary file in the target's folder, renamed
over the target only once it is complete, so a reader never sees half a file.

The temporary file is named ``.fastnn-<pid>-<random><suffix>.tmp``, created with mode
0666 masked by the umask (so the final file's mode follows the umask, as
``open`` would give), flushed to disk before the rename, and removed on any
exception. One left behind by a killed process (whose pid no longer runs) is
removed by the next write into that folder.
"""
import contextlib
import os
import re
import secrets

TEMP_PATTERN = re.compile(r"\.fastnn-(\d+)-[0-9a-f]{16}(\.\w+)?\.tmp\Z")


@contextlib.contextmanager
def atomic_writer(path, suffix=""):
    """A binary file object whose content replaces ``path`` when the block ends
    without an exception (and is discarded otherwise)."""
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temps(folder)
    tmp = os.path.join(folder, f".fastnn-{os.getpid()}-{secrets.token_hex(8)}{suffix}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def remove_stale_temps(folder):
    """Remove the temporary files of :func:`atomic_writer` in ``folder`` whose
    writer no longer runs."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = TEMP_PATTERN.match(name)
        if match and not _running(int(match.group(1))):
            _remove(os.path.join(folder, name))


def _running(pid):
    if pid == os.getpid():
        return False            # this process writes one file at a time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
