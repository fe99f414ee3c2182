"""Dataset access: from a dataset folder to case dicts, deterministic split manifests, the preprocessing
pipeline and its on-disk cache."""
