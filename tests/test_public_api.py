"""The public surface (``from medhub import ...``) and the old import paths kept for one release."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest
from medhub.core._moved import MOVED

import medhub


def test_every_public_name_resolves_to_its_defining_module():
    for name in medhub.__all__:
        value = getattr(medhub, name)
        assert value is not None, name
    from medhub.core.registry import DatasetInfo
    from medhub.core.submission.formats import SubmissionFormat

    assert medhub.DatasetInfo is DatasetInfo and medhub.SubmissionFormat is SubmissionFormat
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        medhub.nope  # noqa: B018


def printed(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_public_surface_imports_nothing_heavy():
    code = ("import sys\nfrom medhub import hookimpl, DatasetInfo, ModelInfo, LayoutInfo, MetricInfo, Source, "
            "SubmissionFormat, check_csv_package, write_csv, module_model, MedhubError\n"
            "print(sorted(m for m in ('torch', 'numpy', 'SimpleITK', 'pandas') if m in sys.modules))\n")
    assert printed(code) == "[]"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_import_paths_warn_and_forward_to_the_new_modules(old):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message) for w in caught)
    first = importlib.import_module(MOVED[old][0])
    public = [n for n in vars(first) if not n.startswith("_") and getattr(getattr(first, n), "__module__", None)
              == first.__name__]
    assert public, MOVED[old][0]
    for name in public:
        assert getattr(module, name) is getattr(first, name)
    with pytest.raises(AttributeError, match="moved"):
        module.no_such_name  # noqa: B018


def test_old_attributes_of_the_acquire_module_are_forwarded_by_the_new_package():
    from medhub.core.acquire import acquisition, verify

    with pytest.warns(DeprecationWarning, match="medhub.core.acquire.acquire moved"):
        from medhub.core.acquire import acquire
    assert acquire is acquisition.acquire
    with pytest.warns(DeprecationWarning):
        from medhub.core.acquire import check_layout
    assert check_layout is verify.check_layout


def test_the_python_api_and_the_leaderboard_resolve_without_importing_torch_or_numpy():
    code = ("import sys, medhub\nfrom medhub import dataset, model, evaluate, collate\n"
            "print(medhub.leaderboard.load.__module__, medhub.dataset.__module__, "
            "sorted(m for m in ('torch', 'numpy', 'pandas', 'monai') if m in sys.modules))\n")
    assert printed(code) == "medhub.leaderboard medhub.api []"
    assert {"dataset", "model", "evaluate", "collate"} <= set(medhub.__all__)
