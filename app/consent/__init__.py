"""Consent and compliance: the one place that says yes or no to an outbound call."""
