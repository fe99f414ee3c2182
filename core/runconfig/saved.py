"""Saved run configs: ``config.json`` of a run folder read back into a ``RunConfig`` (missing keys of older
runs take their defaults), and the config hash every result record carries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.runconfig.options import RunConfig


def saved_config(data: Mapping[str, Any], where: str) -> RunConfig:
    """A saved config (a run's ``config.json``, a record's ``config``) as a validated config object. Keys it
    lacks (saved before they existed) take their defaults, for its dataset's task and dimensions when that
    dataset is registered; :meth:`RunConfig.to_dict` still leaves them out, so it saves and hashes as it was.
    Errors are one line prefixed with ``where``."""
    from medhub.core.plugin_manager import get_registry

    task = dims = None
    if isinstance(data.get("dataset"), str):
        try:
            info = get_registry().dataset(data["dataset"])
            task, dims = info.task, info.dims
        except MedhubError:  # a dataset no plugin registers now: keys without a task-free default must be there
            pass
    return RunConfig.from_dict(data, task=task, dims=dims, where=where)


def read_saved_config(folder: Path) -> RunConfig:
    """A run folder's ``config.json`` as a validated config (:func:`saved_config`); a damaged file is a
    one-line error naming it."""
    from medhub.core.runs import CONFIG, read_run_config

    return saved_config(read_run_config(folder), str(Path(folder) / CONFIG))


def config_hash(config: RunConfig | Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the config (first 16 hex digits): of :meth:`RunConfig.to_dict` for a
    config object, of the dict itself for a record's ``config``."""
    data = config.to_dict() if isinstance(config, RunConfig) else dict(config)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
