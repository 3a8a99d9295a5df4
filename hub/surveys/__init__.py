"""Feedback surveys: definitions, the dialog inside a thread, results."""
