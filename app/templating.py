"""Jinja filters shared by all pages."""

from datetime import datetime

from flask import Flask

from app.models import EnrollmentStatus


def mask_id_number(value: str | None) -> str:
    """Mask an ID number for lists: keep the first 4 and last 4 characters (3502**********1234)."""
    if not value:
        return ""
    if len(value) <= 8:
        return value[:2] + "*" * (len(value) - 2)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def format_fen(amount_fen: int | None) -> str:
    """Format an amount in fen as yuan without float arithmetic: 15000 -> 150, 1 -> 0.01."""
    if amount_fen is None:
        return ""
    yuan, fen = divmod(amount_fen, 100)
    return f"{yuan}" if fen == 0 else f"{yuan}.{fen:02d}".rstrip("0")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["yuan"] = format_fen
    app.jinja_env.filters["enrollment_status"] = lambda s: EnrollmentStatus.LABELS.get(s, s)
    app.jinja_env.globals["provider_label"] = _provider_label
    app.jinja_env.globals["enrollment_documents"] = _enrollment_documents
    app.jinja_env.globals["enrollment_unit_info"] = _enrollment_unit_info
    app.jinja_env.globals["enrollment_personal_info"] = _enrollment_personal_info


def _enrollment_documents(enrollment) -> dict:
    from app.documents.storage import current_documents

    return current_documents(enrollment)


def _enrollment_unit_info(enrollment):
    from app.completion.steps import unit_info

    return unit_info(enrollment)


def _enrollment_personal_info(enrollment):
    from app.completion.steps import personal_info

    return personal_info(enrollment)


def _provider_label(name: str) -> str:
    from app.payments.registry import provider_label

    return provider_label(name)
