"""Built-in medhub plugin (registers nothing yet; its entries land with their issue)."""
