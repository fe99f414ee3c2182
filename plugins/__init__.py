"""Built-in medhub plugins (datasets and models), loaded through the ``medhub`` entry-point group."""
