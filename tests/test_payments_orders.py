"""缴费管理 and 订单管理 through the pages: placing, paying in the sandbox, cancelling."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogItem, CatalogKind, Enrollment
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    SandboxTrade,
)
from tests.conftest import create_unit_with_admin, extract_csrf, login
from tests.payment_support import (
    ID_NUMBERS,
    add_approved,
    confirm_page,
    demo_unit,
    latest_order,
    place_order,
)


@pytest.fixture
def approved(app):
    """Three approved enrollments of the demo unit: two 电梯 (150 yuan), one 锅炉 (150 yuan)."""
    with app.app_context():
        unit = demo_unit()
        rows = [
            add_approved(unit, "白露", ID_NUMBERS[0], "电梯"),
            add_approved(unit, "夏文娟", ID_NUMBERS[1], "电梯"),
            add_approved(unit, "王东", ID_NUMBERS[2], "锅炉"),
        ]
        return [row.id for row in rows]


@pytest.fixture
def admin(client):
    login(client, "demo_admin", "demo123")
    return client


def order_id_from(response) -> int:
    match = re.search(r"/orders/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def choose_method(client, order_id: int, provider: str):
    page = client.get(f"/orders/{order_id}/pay")
    return client.post(
        f"/orders/{order_id}/pay",
        data={"csrf_token": extract_csrf(page.get_data(as_text=True)), "provider": provider},
    )


def sandbox_pay(client, out_trade_no: str):
    page = client.get(f"/payments/sandbox/{out_trade_no}")
    assert page.status_code == 200
    return client.post(
        f"/payments/sandbox/{out_trade_no}/pay",
        data={"csrf_token": extract_csrf(page.get_data(as_text=True))},
        follow_redirects=True,
    )


def open_attempts(app, order_id: int) -> list[PaymentAttempt]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(PaymentAttempt)
                .where(PaymentAttempt.order_id == order_id)
                .order_by(PaymentAttempt.id)
            )
        )


# --- 缴费管理 ------------------------------------------------------------------------------


def test_unpaid_list_own_approved_only(app, admin, approved):
    with app.app_context():
        other = create_unit_with_admin("OTHER", "other_admin")
        add_approved(other, "外单位学员", ID_NUMBERS[3])
    html = admin.get("/payments/").get_data(as_text=True)
    rows = re.findall(r'<tr data-enrollment-id="(\d+)">(.*?)</tr>', html, re.DOTALL)
    assert [int(i) for i, _ in rows] == approved
    first = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0][1])).split()
    assert first == ["1", "白露", "3502**********7171", "特种设备使用单位电梯", "150", "未缴费"]
    assert "外单位学员" not in html


def test_place_order_for_selected_enrollments(app, admin, approved):
    response = place_order(admin, approved[:2], remark="两人电梯班")
    assert response.status_code == 302
    order_id = order_id_from(response)
    assert response.headers["Location"].endswith(f"/orders/{order_id}/pay")
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING
        assert order.total_fen == 30000
        assert re.fullmatch(r"36EL\d{24}", order.number)
        assert order.number[4:18] == order.placed_at.strftime("%Y%m%d%H%M%S")
        assert order.name == order.placed_at.strftime("%Y%m%d%H%M%S") + "线上培训费订单"
        assert (order.expires_at - order.placed_at).total_seconds() == 48 * 3600
        assert [(i.trainee_name, i.class_name, i.price_fen) for i in order.items] == [
            ("白露", "特种设备使用单位电梯", 15000),
            ("夏文娟", "特种设备使用单位电梯", 15000),
        ]
        assert order.invoice_title == "厦门示范机电设备有限公司"
        assert order.invoice_tax_number == "91350200MA2XN8QK7N"
        assert order.invoice_remark == "两人电梯班"
        held = {e.id: e.pending_order_id for e in db.session.scalars(select(Enrollment))}
        assert held == {approved[0]: order_id, approved[1]: order_id, approved[2]: None}

    page = admin.get(f"/orders/{order_id}/pay").get_data(as_text=True)
    assert "¥300" in page
    assert "请选择微信支付或支付宝" in page
    assert 'data-seconds-left="172' in page  # 48 hours is 172800 seconds


def test_pay_all_takes_every_unpaid_enrollment(app, admin, approved):
    page = confirm_page(admin, None).get_data(as_text=True)
    assert sorted(int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)) == approved
    assert "¥450" in page


def test_sandbox_payment_marks_order_and_enrollments_paid(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:2]))
    assert choose_method(admin, order_id, "sandbox-wechat").status_code == 302
    page = admin.get(f"/orders/{order_id}/pay").get_data(as_text=True)
    assert 'data-testid="qr-code"' in page
    assert "data:image/svg+xml" in page
    [attempt] = open_attempts(app, order_id)
    assert attempt.provider == "sandbox-wechat"
    with app.app_context():
        order_number = db.session.get(Order, order_id).number
    assert attempt.out_trade_no == order_number + "01"
    assert attempt.amount_fen == 30000

    result = sandbox_pay(admin, attempt.out_trade_no).get_data(as_text=True)
    assert "模拟支付成功" in result

    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PAID
        assert order.paid_at is not None
        assert order.invoice_status_label == "待开票"
        paid = {
            e.id: (e.payment_status, e.paid_order_id, e.pending_order_id)
            for e in db.session.scalars(select(Enrollment))
        }
        assert paid == {
            approved[0]: (PaymentStatus.PAID, order_id, None),
            approved[1]: (PaymentStatus.PAID, order_id, None),
            approved[2]: (PaymentStatus.UNPAID, None, None),
        }
        [notification] = db.session.scalars(select(PaymentNotification)).all()
        assert notification.outcome == "paid"

    status = admin.get(f"/orders/{order_id}/status").get_json()
    assert status["status"] == "paid"
    assert status["label"] == "已付款"
    listing = admin.get("/orders/").get_data(as_text=True)
    row = re.search(rf'<tr data-order-id="{order_id}">(.*?)</tr>', listing, re.DOTALL).group(1)
    cells = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
    ]
    assert cells[1] == order_number
    assert cells[6:][:1] == ["300"]
    assert cells[8:10] == ["待开票", "已付款"]
    assert cells[10] == "详情"
    # Paid enrollments leave 缴费管理.
    unpaid = admin.get("/payments/").get_data(as_text=True)
    assert re.findall(r'data-enrollment-id="(\d+)"', unpaid) == [str(approved[2])]


def test_refresh_closes_the_previous_qr_code(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:1]))
    choose_method(admin, order_id, "sandbox-wechat")
    choose_method(admin, order_id, "sandbox-alipay")
    first, second = open_attempts(app, order_id)
    assert (first.status, second.status) == (AttemptStatus.CLOSED, AttemptStatus.OPEN)
    assert second.out_trade_no.endswith("02")
    with app.app_context():
        assert db.session.get(SandboxTrade, first.out_trade_no).state == "closed"
    # The old QR code can no longer be paid.
    page = sandbox_pay(admin, first.out_trade_no).get_data(as_text=True)
    assert "该二维码已失效" in page
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING


def test_switching_method_after_paying_settles_instead(app, admin, approved):
    """Paid at the provider but the notification is late: closing finds the payment."""
    from app.payments.registry import provider

    order_id = order_id_from(place_order(admin, approved[:1]))
    choose_method(admin, order_id, "sandbox-wechat")
    [attempt] = open_attempts(app, order_id)
    with app.test_request_context():
        assert provider("sandbox-wechat").pay(attempt.out_trade_no) is not None
    response = choose_method(admin, order_id, "sandbox-alipay")
    assert response.headers["Location"].endswith(f"/orders/{order_id}")
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PAID
        assert len(order.attempts) == 1
        assert order.attempts[0].status == AttemptStatus.PAID


def test_cancel_frees_enrollments_for_a_new_order(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:2]))
    choose_method(admin, order_id, "sandbox-wechat")
    detail = admin.get(f"/orders/{order_id}").get_data(as_text=True)
    response = admin.post(
        f"/orders/{order_id}/cancel",
        data={"csrf_token": extract_csrf(detail)},
        follow_redirects=True,
    )
    assert "已取消，其中的报名可以重新缴费" in response.get_data(as_text=True)
    [attempt] = open_attempts(app, order_id)
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.CANCELLED
        assert attempt.status == AttemptStatus.CLOSED
        assert db.session.get(SandboxTrade, attempt.out_trade_no).state == "closed"
        assert all(e.pending_order_id is None for e in db.session.scalars(select(Enrollment)))
    again = place_order(admin, approved[:2])
    assert again.status_code == 302
    assert order_id_from(again) != order_id


def test_held_enrollment_named_and_left_out(app, admin, approved):
    first = order_id_from(place_order(admin, approved[:1]))
    with app.app_context():
        number = db.session.get(Order, first).number
    page = confirm_page(admin, approved).get_data(as_text=True)
    warning = re.search(r'data-testid="in-other-order">(.*?)</div>', page, re.DOTALL).group(1)
    assert "白露" in warning
    assert number in warning
    assert sorted(int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)) == approved[1:]
    # Posting the held one anyway (an old tab) is refused and changes nothing.
    response = admin.post(
        "/payments/orders",
        data={
            "csrf_token": extract_csrf(page),
            "ids": [str(approved[0])],
            "invoice_type": "normal",
            "title": "厦门示范机电设备有限公司",
        },
        follow_redirects=True,
    )
    assert "所选报名已在待付款订单中" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Order.id))) == 1


def test_zero_fee_order_is_paid_at_once(app, admin, approved):
    with app.app_context():
        item = db.session.scalar(
            select(CatalogItem).where(
                CatalogItem.kind == CatalogKind.TRAINING_PROJECT, CatalogItem.name == "锅炉"
            )
        )
        item.fee_fen = 0
        db.session.commit()
    response = place_order(admin, approved[2:])
    order_id = order_id_from(response)
    assert response.headers["Location"].endswith(f"/orders/{order_id}")
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.status, order.total_fen) == (OrderStatus.PAID, 0)
        assert db.session.get(Enrollment, approved[2]).payment_status == PaymentStatus.PAID


@pytest.mark.parametrize(
    "invoice,field,message",
    [
        ({"tax_number": "91350200MA2XN8QK7M"}, "tax_number", "校验位不正确"),
        ({"tax_number": "9135020"}, "tax_number", "应为18位"),
        ({"title": "  "}, "title", "请填写发票抬头"),
        ({"invoice_type": "special", "address": ""}, "address", "必须填写注册地址"),
        ({"invoice_type": "special", "tax_number": ""}, "tax_number", "必须填写税号"),
        ({"invoice_type": "special", "account": "12-34"}, "account", "8至30位数字"),
        ({"invoice_type": "special", "phone": "5551234"}, "phone", "电话格式不正确"),
    ],
)
def test_invalid_invoice_details_are_refused(app, admin, approved, invoice, field, message):
    special = {
        "address": "厦门市湖里区示范路 88 号",
        "phone": "0592-5551234",
        "bank": "中国工商银行厦门湖里支行",
        "account": "4100021109024123456",
    }
    data = {**special, **invoice} if invoice.get("invoice_type") == "special" else invoice
    response = place_order(admin, approved[:1], **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Order.id))) == 0


def test_special_invoice_n_prefix_kept(app, admin, approved):
    # N (agriculture authority) codes are valid under GB 32100; python-stdnum rejects them.
    response = place_order(
        admin,
        approved[:1],
        invoice_type="special",
        title="厦门市同安区示范农业专业合作社",
        tax_number="N2350212MA0000000M",
        address="厦门市同安区示范路 1 号",
        phone="0592-7001234",
        bank="中国农业银行厦门同安支行",
        account="4030 0100 0400 1234",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        order = latest_order()
        assert order.invoice_type == "special"
        assert order.invoice_tax_number == "N2350212MA0000000M"
        assert order.invoice_account == "4030010004001234"


def test_other_units_and_trainees_cannot_reach_an_order(app, client, approved):
    login(client, "demo_admin", "demo123")
    order_id = order_id_from(place_order(client, approved[:1]))
    client.post(
        "/logout",
        data={"csrf_token": extract_csrf(client.get("/payments/").get_data(as_text=True))},
    )
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    login(client, "other_admin", "secret123")
    token = extract_csrf(client.get("/payments/").get_data(as_text=True))
    assert client.get(f"/orders/{order_id}").status_code == 404
    assert client.get(f"/orders/{order_id}/pay").status_code == 404
    assert client.get(f"/orders/{order_id}/status").status_code == 404
    assert client.post(f"/orders/{order_id}/cancel", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"/orders/{order_id}/pay", data={"csrf_token": token, "provider": "sandbox-wechat"}
        ).status_code
        == 404
    )
    assert f'data-order-id="{order_id}"' not in client.get("/orders/").get_data(as_text=True)
    # Another unit's enrollment ids in the selection match nothing.
    response = confirm_page(client, approved)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING


def test_trainee_cannot_pay_or_see_orders(app, client, approved):
    from tests.test_trainee_accounts import activate, issue_code, trainee_login

    login(client, "demo_admin", "demo123")
    order_id = order_id_from(place_order(client, approved[:1]))
    with app.app_context():
        trainee_id = db.session.get(Enrollment, approved[0]).trainee_id
    code = issue_code(client, trainee_id)
    client.post(
        "/logout", data={"csrf_token": extract_csrf(client.get("/orders/").get_data(as_text=True))}
    )
    activate(client, ID_NUMBERS[0], code)
    assert "我的报名" in trainee_login(client, ID_NUMBERS[0], "Trainee2026").get_data(as_text=True)
    token = extract_csrf(client.get("/enrollments/").get_data(as_text=True))
    assert client.get("/payments/").status_code == 403
    assert (
        client.post("/payments/confirm", data={"csrf_token": token, "all": "1"}).status_code == 403
    )
    assert client.get("/orders/").status_code == 403
    assert client.get(f"/orders/{order_id}").status_code == 403
    assert client.post(f"/orders/{order_id}/cancel", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING


def test_staff_see_every_units_orders_and_filter_them(app, client, approved):
    with app.app_context():
        other = create_unit_with_admin("OTHER", "other_admin")
        other_enrollment = add_approved(other, "外单位学员", ID_NUMBERS[3]).id
    login(client, "demo_admin", "demo123")
    demo_paid = order_id_from(place_order(client, approved[:1]))
    choose_method(client, demo_paid, "sandbox-wechat")
    [attempt] = open_attempts(app, demo_paid)
    sandbox_pay(client, attempt.out_trade_no)
    demo_pending = order_id_from(place_order(client, approved[1:2]))
    client.post(
        "/logout", data={"csrf_token": extract_csrf(client.get("/orders/").get_data(as_text=True))}
    )
    login(client, "other_admin", "secret123")
    other_order = order_id_from(place_order(client, [other_enrollment]))
    client.post(
        "/logout", data={"csrf_token": extract_csrf(client.get("/orders/").get_data(as_text=True))}
    )

    login(client, "reviewer", "reviewer123", role="staff")

    def listed(query=""):
        html = client.get("/orders/" + query).get_data(as_text=True)
        return sorted(int(i) for i in re.findall(r'data-order-id="(\d+)"', html))

    assert listed() == sorted([demo_paid, demo_pending, other_order])
    assert listed("?status=paid") == [demo_paid]
    assert listed("?status=pending") == sorted([demo_pending, other_order])
    with app.app_context():
        other_id = db.session.scalar(select(Order.unit_id).where(Order.id == other_order))
        number = db.session.get(Order, demo_pending).number
    assert listed(f"?unit={other_id}") == [other_order]
    assert listed(f"?number={number[-12:]}") == [demo_pending]
    with app.app_context():
        placed = db.session.get(Order, demo_paid).placed_at.date()
    assert listed(f"?placed_from={placed}&placed_to={placed}") == sorted(
        [demo_paid, demo_pending, other_order]
    )
    assert listed(f"?placed_to={placed.replace(year=placed.year - 1)}") == []
    # A malformed date is ignored, not an error page.
    assert listed("?placed_from=2026-13-45") == sorted([demo_paid, demo_pending, other_order])
    # Staff cannot pay or cancel a unit's order.
    token = extract_csrf(client.get("/orders/").get_data(as_text=True))
    assert client.get(f"/orders/{demo_pending}/pay").status_code == 403
    assert (
        client.post(f"/orders/{demo_pending}/cancel", data={"csrf_token": token}).status_code == 403
    )
    detail = client.get(f"/orders/{demo_paid}").get_data(as_text=True)
    assert "支付记录" in detail
    assert attempt.out_trade_no in detail


def test_order_list_pages_ten_at_a_time(app, admin):
    with app.app_context():
        unit = demo_unit()
        ids = [add_approved(unit, f"学员{i}", f"3502062000111{i:05d}").id for i in range(12)]
    for enrollment_id in ids:
        order_id_from(place_order(admin, [enrollment_id]))
    first = admin.get("/orders/").get_data(as_text=True)
    second = admin.get("/orders/?page=2").get_data(as_text=True)
    assert len(re.findall(r"data-order-id=", first)) == 10
    assert len(re.findall(r"data-order-id=", second)) == 2
    assert "第1/2页 总共12条" in first


def test_concurrent_qr_requests_leave_one_open_qr_code(app, admin, approved):
    """A double-click on 更新二维码, or two tabs choosing methods at once, on either database."""
    import threading

    from app.payments.attempts import open_attempt

    order_id = order_id_from(place_order(admin, approved[:1]))
    barrier = threading.Barrier(4)
    errors = []

    def request_qr(provider_name):
        with app.test_request_context():
            barrier.wait()
            try:
                open_attempt(order_id, provider_name)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=request_qr, args=(name,))
        for name in ("sandbox-wechat", "sandbox-wechat", "sandbox-alipay", "sandbox-alipay")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    attempts = open_attempts(app, order_id)
    assert len(attempts) == 4
    assert [a.out_trade_no[-2:] for a in attempts] == ["01", "02", "03", "04"]
    assert [a.status for a in attempts].count(AttemptStatus.OPEN) == 1
    with app.app_context():
        states = {t.out_trade_no: t.state for t in db.session.scalars(select(SandboxTrade))}
    assert sorted(states.values()) == ["closed", "closed", "closed", "pending"]
    [open_one] = [a for a in attempts if a.status == AttemptStatus.OPEN]
    assert states[open_one.out_trade_no] == "pending"


def test_fee_changed_after_confirmation_asks_to_confirm_again(app, admin, approved):
    page = confirm_page(admin, approved[:1]).get_data(as_text=True)
    with app.app_context():
        item = db.session.scalar(
            select(CatalogItem).where(
                CatalogItem.kind == CatalogKind.TRAINING_PROJECT, CatalogItem.name == "电梯"
            )
        )
        item.fee_fen = 20000
        db.session.commit()
    data = {
        "csrf_token": extract_csrf(page),
        "ids": [str(approved[0])],
        "total_fen": "15000",
        "invoice_type": "normal",
        "title": "厦门示范机电设备有限公司",
    }
    response = admin.post("/payments/orders", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "培训费已调整，订单金额现为 ¥200" in html
    assert 'name="total_fen" type="hidden" value="20000"' in html
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Order.id))) == 0
    # Confirming the new amount places the order at it.
    response = admin.post("/payments/orders", data={**data, "total_fen": "20000"})
    assert response.status_code == 302
    with app.app_context():
        assert latest_order().total_fen == 20000
        item.fee_fen = 25000
        db.session.add(item)
        db.session.commit()
    # 缴费管理 shows what the pending order charges, not the newer fee.
    listing = admin.get("/payments/").get_data(as_text=True)
    row = re.search(rf'data-enrollment-id="{approved[0]}">(.*?)</tr>', listing, re.DOTALL)
    assert '<td class="text-end">200</td>' in row.group(1)


def test_invoice_text_kept_as_typed(app, admin, approved):
    response = place_order(
        admin,
        approved[:1],
        title="\u202e厦门示范机电设备（集团）有限公司\x00 ",
        remark="开票请注明：培训费，１２月",
        tax_number="９１３５０２００ＭＡ２ＸＮ８ＱＫ７Ｎ",
    )
    assert response.status_code == 302
    with app.app_context():
        order = latest_order()
        assert order.invoice_title == "厦门示范机电设备（集团）有限公司"
        assert order.invoice_remark == "开票请注明：培训费，１２月"
        assert order.invoice_tax_number == "91350200MA2XN8QK7N"


def test_too_long_title_says_how_long_it_is(app, admin, approved):
    response = place_order(admin, approved[:1], title="厦" * 101)
    assert response.status_code == 400
    assert "发票抬头不能超过100个字（现为101个字），请精简。" in response.get_data(as_text=True)


def test_post_only_addresses_opened_directly_get_chinese_pages(app, admin, approved):
    response = admin.get("/payments/orders", follow_redirects=True)
    assert "请在缴费管理中勾选报名后点击【在线集体缴费】或【全部支付】" in response.get_data(
        as_text=True
    )
    assert admin.get("/payments/confirm").headers["Location"].endswith("/payments/")
    order_id = order_id_from(place_order(admin, approved[:1]))
    response = admin.get(f"/orders/{order_id}/cancel")
    assert response.status_code == 405
    assert "该地址只接受页面上的按钮提交" in response.get_data(as_text=True)


def test_expired_login_leads_to_login(app, client, approved):
    login(client, "demo_admin", "demo123")
    page = confirm_page(client, approved[:1]).get_data(as_text=True)
    client.delete_cookie("session")
    response = client.post(
        "/payments/orders",
        data={"csrf_token": extract_csrf(page), "ids": [str(approved[0])], "title": "x"},
        follow_redirects=True,
    )
    assert "登录已过期，请重新登录后再操作。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Order.id))) == 0


def test_paid_and_cancelled_orders_are_not_offered_for_payment(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:1]))
    detail = admin.get(f"/orders/{order_id}").get_data(as_text=True)
    admin.post(f"/orders/{order_id}/cancel", data={"csrf_token": extract_csrf(detail)})
    response = admin.get(f"/orders/{order_id}/pay", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已取消，不能再支付；其中的报名请回到【缴费管理】重新下单。" in html
    response = admin.post(
        f"/orders/{order_id}/pay",
        data={"csrf_token": extract_csrf(detail), "provider": "sandbox-wechat"},
    )
    assert response.headers["Location"].endswith(f"/orders/{order_id}")
    assert open_attempts(app, order_id) == []


def test_status_names_the_qr_code_to_show_and_search_finds_it(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:1]))
    assert admin.get(f"/orders/{order_id}/status").get_json()["qr"] is None
    choose_method(admin, order_id, "sandbox-wechat")
    choose_method(admin, order_id, "sandbox-alipay")
    first, second = open_attempts(app, order_id)
    assert admin.get(f"/orders/{order_id}/status").get_json()["qr"] == second.out_trade_no
    # The 商户订单号 on a bill finds its order in 订单管理.
    html = admin.get(f"/orders/?number={first.out_trade_no}").get_data(as_text=True)
    assert re.findall(r'data-order-id="(\d+)"', html) == [str(order_id)]


def test_sandbox_takes_no_payment_after_the_hold(app, admin, approved):
    from datetime import timedelta

    from app.models.clock import set_offset

    order_id = order_id_from(place_order(admin, approved[:1]))
    choose_method(admin, order_id, "sandbox-wechat")
    [attempt] = open_attempts(app, order_id)
    set_offset(timedelta(hours=48, seconds=1))
    try:
        page = sandbox_pay(admin, attempt.out_trade_no).get_data(as_text=True)
    finally:
        set_offset(timedelta(0))
    assert "该二维码已失效" in page
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING
