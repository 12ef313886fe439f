"""The catalog lists that the import checks cells against, read once per import."""

from dataclasses import dataclass

from app.importing import columns
from app.importing.report import ImportFileError
from app.models import CatalogKind, active_names

GENDERS = ("男", "女")
YES_NO = ("是", "否")


@dataclass(frozen=True)
class CatalogSnapshot:
    id_types: tuple[str, ...]
    educations: tuple[str, ...]
    training_types: tuple[str, ...]
    training_projects: tuple[str, ...]
    positions: tuple[str, ...]

    def options(self) -> dict[str, tuple[str, ...]]:
        """Allowed values of each list column, by field label."""
        return {
            columns.ID_TYPE: self.id_types,
            columns.GENDER: GENDERS,
            columns.EDUCATION: self.educations,
            columns.TRAINING_TYPE: self.training_types,
            columns.TRAINING_PROJECT: self.training_projects,
            columns.HOLDS_CERTIFICATE: YES_NO,
        }


def load_catalog() -> CatalogSnapshot:
    """Read the active catalog entries (needs an app context)."""
    return CatalogSnapshot(
        id_types=tuple(active_names(CatalogKind.ID_TYPE)),
        educations=tuple(active_names(CatalogKind.EDUCATION)),
        training_types=tuple(active_names(CatalogKind.TRAINING_TYPE)),
        training_projects=tuple(active_names(CatalogKind.TRAINING_PROJECT)),
        positions=tuple(active_names(CatalogKind.POSITION)),
    )


def require_position(catalog: CatalogSnapshot, position: str) -> None:
    """Raise ``ImportFileError`` unless ``position`` is an active 管理岗位."""
    if position not in catalog.positions:
        raise ImportFileError(
            f"管理岗位“{position}”不在培训目录中，请从 {'、'.join(catalog.positions)} 中选择。"
        )
