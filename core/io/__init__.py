"""medhub.core.io"""
