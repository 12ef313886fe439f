"""Database models, one module per concept."""

from app.models.accounts import Group, GroupKind, Role, Unit, User, user_groups
from app.models.catalog import CatalogItem, CatalogKind, active_names
from app.models.clock import now
from app.models.document import DocumentKind, EnrollmentDocument
from app.models.enrollment import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    ImportBatch,
    ImportJob,
    Trainee,
)
from app.models.payment import (
    AttemptStatus,
    InvoiceStatus,
    InvoiceType,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    RefundStatus,
    SandboxTrade,
)
from app.models.workflow import (
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
    ProcessModel,
    TaskComment,
)

__all__ = [
    "AttemptStatus",
    "InvoiceStatus",
    "InvoiceType",
    "Order",
    "OrderItem",
    "OrderKind",
    "OrderStatus",
    "PaymentAttempt",
    "PaymentNotification",
    "PaymentStatus",
    "RefundStatus",
    "SandboxTrade",
    "CatalogItem",
    "CatalogKind",
    "DocumentKind",
    "Enrollment",
    "EnrollmentDocument",
    "EnrollmentStatus",
    "EnrollmentTransition",
    "Group",
    "GroupKind",
    "HumanTask",
    "HumanTaskStatus",
    "ImportBatch",
    "ImportJob",
    "InstanceStatus",
    "ProcessInstance",
    "ProcessModel",
    "Role",
    "TaskComment",
    "Trainee",
    "Unit",
    "User",
    "active_names",
    "now",
    "user_groups",
]
