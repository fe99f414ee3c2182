"""medhub.core.transforms"""
