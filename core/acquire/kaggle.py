"""Kaggle downloads through the optional ``kaggle`` package, with the user's own API token.

A dataset card names its Kaggle source in ``layout_options["kaggle"]``:

- ``{"kaggle": {"competition": "<slug>"}}`` for competition data (the rules must be accepted on the
  competition's page first), or
- ``{"kaggle": {"dataset": "<owner>/<name>"}}`` for a Kaggle dataset.

``hub download ID`` (without ``--file``) on a card with ``access="kaggle"`` calls :func:`fetch_kaggle`:
the zip Kaggle serves goes into ``$MEDHUB_HOME/datasets/<id>/downloads/`` and is extracted into the
dataset folder, after which the layout is verified as for any other download. Kaggle publishes no
checksums for these zips, so none is checked; the layout check is what guards the result.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.ids import check_file_name
from medhub.core.registry import DatasetInfo

OPTION = "kaggle"
INSTALL = 'pip install "medhub[kaggle]"'
TOKEN_PAGE = "https://www.kaggle.com/settings"


def kaggle_source(info: DatasetInfo) -> tuple[str, str] | None:
    """``("competition", slug)`` or ``("dataset", "owner/name")`` from the card, or None."""
    spec = info.layout_options.get(OPTION)
    if not isinstance(spec, dict):
        return None
    for kind in ("competition", "dataset"):
        if spec.get(kind):
            return kind, str(spec[kind])
    return None


def page_url(kind: str, ref: str) -> str:
    """The Kaggle web page of a competition or dataset."""
    return f"https://www.kaggle.com/competitions/{ref}" if kind == "competition" else f"https://www.kaggle.com/datasets/{ref}"


def rules_url(slug: str) -> str:
    """Where a competition's rules are accepted (needed before its data can be downloaded)."""
    return f"https://www.kaggle.com/competitions/{slug}/rules"


def cli_command(kind: str, ref: str) -> str:
    """The ``kaggle`` command that fetches the same zip by hand."""
    return f"kaggle competitions download -c {ref}" if kind == "competition" else f"kaggle datasets download -d {ref}"


def zip_name(kind: str, ref: str) -> str:
    """The file name Kaggle gives the zip: ``<slug>.zip`` or ``<dataset name>.zip``."""
    return f"{ref.rsplit('/', 1)[-1]}.zip"


def token_paths() -> list[Path]:
    """The files the kaggle package reads a token from (first existing one wins)."""
    paths = []
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        paths.append(Path(os.environ["KAGGLE_CONFIG_DIR"]).expanduser() / "kaggle.json")
    home = Path("~").expanduser()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    paths += [home / ".kaggle" / "kaggle.json", xdg / "kaggle" / "kaggle.json", home / ".kaggle" / "access_token"]
    return paths


def has_token() -> bool:
    """Whether a Kaggle API token is configured (environment variables or a token file)."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    if os.environ.get("KAGGLE_API_TOKEN"):
        return True
    return any(p.is_file() for p in token_paths())


def manual_route(info: DatasetInfo, kind: str, ref: str) -> str:
    """The by-hand alternative: fetch the zip yourself, then ``--file`` or ``hub link``."""
    return (f"or get the data by hand: {cli_command(kind, ref)} (or from {page_url(kind, ref)}), then run\n"
            f"  hub download {info.id} --file {zip_name(kind, ref)}\n"
            f"or, for a copy already extracted: hub link {info.id} DIR")


def load_api(info: DatasetInfo, kind: str, ref: str) -> Any:
    """The authenticated ``kaggle.api`` object; MedhubError when the package or the token is missing."""
    installed = "kaggle" in sys.modules and sys.modules["kaggle"] is not None
    if not installed:
        try:
            installed = importlib.util.find_spec("kaggle") is not None
        except (ImportError, ValueError):
            installed = False
    if not installed:
        raise MedhubError(f'downloading "{info.id}" from Kaggle needs the kaggle package, which is not installed: '
                          f"{INSTALL}\n{manual_route(info, kind, ref)}")
    if not has_token():
        raise MedhubError(
            f'downloading "{info.id}" from Kaggle needs your Kaggle API token, and none was found.\n'
            f"1. Sign in at https://www.kaggle.com, open {TOKEN_PAGE} and click \"Create New Token\" (API section).\n"
            f"2. Save the kaggle.json it gives you as ~/.kaggle/kaggle.json (chmod 600), or set the environment "
            f"variables KAGGLE_USERNAME and KAGGLE_KEY.\n3. Run: hub download {info.id}\n{manual_route(info, kind, ref)}")
    try:
        module = importlib.import_module("kaggle")  # the package authenticates when imported
    except ImportError as exc:
        raise MedhubError(f"the kaggle package cannot be imported ({exc}): {INSTALL}\n{manual_route(info, kind, ref)}") from None
    except (OSError, ValueError) as exc:
        raise MedhubError(f"the kaggle package did not accept your API token ({exc}); create a new token at "
                          f"{TOKEN_PAGE} and save it as ~/.kaggle/kaggle.json\n{manual_route(info, kind, ref)}") from None
    api = getattr(module, "api", None)
    if api is None:
        raise MedhubError(f"the installed kaggle package has no kaggle.api object; upgrade it: {INSTALL}")
    return api


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception of the kaggle package (any version) carries, if any."""
    for attr in ("status", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    value = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(value, int):
        return value
    match = re.search(r"\b(401|403|404)\b", str(exc))
    return int(match.group(1)) if match else None


def _refused(info: DatasetInfo, kind: str, ref: str, status: int | None, exc: BaseException) -> MedhubError:
    if status == 403:
        if kind == "competition":
            return MedhubError(
                f'Kaggle refused the download of competition "{ref}" (HTTP 403): its rules are not accepted yet.\n'
                f"Visit {rules_url(ref)} signed in as the account of your API token, click \"I Understand and "
                f"Accept\", then run: hub download {info.id}")
        return MedhubError(f'Kaggle refused the download of dataset "{ref}" (HTTP 403): open {page_url(kind, ref)} '
                           f"signed in as the account of your API token and accept its terms, then run: "
                           f"hub download {info.id}")
    if status == 401:
        return MedhubError(f"Kaggle rejected your API token (HTTP 401): create a new one at {TOKEN_PAGE} and save it "
                           f"as ~/.kaggle/kaggle.json\n{manual_route(info, kind, ref)}")
    if status == 404:
        return MedhubError(f'Kaggle has no {kind} "{ref}" (HTTP 404); check {page_url(kind, ref)}')
    return MedhubError(f'downloading {kind} "{ref}" from Kaggle failed ({type(exc).__name__}: {exc})\n'
                       f"{manual_route(info, kind, ref)}")


def download_kaggle(info: DatasetInfo, dest: Path, quiet: bool = False) -> Path:
    """Download the card's Kaggle competition or dataset zip into ``dest``; returns the zip's path."""
    source = kaggle_source(info)
    if source is None:
        raise MedhubError(f'dataset "{info.id}" has access "kaggle" but no layout_options["kaggle"] with a '
                          '"competition" or "dataset" entry')
    kind, ref = source
    name = check_file_name(zip_name(kind, ref), f'dataset "{info.id}": the Kaggle {kind} "{ref}"')  # first of all
    api = load_api(info, kind, ref)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "competition":
            api.competition_download_files(ref, path=str(dest), quiet=quiet)
        else:
            api.dataset_download_files(ref, path=str(dest), unzip=False, quiet=quiet)
    except MedhubError:
        raise
    except Exception as exc:  # the kaggle package raises its own (version-dependent) HTTP errors
        raise _refused(info, kind, ref, http_status(exc), exc) from None
    path = dest / name
    if not path.is_file():
        raise MedhubError(f"the kaggle package reported success but {path} is not there; "
                          f"{manual_route(info, kind, ref)}")
    return path


def fetch_kaggle(info: DatasetInfo, target: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """Download the Kaggle zip into the dataset's downloads folder and extract it into ``target``.

    Returns the ``sources`` entries of the acquisition record. The caller verifies the layout.
    """
    from medhub.core.acquire.extract import extract_archive
    from medhub.core.output import info as log
    from medhub.core.paths import DOWNLOADS, dataset_dir, downloads_dir

    kind, ref = kaggle_source(info) or ("", "")
    if not quiet and ref:
        log(f"downloading {info.id} from Kaggle ({kind} {ref}) into {downloads_dir(info.id)}")
    path = download_kaggle(info, downloads_dir(info.id), quiet=quiet)
    if not quiet:
        log(f"extracting {path.name}")
    own = Path(target) == dataset_dir(info.id)
    extract_archive(path, Path(target), reserved=(DOWNLOADS,) if own else (), replace=own)
    return [{"file": path.name, "kaggle": {kind: ref}}]
