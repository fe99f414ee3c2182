"""medhub.core: the engine. It knows no dataset or model by name."""
