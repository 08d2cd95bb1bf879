"""Model files as ``.npz`` archives: written atomically, read header first.

Writing goes to a temporary file named ``.fastnn-<pid>-<random>.tmp`` in the
target folder, created with mode 0666 masked by the umask, then renamed over
the target: a reader sees the old file or the new one, never a mixture. The
temporary file is removed on any exception; one left by a killed process
(whose pid no longer runs) is removed by the next save into that folder.

Reading never unpickles and never decompresses an array before its header
(shape and dtype, ``numpy.lib.format``) has been checked against what the
caller expects, so a file costs no more memory than the arrays it may hold.
"""
import os
import re
import secrets
import zipfile

import numpy as np

TEMP_PATTERN = re.compile(r"\.fastnn-(\d+)-[0-9a-f]{16}\.tmp\Z")
MAX_TEXT = 64     # characters of a string field


def write_atomic(path, arrays):
    """Write ``arrays`` (name -> array) as an .npz file at ``path`` atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temps(folder)
    tmp = os.path.join(folder, f".fastnn-{os.getpid()}-{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def remove_stale_temps(folder):
    """Remove this module's temporary files in ``folder`` whose writer is gone."""
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


class Archive:
    """An .npz file opened for checked reading; ``Archive.Invalid`` (a
    ValueError) says what is wrong with it."""

    class Invalid(ValueError):
        pass

    def __init__(self, path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise self.Invalid(f"not an .npz archive ({exc})") from None
        files = [info.filename for info in self.zip.infolist()]
        if len(set(files)) != len(files):
            raise self.Invalid("it holds the same entry twice")
        self.names = [f[:-4] for f in files if f.endswith(".npy")]
        self.others = [f for f in files if not f.endswith(".npy")]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def require(self, names):
        """The archive must hold exactly the arrays ``names``."""
        missing = [n for n in names if n not in self.names]
        extra = [n for n in self.names if n not in names] + self.others
        if missing:
            raise self.Invalid(f"it lacks {', '.join(map(repr, missing))}")
        if extra:
            raise self.Invalid(f"it holds unknown entries {', '.join(map(repr, extra))}")

    def read(self, name, kinds, shape=None, max_size=None, itemsize=None):
        """Array ``name`` after its header passed: dtype kind in ``kinds``,
        ``shape`` (a tuple; None for any 1-D shape of at most ``max_size``
        entries) and, when given, ``itemsize`` bytes per entry."""
        if name not in self.names:
            raise self.Invalid(f"it lacks {name!r}")
        info = self.zip.getinfo(name + ".npy")
        try:
            with self.zip.open(info) as f:
                dtype, found = self._header(f, name)
                if dtype.kind not in kinds or (itemsize is not None and dtype.itemsize != itemsize):
                    raise self.Invalid(f"{name!r} has dtype {dtype}")
                if (shape is not None and found != shape) or (
                        shape is None and (len(found) != 1 or found[0] > max_size)):
                    raise self.Invalid(f"{name!r} has shape {found}")
                count = int(np.prod(found, dtype=np.int64))
                if info.file_size - f.tell() < count * dtype.itemsize:
                    raise self.Invalid(f"{name!r} is truncated")
                data = f.read(count * dtype.itemsize)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError,
                NotImplementedError) as exc:
            raise self.Invalid(f"{name!r} cannot be read ({exc})") from None
        if len(data) != count * dtype.itemsize:
            raise self.Invalid(f"{name!r} is truncated")
        return np.frombuffer(data, dtype=dtype).reshape(found)

    def read_text(self, name):
        return str(self.read(name, "U", shape=())[()])

    def _header(self, f, name):
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"format version {version}")
        except ValueError as exc:
            raise self.Invalid(f"{name!r} has no valid .npy header ({exc})") from None
        if dtype.hasobject or dtype.kind == "U" and dtype.itemsize > 4 * MAX_TEXT:
            raise self.Invalid(f"{name!r} has dtype {dtype}")
        return dtype, tuple(shape)
