"""Inference: sliding-window prediction, predictors, loading a trained run, predictions in the original
geometry, and scoring them (one path for training-time evaluation, ``hub evaluate``, ``hub predict`` and
``hub submit``)."""
