"""Documents uploaded for an enrollment (资料上传) and the history of replaced ones."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.clock import now
from app.models.enrollment import Enrollment


class DocumentKind:
    APPLICATION_FORM = "application_form"
    PHOTO = "photo"
    ID_CARD_FRONT = "id_card_front"
    ID_CARD_BACK = "id_card_back"

    # Display order on 资料上传 and in the missing-items message.
    REQUIRED = (APPLICATION_FORM, PHOTO, ID_CARD_FRONT, ID_CARD_BACK)
    LABELS = {
        APPLICATION_FORM: "申请表照片或扫描件",
        PHOTO: "2寸免冠白底彩色照片",
        ID_CARD_FRONT: "身份证复印件（正面）",
        ID_CARD_BACK: "身份证复印件（反面）",
    }
    SHORT_LABELS = {
        APPLICATION_FORM: "申请表",
        PHOTO: "2寸照片",
        ID_CARD_FRONT: "身份证正面",
        ID_CARD_BACK: "身份证反面",
    }


class EnrollmentDocument(db.Model):
    """One stored image of one kind for an enrollment.

    The current document of a kind has ``replaced_at`` NULL. Uploading again marks the old
    one replaced and keeps it as history until the enrollment is approved. Files live under
    the UPLOAD_DIR setting by a random ``storage_name``, and the URL names a separate random
    ``token``, so neither can be guessed from an id.
    """

    __tablename__ = "enrollment_documents"
    __table_args__ = (
        Index(
            "uq_enrollment_documents_current",
            "enrollment_id",
            "kind",
            unique=True,
            sqlite_where=text("replaced_at IS NULL"),
            postgresql_where=text("replaced_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    storage_name: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(32))
    byte_size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    original_size: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[str] = mapped_column(Text, default="")  # one warning per line
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=now)
    replaced_at: Mapped[datetime | None] = mapped_column()

    enrollment: Mapped[Enrollment] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return DocumentKind.LABELS.get(self.kind, self.kind)

    @property
    def warning_list(self) -> list[str]:
        return [line for line in self.warnings.splitlines() if line]
