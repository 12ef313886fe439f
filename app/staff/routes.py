"""Association staff administration: 单位管理, 培训目录 and 账号管理 (one module each)."""

from app.staff import catalog, units, users  # noqa: F401  (each module adds its routes)
