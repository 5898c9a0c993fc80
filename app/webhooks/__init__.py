"""Twilio webhooks: signature check, never-silent error handling, and the voice routes."""

from app.webhooks.routes import bp

__all__ = ["bp"]
