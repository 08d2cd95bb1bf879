"""Build the Cython kernels under fastnn/_kernels/cython with -O3 (OpenMP only if the compiler has it)."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _compiler_supports_openmp():
    """True when the C compiler builds and links a file with -fopenmp."""
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "omp.c")
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        try:
            done = subprocess.run([cc, "-fopenmp", str(src), "-o", str(Path(tmp, "omp"))],
                                  capture_output=True)
        except OSError:
            return False
        return done.returncode == 0


def _extensions():
    # -fno-math-errno: sqrt need not set errno, so loops calling it vectorise.
    compile_args = ["-O3", "-fno-math-errno"] if sys.platform != "win32" else ["/O2"]
    link_args = []
    if sys.platform != "win32" and _compiler_supports_openmp():
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    sources = sorted(Path("fastnn/_kernels/cython").glob("*.pyx"))
    return [
        Extension(
            "fastnn._kernels.cython." + src.stem,
            [str(src)],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        )
        for src in sources
    ]


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
