"""medhub.core: the engine. It knows no dataset or model by name (docs/architecture.md maps its folders)."""

from medhub.core import _moved

_moved.install()
