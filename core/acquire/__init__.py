"""Getting data onto disk: HTTP downloads with resume and checksums, Kaggle, safe extraction, markers,
the per-dataset lock, manual-download instructions and verification."""


def __getattr__(name: str):
    """Attributes of the old ``medhub.core.acquire`` module (``acquire``, ``check_layout``, ...), forwarded to their
    new modules for one more release (with a DeprecationWarning)."""
    import warnings

    from medhub.core._moved import ACQUIRE_ATTRIBUTES, forwarded

    value = forwarded(__name__, ACQUIRE_ATTRIBUTES, name)
    warnings.warn(f"medhub.core.acquire.{name} moved to {value.__module__}; import it from there",
                  DeprecationWarning, stacklevel=2)
    return value
