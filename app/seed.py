"""The initial catalog, groups and demo accounts loaded by ``flask demo load``."""

import logging

from sqlalchemy import select

from app.extensions import db
from app.models import CatalogItem, CatalogKind, Group, GroupKind, Role, Unit, User

log = logging.getLogger(__name__)

REVIEWER_GROUP = "协会审核员"
UNIT_GROUP = "用人单位"

CATALOG = {
    CatalogKind.TRAINING_TYPE: ["特种设备使用单位", "特种设备生产单位", "特种设备充装单位"],
    CatalogKind.POSITION: ["安全员", "安全总监"],
    CatalogKind.ID_TYPE: [
        "身份证",
        "护照",
        "港澳居民来往内地通行证",
        "台湾居民来往大陆通行证",
        "外国人永久居留身份证",
    ],
    CatalogKind.EDUCATION: [
        "初中及以下",
        "高中/中专/技校",
        "大专",
        "本科或同等学力",
        "硕士研究生",
        "博士研究生",
    ],
}

# 培训项目 and each one's fee in fen.
PROJECT_FEES_FEN = {
    "锅炉": 15000,
    "压力容器": 15000,
    "气瓶": 15000,
    "压力管道": 15000,
    "电梯": 15000,
    "起重机械": 15000,
    "客运索道": 15000,
    "大型游乐设施": 15000,
    "场(厂)内专用机动车辆": 15000,
}

DEMO_UNIT = {
    "code": "DEMO",
    "name": "厦门示范机电设备有限公司",
    "credit_code": "91350200MA2XN8QK7N",
    "contact_name": "李明",
    "contact_phone": "0592-5551234",
    "address": "厦门市湖里区示范路 88 号",
}
DEMO_ACCOUNTS = [
    # (username, password, display name, role)
    ("reviewer", "reviewer123", "张审核", Role.STAFF),
    ("demo_admin", "demo123", "李明", Role.UNIT_ADMIN),
    ("owner", "owner123", "王流程", Role.PROCESS_OWNER),
]


def load_catalog() -> None:
    """Insert missing catalog entries; existing ones and staff edits are kept."""
    lists = dict(CATALOG)
    lists[CatalogKind.TRAINING_PROJECT] = list(PROJECT_FEES_FEN)
    for kind, names in lists.items():
        existing = set(db.session.scalars(select(CatalogItem.name).where(CatalogItem.kind == kind)))
        for order, name in enumerate(names):
            if name in existing:
                continue
            fee = PROJECT_FEES_FEN.get(name) if kind == CatalogKind.TRAINING_PROJECT else None
            db.session.add(CatalogItem(kind=kind, name=name, sort_order=order, fee_fen=fee))


def load_groups() -> dict[str, Group]:
    groups = {}
    for name, kind in ((REVIEWER_GROUP, GroupKind.STAFF), (UNIT_GROUP, GroupKind.UNIT)):
        group = db.session.scalar(select(Group).where(Group.name == name))
        if group is None:
            group = Group(name=name, kind=kind)
            db.session.add(group)
        groups[name] = group
    return groups


def load_demo() -> None:
    """Load catalog, lane groups, the demo unit and demo accounts; safe to run again."""
    load_catalog()
    groups = load_groups()
    unit = db.session.scalar(select(Unit).where(Unit.code == DEMO_UNIT["code"]))
    if unit is None:
        unit = Unit(**DEMO_UNIT)
        db.session.add(unit)
        db.session.flush()
    for username, password, display_name, role in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.username == username)):
            continue
        user = User(username=username, display_name=display_name, role=role)
        user.set_password(password)
        if role == Role.UNIT_ADMIN:
            user.unit = unit
        else:
            user.groups.append(groups[REVIEWER_GROUP])
        db.session.add(user)
    db.session.commit()
    log.info("demo data loaded")


# Approved enrollments of the demo unit, so that 缴费管理 has something to pay right after
# `make run`. Invented people; the ID numbers carry valid check digits.
DEMO_APPROVED = [
    ("白露", "350206200011117171", "女", "电梯"),
    ("夏文娟", "350203199001011236", "女", "电梯"),
    ("王东", "350203198505052351", "男", "锅炉"),
]


def load_demo_enrollments() -> int:
    """Add the approved demo enrollments if the demo unit has no enrollment yet."""
    from app.models import Enrollment, EnrollmentStatus, EnrollmentTransition, Trainee
    from app.models.clock import now

    unit = db.session.scalar(select(Unit).where(Unit.code == DEMO_UNIT["code"]))
    if unit is None or db.session.scalar(
        select(Enrollment.id).where(Enrollment.unit_id == unit.id)
    ):
        return 0
    for name, id_number, gender, project in DEMO_APPROVED:
        trainee = Trainee(
            unit_id=unit.id,
            name=name,
            id_type="身份证",
            id_number=id_number,
            gender=gender,
            phone="13800138000",
            education="本科或同等学力",
        )
        enrollment = Enrollment(
            unit=unit,
            trainee=trainee,
            position="安全员",
            training_type="特种设备使用单位",
            training_project=project,
            organization="厦门市特种设备协会",
            status=EnrollmentStatus.APPROVED,
            submitted_at=now(),
            decided_at=now(),
        )
        enrollment.transitions.append(
            EnrollmentTransition(
                from_status=None,
                to_status=EnrollmentStatus.APPROVED,
                step="演示数据",
                reason="演示用：直接设为审核通过，以便体验缴费",
            )
        )
        db.session.add(enrollment)
    db.session.commit()
    log.info("demo enrollments loaded")
    return len(DEMO_APPROVED)
