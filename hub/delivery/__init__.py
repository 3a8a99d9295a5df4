"""Outbound notifications: accepting them, templates and moderation, the cascade, the dispatcher, sending."""
