"""Provenance of a result: medhub's own source commit and the versions of everything that computed its numbers.

``git_commit`` is the commit of the git checkout that holds the imported ``medhub`` package's files (found from
``medhub.__file__``, never from the current directory), and ``git_dirty`` whether its tracked files had
uncommitted changes; both are None when medhub runs from an installed wheel (or git is missing). The versions
are medhub's, Python's, each installed numerical / image library's (:data:`LIBRARIES`) and each loaded plugin's
distribution.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

# Distributions whose code reads the images or computes the numbers of a run, as the record names them; each
# tuple lists the distribution names that provide it (the first installed one is recorded).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",), "scipy": ("scipy",), "torch": ("torch",), "nibabel": ("nibabel",),
    "SimpleITK": ("SimpleITK", "simpleitk"), "pydicom": ("pydicom",), "onnx": ("onnx",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "tifffile": ("tifffile",), "h5py": ("h5py",),
    "pillow": ("pillow", "Pillow"), "imagecodecs": ("imagecodecs",),
}
GIT_TIMEOUT_S = 5


def _git(folder: Path, *args: str) -> str | None:
    """The stripped stdout of ``git -C folder ARGS`` (None when git is missing, fails or takes too long). Git's
    own variables that would point it elsewhere (``GIT_DIR``, ``GIT_WORK_TREE``, ...) are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, env=env,
                             timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def package_folder() -> Path:
    """The folder of the imported ``medhub`` package (where its ``__init__.py`` lies)."""
    import medhub

    return Path(medhub.__file__).resolve().parent


def source_checkout(folder: Path | None = None) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout holding medhub's package files (``folder``, default
    :func:`package_folder`): the ``HEAD`` commit and whether tracked files differ from it (staged or not;
    untracked files do not count, as for ``git describe --dirty``). ``(None, None)`` when the package is not a
    tracked part of a git checkout (an installed wheel, or a site-packages folder that merely lies inside some
    repository)."""
    folder = package_folder() if folder is None else Path(folder)
    if _git(folder, "ls-files", "--error-unmatch", "--", "__init__.py") is None:
        return None, None
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status)


def git_commit() -> str | None:
    """The commit of medhub's own source checkout, or None (see :func:`source_checkout`)."""
    return source_checkout()[0]


def library_versions() -> dict[str, str]:
    """The installed version of each library in :data:`LIBRARIES` (those not installed are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, distributions in LIBRARIES.items():
        for dist in distributions:
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


def versions() -> dict[str, object]:
    """The versions a result record carries: medhub, Python, torch (as imported, with its build suffix), the
    installed numerical / image libraries and every loaded plugin's distribution."""
    import torch
    from medhub.core.plugin_manager import loaded

    import medhub

    return {"medhub": medhub.__version__, "python": platform.python_version(), **library_versions(),
            "torch": torch.__version__, "plugins": loaded().versions()}
