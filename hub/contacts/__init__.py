"""Customers of a client: phone numbers, the phone -> messenger directory, identity linking, imports."""
