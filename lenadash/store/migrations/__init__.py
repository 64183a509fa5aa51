"""Alembic migrations for the lenadash schema, shipped inside the package so make_engine can upgrade."""
