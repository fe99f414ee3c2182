"""medhub.core.runner: ``hub run``: the run config, the trainer and its driver, samplers, losses, optimizers,
checkpoints, summaries and export."""
