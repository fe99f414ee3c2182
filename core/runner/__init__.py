"""medhub.core.runner"""
