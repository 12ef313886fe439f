"""The catalog that imports and forms validate against, edited by association staff."""

from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class CatalogKind:
    TRAINING_TYPE = "training_type"  # 培训类型
    TRAINING_PROJECT = "training_project"  # 培训项目, carries fee_fen
    POSITION = "position"  # 管理岗位
    ID_TYPE = "id_type"  # 证件类型
    EDUCATION = "education"  # 最高学历

    LABELS = {
        TRAINING_TYPE: "培训类型",
        TRAINING_PROJECT: "培训项目",
        POSITION: "管理岗位",
        ID_TYPE: "证件类型",
        EDUCATION: "最高学历",
    }


class CatalogItem(db.Model):
    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Training fee in fen (integer cents), only for training projects.
    fee_fen: Mapped[int | None] = mapped_column(default=None)


def active_names(kind: str) -> list[str]:
    """Return the active names of one catalog list in display order."""
    stmt = (
        select(CatalogItem.name)
        .where(CatalogItem.kind == kind, CatalogItem.active.is_(True))
        .order_by(CatalogItem.sort_order, CatalogItem.id)
    )
    return list(db.session.scalars(stmt))
