"""medhub.core.metrics"""
