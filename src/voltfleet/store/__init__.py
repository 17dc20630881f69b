"""Persistence: SQLAlchemy models, tenant-scoped repositories, Alembic migrations."""
