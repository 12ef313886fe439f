from app.imports import bp  # noqa: F401
