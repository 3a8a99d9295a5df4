"""Persistence: SQLAlchemy models, repositories and the unit of work (the only SQLAlchemy user)."""
