"""Server-side paging for list pages (首页 上一页 … 下一页 尾页, go to page)."""

from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import Select, func, select

from app.extensions import db


@dataclass
class Page:
    items: list
    number: int  # 1-based
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def window(self, width: int = 5) -> list[int]:
        """Page numbers to show around the current page."""
        start = max(1, min(self.number - width // 2, self.pages - width + 1))
        return list(range(start, min(self.pages, start + width - 1) + 1))


# Rows per page a user may choose with ?per_page= (每页 10/20/50/100 条).
PAGE_SIZES = (10, 20, 50, 100)


def paginate(stmt: Select, size: int | None = None, scalars: bool = True) -> Page:
    """Run one page of a select; ?page= is clamped to range, ?per_page= is one of PAGE_SIZES."""
    chosen = request.args.get("per_page", type=int)
    size = size or (chosen if chosen in PAGE_SIZES else current_app.config["PAGE_SIZE"])
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    number = request.args.get("page", 1, type=int) or 1
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    page_stmt = stmt.limit(size).offset((number - 1) * size)
    result = db.session.execute(page_stmt)
    items = list(result.scalars()) if scalars else list(result)
    return Page(items=items, number=number, size=size, total=total)
