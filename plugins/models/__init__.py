"""Built-in model plugins: one module per model family."""
