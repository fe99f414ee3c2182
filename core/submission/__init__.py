"""Submission packages: the challenges' formats (standard library only, so plugins import nothing heavy) and
building and validating a package."""
