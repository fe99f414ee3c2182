"""The grammar of the names medhub turns into paths: registry ids, run ids and file names.

Every name that becomes part of a path under ``$MEDHUB_HOME`` is checked here before it is used, so that no
card, plugin, record or command-line argument can name a place outside medhub's own folders:

- a registry id (dataset, model, layout, metric) is ``name`` or ``family/name``; each part starts with a
  lower-case letter or a digit and holds lower-case letters, digits, ``.``, ``_`` and ``-`` (so ``.`` and
  ``..`` can never be a part), at most 64 characters a part;
- an alias follows the same grammar with upper-case letters allowed (``Task09_Spleen``);
- a run id is one path part of letters, digits, ``.``, ``_`` and ``-`` starting with a letter or a digit, at
  most 200 characters (``new_run_id`` makes ``YYYYmmdd-HHMMSS-<dataset>-<model>-<6 hex>``);
- a file name (a card's ``sources[].filename``) is a bare name: no folder part, not ``.`` / ``..``, no
  control characters, at most 255 bytes.
"""

from __future__ import annotations

import re

from medhub.core.errors import MedhubError

PART = r"[a-z0-9][a-z0-9._-]{0,63}"
ALIAS_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
REGISTRY_ID = re.compile(rf"{PART}(?:/{PART})?\Z")
ALIAS = re.compile(rf"{ALIAS_PART}(?:/{ALIAS_PART})?\Z")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\Z")
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"  # the same rule for schema.json (JSON Schema's ``$``)
MAX_FILE_NAME_BYTES = 255


def is_registry_id(value: object) -> bool:
    """Whether ``value`` is a valid registry id (``name`` or ``family/name``, lower case)."""
    return isinstance(value, str) and REGISTRY_ID.match(value) is not None


def check_registry_id(value: object, kind: str) -> str:
    """``value`` when it is a valid ``kind`` id, else a MedhubError saying what an id may be."""
    if not is_registry_id(value):
        raise MedhubError(f"{kind} id {_shown(value)} is not valid: an id is \"name\" or \"family/name\", each part "
                          "1-64 lower-case letters, digits, '.', '_' or '-' starting with a letter or digit "
                          '(e.g. "decathlon/spleen")')
    return str(value)


def check_alias(value: object, kind: str, owner: str) -> str:
    """``value`` when it is a valid alias of ``owner``, else a MedhubError (aliases may use upper case)."""
    if not (isinstance(value, str) and ALIAS.match(value)):
        raise MedhubError(f"{kind} \"{owner}\": alias {_shown(value)} is not valid: like an id (\"name\" or "
                          "\"family/name\", letters, digits, '.', '_' or '-', starting with a letter or digit), "
                          "upper case allowed")
    return value


def is_run_id(value: object) -> bool:
    """Whether ``value`` can be a run id (one safe folder name)."""
    return isinstance(value, str) and RUN_ID.match(value) is not None


def check_run_id(value: object, where: str) -> str:
    """``value`` when it can name a run folder, else a MedhubError naming ``where`` (the flag or argument)."""
    if not is_run_id(value):
        raise MedhubError(f"{where}: {_shown(value)} is not a run id: run ids are one folder name of letters, "
                          "digits, '.', '_' and '-' starting with a letter or digit (list runs with: hub leaderboard)")
    return str(value)


def check_file_name(value: object, where: str) -> str:
    """``value`` when it is a bare file name, else a MedhubError naming ``where`` (e.g. a card's field)."""
    ok = (isinstance(value, str) and value not in ("", ".", "..") and "/" not in value and "\\" not in value
          and not any(ord(c) < 32 or ord(c) == 127 for c in value)
          and len(value.encode("utf-8", "surrogatepass")) <= MAX_FILE_NAME_BYTES)
    if not ok:
        raise MedhubError(f"{where}: {_shown(value)} is not a bare file name (no folder part, not '.' or '..', no "
                          f"control characters, at most {MAX_FILE_NAME_BYTES} bytes)")
    return str(value)


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else '"' + value.encode("unicode_escape").decode("ascii") + '"'
    return text if len(text) <= 80 else text[:77] + "..."
