"""Edit the catalog (培训目录): add, rename, reorder, price, deactivate and delete entries.

Enrollments, trainees and import batches store catalog names as text. So an entry in use is
never renamed or deleted: staff deactivate it and add the new name instead.
"""

import logging
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from app.extensions import db
from app.models import CatalogItem, CatalogKind, Enrollment, ImportBatch, Trainee

log = logging.getLogger(__name__)

MAX_FEE_FEN = 100_000_00  # 100,000 yuan: far above any training fee, catches a typo
MAX_SORT_ORDER = 9999
FEE_PATTERN = re.compile(r"^\d+(\.\d+)?$")

# The columns that hold each kind's names.
USAGE_COLUMNS = {
    CatalogKind.TRAINING_TYPE: (Enrollment.training_type,),
    CatalogKind.TRAINING_PROJECT: (Enrollment.training_project,),
    CatalogKind.POSITION: (Enrollment.position, ImportBatch.position),
    CatalogKind.ID_TYPE: (Trainee.id_type,),
    CatalogKind.EDUCATION: (Trainee.education,),
}


class CatalogError(ValueError):
    """A rejected catalog change; ``message`` is Chinese and names the fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def parse_fee_yuan(text: str) -> int:
    """Convert a fee typed in yuan ("150", "0.01") to integer fen without float arithmetic."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    if cleaned.startswith("-"):
        raise CatalogError("fee", f"费用“{text}”是负数，请填写不小于0的金额（元）。")
    if not FEE_PATTERN.match(cleaned):
        raise CatalogError(
            "fee", f"费用“{text}”格式不正确，请填写不小于0的金额（元），例如 150 或 0.01。"
        )
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise CatalogError("fee", f"费用“{text}”不是有效的金额。") from None
    if amount.as_tuple().exponent < -2:
        raise CatalogError("fee", f"费用“{text}”超过两位小数，请精确到分，例如 150.50。")
    fee_fen = int(amount * 100)
    if fee_fen > MAX_FEE_FEN:
        raise CatalogError("fee", "费用不能超过100000元，请核对金额。")
    return fee_fen


def parse_sort_order(text: str | None) -> int | None:
    """Return the typed sort order, or None when left empty (append at the end)."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    if not cleaned:
        return None
    if not cleaned.isdigit() or int(cleaned) > MAX_SORT_ORDER:
        raise CatalogError("sort_order", f"排序应为0至{MAX_SORT_ORDER}的整数。")
    return int(cleaned)


def items_of(kind: str) -> list[CatalogItem]:
    stmt = (
        select(CatalogItem)
        .where(CatalogItem.kind == kind)
        .order_by(CatalogItem.sort_order, CatalogItem.id)
    )
    return list(db.session.scalars(stmt))


def usage_counts(kind: str) -> dict[str, int]:
    """Count, per name of one kind, the records that store that name."""
    counts: dict[str, int] = {}
    for column in USAGE_COLUMNS[kind]:
        stmt = select(column, func.count()).group_by(column)
        for name, number in db.session.execute(stmt):
            counts[name] = counts.get(name, 0) + number
    return counts


def usage_count(item: CatalogItem) -> int:
    return usage_counts(item.kind).get(item.name, 0)


def add_item(kind: str, name: str, sort_order: str | None, fee: str | None) -> CatalogItem:
    """Add an active entry to one catalog list."""
    name = _checked_name(kind, name, item_id=None)
    order = parse_sort_order(sort_order)
    if order is None:
        order = _next_sort_order(kind)
    item = CatalogItem(kind=kind, name=name, sort_order=order, fee_fen=_fee_for(kind, fee))
    db.session.add(item)
    db.session.commit()
    log.info("catalog item %s added to %s", item.id, kind)
    return item


def update_item(item: CatalogItem, name: str, sort_order: str | None, fee: str | None) -> None:
    """Rename, reorder or reprice an entry; a name in use cannot change."""
    new_name = _checked_name(item.kind, name, item_id=item.id)
    order = parse_sort_order(sort_order)
    fee_fen = _fee_for(item.kind, fee)
    if new_name != item.name:
        used = usage_count(item)
        if used:
            raise CatalogError(
                "name",
                f"“{item.name}”已被 {used} 条记录使用，不能改名。如需更换名称，请停用该项后新增。",
            )
    item.name = new_name
    if order is not None:
        item.sort_order = order
    item.fee_fen = fee_fen
    db.session.commit()
    log.info("catalog item %s updated", item.id)


def set_item_active(item: CatalogItem, active: bool) -> None:
    # Deactivated names disappear from import validation and filters; stored records keep them.
    item.active = active
    db.session.commit()
    log.info("catalog item %s %s", item.id, "activated" if active else "deactivated")


def delete_item(item: CatalogItem) -> None:
    """Delete an entry that no record uses; one in use must be deactivated instead."""
    used = usage_count(item)
    if used:
        raise CatalogError("name", f"“{item.name}”已被 {used} 条记录使用，不能删除，请改为停用。")
    item_id = item.id
    db.session.delete(item)
    db.session.commit()
    log.info("catalog item %s deleted", item_id)


def _checked_name(kind: str, name: str, item_id: int | None) -> str:
    # No NFKC here: it would turn the full-width brackets of names like 客运索道（新） into ASCII.
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 100:
        raise CatalogError("name", "请填写名称（不超过100个字）。")
    duplicate = db.session.scalar(
        select(CatalogItem.id).where(
            CatalogItem.kind == kind, CatalogItem.name == cleaned, CatalogItem.id != item_id
        )
    )
    if duplicate is not None:
        label = CatalogKind.LABELS[kind]
        raise CatalogError(
            "name", f"{label}中已有“{cleaned}”（可能已停用），请勿重复添加，或将其重新启用。"
        )
    return cleaned


def _fee_for(kind: str, fee: str | None) -> int | None:
    if kind != CatalogKind.TRAINING_PROJECT:
        return None
    if not (fee or "").strip():
        raise CatalogError("fee", "请填写培训项目的费用（元），例如 150。")
    return parse_fee_yuan(fee)


def _next_sort_order(kind: str) -> int:
    highest = db.session.scalar(
        select(func.max(CatalogItem.sort_order)).where(CatalogItem.kind == kind)
    )
    return 0 if highest is None else highest + 1
