"""Helpers for payment tests: approved enrollments, placing orders through the pages."""

import re
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Order, Trainee, Unit
from app.models.clock import now
from tests.conftest import extract_csrf

# Valid resident ID numbers (GB 11643 check digits) of invented people.
ID_NUMBERS = [
    "350206200011117171",
    "350203199001011236",
    "350203198505052351",
    "350211199212123017",
    "350205198808080011",
    "350206199503150022",
]


def demo_unit() -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == "DEMO"))


def add_approved(
    unit: Unit, name: str, id_number: str, project: str = "电梯", minutes_ago: int = 10
) -> Enrollment:
    """An enrollment of ``unit`` that review has approved, its fee unpaid (call in app context)."""
    trainee = db.session.scalar(
        select(Trainee).where(Trainee.unit_id == unit.id, Trainee.id_number == id_number)
    )
    if trainee is None:
        trainee = Trainee(
            unit_id=unit.id,
            name=name,
            id_type="身份证",
            id_number=id_number,
            gender="男",
            phone="13800138000",
            education="本科或同等学力",
        )
        db.session.add(trainee)
        db.session.flush()
    enrollment = Enrollment(
        unit_id=unit.id,
        trainee_id=trainee.id,
        position="安全员",
        training_type="特种设备使用单位",
        training_project=project,
        organization="厦门市特种设备协会",
        status=EnrollmentStatus.APPROVED,
        created_at=now() - timedelta(minutes=minutes_ago + 5),
        decided_at=now() - timedelta(minutes=minutes_ago),
    )
    db.session.add(enrollment)
    db.session.commit()
    return enrollment


def confirm_page(client, ids: list[int] | None):
    """Post the 缴费管理 selection (None means 全部支付) and return the confirm page response."""
    token = extract_csrf(client.get("/payments/").get_data(as_text=True))
    data = {"csrf_token": token}
    if ids is None:
        data["all"] = "1"
    else:
        data["ids"] = [str(i) for i in ids]
    return client.post("/payments/confirm", data=data)


def place_order(client, ids: list[int], **invoice) -> "object":
    """Confirm and place an order through the pages; returns the final response."""
    page = confirm_page(client, ids)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    data = {
        "csrf_token": extract_csrf(html),
        "ids": re.findall(r'name="ids" value="(\d+)"', html),
        "total_fen": re.search(r'name="total_fen" type="hidden" value="(\d+)"', html).group(1),
        "invoice_type": "normal",
        "title": "厦门示范机电设备有限公司",
        "tax_number": "91350200MA2XN8QK7N",
        "remark": "",
    }
    data.update(invoice)
    return client.post("/payments/orders", data=data)


def latest_order() -> Order:
    return db.session.scalar(select(Order).order_by(Order.id.desc()))
