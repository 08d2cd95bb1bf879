"""Reading ``.npz`` archives header first (writing: :mod:`fastnn._files`).

Reading never unpickles and never decompresses an array before its header
(shape and dtype, ``numpy.lib.format``) has been checked against what the
caller expects, so a file costs no more memory than the arrays it may hold.
"""
import zipfile

import numpy as np

MAX_TEXT = 64     # characters of a string field


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
