"""``hub submit``: a run's test-set predictions packaged in the challenge's format, validated before it is written."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.submission.formats import CSV, NIFTI_ARCHIVE, SubmissionFormat


# ----------------------------------------------------------------------------- driver
def format_for(info: Any) -> SubmissionFormat:
    """The dataset's submission format: its layout's, else the task default."""
    from medhub.core.plugin_manager import get_registry
    from medhub.core.registry import resolve_ref

    layout = get_registry().layout(info.layout)
    if layout.submission is not None:
        fmt = layout.submission
        return resolve_ref(fmt) if isinstance(fmt, str) else fmt
    return NIFTI_ARCHIVE if info.task == "segmentation" else CSV


def validate_package(package: Path, run_id: str) -> list[str]:
    """Problems of ``package`` as a submission of ``run_id``'s dataset (empty list: valid)."""
    from medhub.core.inference.run_loading import run_folder, split_cases_of
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runconfig.saved import read_saved_config

    config = read_saved_config(run_folder(run_id))
    info = get_registry().dataset(config.dataset)
    if not zipfile.is_zipfile(package):
        return [f"{package}: not a zip archive"]
    return format_for(info).check(Path(package), split_cases_of(config, info, "test"), info)


def submit_run(run_id: str, out: Path | None = None, tta: bool = False, device: str | None = None,
               quiet: bool = False) -> Path:
    """Predict the test split when needed, build the package, validate it, then move it to ``out``."""
    import json

    from medhub.core.folders import missing_dirs, remove_empty_dirs
    from medhub.core.inference.predict import predict_run
    from medhub.core.inference.run_loading import run_folder, split_cases_of
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runconfig.saved import read_saved_config

    folder = run_folder(run_id)
    run_id = folder.name
    config = read_saved_config(folder)
    info = get_registry().dataset(config.dataset)
    fmt = format_for(info)
    if out is not None:
        check_out_suffix(Path(out), fmt, info)  # before any prediction: a wrong name costs nothing
    cases = split_cases_of(config, info, "test")
    manifest_path = folder / "predictions" / "test" / "predictions.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if manifest is None or manifest.get("tta") != tta or len(manifest["cases"]) != len(cases):
        manifest = predict_run(run_id, "test", tta=tta, device=device, quiet=quiet)
    out = Path(out) if out is not None else folder / f"submission-{info.id.replace('/', '-')}{fmt.suffix}"
    created = missing_dirs(out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _package(run_id, manifest, cases, info, fmt, out)
    except BaseException:
        remove_empty_dirs(created)  # a failed package leaves no folder it made behind
        raise
    return out


def check_out_suffix(out: Path, fmt: SubmissionFormat, info: Any) -> None:
    """Refuse an ``--out`` whose name does not end in the format's suffix (a zip named ``.tar`` misleads
    whoever unpacks or uploads it)."""
    if out.is_dir():
        raise MedhubError(f"--out {out}: a folder; give the archive's file name, e.g. "
                          f"{out / ('submission-' + info.id.replace('/', '-') + fmt.suffix)}")
    if not out.name.lower().endswith(fmt.suffix.lower()):
        stem = _stem(out.name)
        name = stem if stem.lower().endswith(fmt.suffix.lower()) else stem + fmt.suffix
        raise MedhubError(f"--out {out}: {info.id} is submitted as a {fmt.suffix} archive (format {fmt.id}), so "
                          f"the file name must end in {fmt.suffix}: use --out {out.with_name(name)}")


def _stem(name: str) -> str:
    """``name`` without its archive suffix (``sub.tar.gz`` -> ``sub``, ``sub.tar`` -> ``sub``)."""
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", Path(name).suffix):
        if suffix and name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _package(run_id: str, manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, fmt: SubmissionFormat,
             out: Path) -> None:
    """Build the package in a staging folder next to ``out``, validate it, then move it to ``out``."""
    with tempfile.TemporaryDirectory(prefix=".medhub-submit-", dir=out.parent) as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        files = fmt.build(manifest, cases, info, staging)
        archive = Path(tmp) / f"package{fmt.suffix}"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(files):
                zf.write(f, f.relative_to(staging).as_posix())
        problems = fmt.check(archive, cases, info)
        if problems:
            listing = "\n  ".join(problems)
            raise MedhubError(f"the {fmt.id} package for run {run_id} failed validation; nothing was written:\n  "
                              f"{listing}")
        archive.replace(out)
