"""The ``hub`` sub-commands: one module per command, discovered at start-up."""
