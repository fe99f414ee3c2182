"""Provenance: the commit of medhub's own source checkout (not of the current directory), whether it had
uncommitted changes, and the versions of every library that touched the numbers."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from medhub.leaderboard.provenance import LIBRARIES, package_folder, source_checkout, versions

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed: provenance records no commit without it")


def git(folder: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    out = subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                          "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip()


def repository(folder: Path, package: str = "pkg") -> tuple[Path, str]:
    """A git repository at ``folder`` with one commit holding ``package/__init__.py``; (package folder, commit)."""
    (folder / package).mkdir(parents=True)
    (folder / package / "__init__.py").write_text("x = 1\n")
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "first")
    return folder / package, git(folder, "rev-parse", "HEAD")


@needs_git
def test_the_checkout_holding_the_package_gives_its_commit_and_whether_it_is_dirty(tmp_path):
    package, commit = repository(tmp_path / "src")
    assert source_checkout(package) == (commit, False)
    (package.parent / "notes.txt").write_text("untracked files do not count")
    assert source_checkout(package) == (commit, False)
    (package / "__init__.py").write_text("x = 2\n")
    assert source_checkout(package) == (commit, True)


@needs_git
def test_a_package_git_does_not_track_has_no_commit(tmp_path):
    _, _ = repository(tmp_path / "project")
    site = tmp_path / "project" / ".venv" / "lib" / "site-packages" / "medhub"   # installed inside a repository
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    assert source_checkout(site) == (None, None)
    plain = tmp_path / "plain" / "medhub"
    plain.mkdir(parents=True)
    (plain / "__init__.py").write_text("")
    assert source_checkout(plain) == (None, None)


@needs_git
def test_the_record_names_medhubs_commit_not_the_current_directorys(tmp_path, monkeypatch):
    elsewhere, other_commit = repository(tmp_path / "elsewhere")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GIT_DIR", str(elsewhere.parent / ".git"))       # git's own variables are not followed
    commit, dirty = source_checkout()
    assert commit != other_commit
    folder = package_folder()
    try:
        expected = git(folder, "rev-parse", "HEAD") if git(folder, "ls-files", "--", "__init__.py") else None
    except subprocess.CalledProcessError:
        expected = None                                                  # medhub installed from a wheel
    assert commit == expected and (dirty is None) == (expected is None)


def test_versions_name_every_installed_library_that_touches_the_numbers():
    recorded = versions()
    for must in ("medhub", "python", "torch", "numpy", "scipy", "nibabel", "SimpleITK", "pydicom", "onnx",
                 "onnxruntime", "plugins"):
        assert must in recorded, must
    for name, distributions in LIBRARIES.items():
        installed = []
        for dist in distributions:
            try:
                installed.append(version(dist))
            except PackageNotFoundError:
                pass
        assert (name in recorded) == bool(installed), name
    assert recorded["numpy"] == version("numpy") and recorded["plugins"]
