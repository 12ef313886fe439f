"""Online group payment in headless Chromium: the sandbox provider and the 48-hour order hold.

The demo unit admin pays two of three approved enrollments through 缴费管理. The steps are the
confirm page, the payment page (a 微信 QR code, then a 支付宝 one, which closes the first),
模拟支付成功 on the sandbox platform in a new tab, and the page's poll moving on to the paid
order. An order for the third enrollment is left unpaid. With the clock 48 hours and 1 minute
ahead the sweep cancels it, and the enrollment can be paid again. Screenshots of each step go
to test-artifacts/.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment
from app.models.clock import set_offset
from app.models.payment import Order, SandboxTrade
from app.payments.hold import sweep_expired_orders
from tests.conftest import log_in
from tests.payment_support import ID_NUMBERS, add_approved, demo_unit

pytestmark = pytest.mark.browser

UNIT_NAME = "厦门示范机电设备有限公司"
UNIT_CREDIT_CODE = "91350200MA2XN8QK7N"
ELEVATOR = "特种设备使用单位电梯"
BOILER = "特种设备使用单位锅炉"
# The payment page polls /orders/<id>/status every 3 seconds.
POLL_WAIT_MS = 10_000


@pytest.fixture
def approved(app):
    """Three approved enrollments of the demo unit at 150 yuan each: two 电梯, one 锅炉."""
    with app.app_context():
        unit = demo_unit()
        rows = [
            add_approved(unit, "白露", ID_NUMBERS[0], "电梯"),
            add_approved(unit, "夏文娟", ID_NUMBERS[1], "电梯"),
            add_approved(unit, "王东", ID_NUMBERS[2], "锅炉"),
        ]
        return [row.id for row in rows]


@pytest.fixture
def clock():
    """Return set_offset for the application clock, and put the clock back after the test."""
    yield set_offset
    set_offset(timedelta(0))


def table_rows(page, table_test_id: str) -> list[list[str]]:
    """Return the text of each body cell, row by row, of the table with that test id."""
    rows = page.get_by_test_id(table_test_id).locator("tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def order_list_row(page, order_id: int) -> dict[str, str]:
    """Return the order's row in 订单管理 as {column header: cell text}."""
    headers = page.get_by_test_id("order-table").locator("thead th").all_inner_texts()
    cells = page.locator(f'tr[data-order-id="{order_id}"] td').all_inner_texts()
    return dict(zip([h.strip() for h in headers], [c.strip() for c in cells], strict=True))


def unpaid_ids(page) -> list[int]:
    rows = page.get_by_test_id("unpaid-table").locator("tr[data-enrollment-id]")
    return [int(rows.nth(i).get_attribute("data-enrollment-id")) for i in range(rows.count())]


def alerts(page) -> str:
    return " ".join(page.locator(".alert").all_inner_texts())


def image_width(page, test_id: str) -> int:
    """Return the natural width of the image, which is 0 when it did not load."""
    return page.get_by_test_id(test_id).evaluate("image => image.naturalWidth")


def sandbox_trade_state(app, out_trade_no: str) -> str:
    with app.app_context():
        return db.session.get(SandboxTrade, out_trade_no).state


def test_group_payment_sandbox_and_hold(browser, live_server, screenshot_dir, app, approved, clock):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    shots = iter(range(1, 100))

    def shot(target, name: str) -> None:
        target.screenshot(path=screenshot_dir / f"{next(shots):02d}-{name}.png", full_page=True)

    first, second, third = approved
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")

    # --- 缴费管理: tick 白露 and 夏文娟, then 在线集体缴费.
    page.goto(f"{live_server}/payments/")
    assert unpaid_ids(page) == [first, second, third]
    page.locator(f'tr[data-enrollment-id="{first}"] .row-check').check()
    page.locator(f'tr[data-enrollment-id="{second}"] .row-check').check()
    page.get_by_test_id("pay-selected").click()
    page.wait_for_load_state()

    # --- The confirm page: invoice details from the unit, two items, ¥300.
    assert page.url.endswith("/payments/confirm")
    assert page.get_by_label("增值税普通发票").is_checked()
    assert page.get_by_label("发票抬头").input_value() == UNIT_NAME
    assert page.get_by_label("税号").input_value() == UNIT_CREDIT_CODE
    assert table_rows(page, "order-items") == [
        ["1", "白露", "3502**********7171", ELEVATOR, "150"],
        ["2", "夏文娟", "3502**********1236", ELEVATOR, "150"],
    ]
    assert page.get_by_test_id("order-total").inner_text() == "¥300"
    shot(page, "confirm-page")
    page.get_by_test_id("place-order").click()
    page.wait_for_load_state()

    # --- The payment page: nothing chosen yet, ¥300, 48 hours left.
    with app.app_context():
        paid_order = db.session.scalar(select(Order).order_by(Order.id.desc()))
        paid_order_id, paid_number = paid_order.id, paid_order.number
    assert page.url.endswith(f"/orders/{paid_order_id}/pay")
    assert page.get_by_test_id("pay-amount").inner_text() == "¥300"
    assert page.get_by_test_id("choose-method").is_visible()
    assert page.get_by_test_id("qr-code").count() == 0

    # 微信支付（模拟）: a QR code that loads, and the countdown from 48 hours.
    page.get_by_test_id("method-sandbox-wechat").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("method-sandbox-wechat").inner_text() == "微信支付（模拟）"
    assert page.get_by_test_id("qr-code").get_attribute("alt") == "微信支付（模拟）付款二维码"
    assert image_width(page, "qr-code") > 0
    countdown = page.get_by_test_id("countdown").inner_text()
    assert countdown.startswith(("47小时59分", "48小时00分")), countdown
    wechat_link = page.get_by_test_id("sandbox-link").get_attribute("href")
    wechat_trade = wechat_link.rsplit("/", 1)[1]
    assert wechat_link == f"{live_server}/payments/sandbox/{wechat_trade}"
    assert sandbox_trade_state(app, wechat_trade) == "pending"
    shot(page, "payment-page-wechat-qr")

    # 支付宝（模拟）: a new QR code, and the WeChat one is closed at the sandbox.
    page.get_by_test_id("method-sandbox-alipay").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("qr-code").get_attribute("alt") == "支付宝（模拟）付款二维码"
    assert image_width(page, "qr-code") > 0
    alipay_link = page.get_by_test_id("sandbox-link").get_attribute("href")
    alipay_trade = alipay_link.rsplit("/", 1)[1]
    assert alipay_trade != wechat_trade
    assert sandbox_trade_state(app, wechat_trade) == "closed"
    assert sandbox_trade_state(app, alipay_trade) == "pending"
    shot(page, "payment-page-alipay-qr")

    # --- The sandbox platform in a new tab: 模拟支付成功.
    with context.expect_page() as new_tab:
        page.get_by_test_id("sandbox-link").click()
    sandbox = new_tab.value
    sandbox.wait_for_load_state()
    assert sandbox.url == alipay_link
    assert "金额：¥300" in sandbox.get_by_test_id("sandbox-page").inner_text()
    shot(sandbox, "sandbox-before-pay")
    sandbox.get_by_test_id("sandbox-pay").click()
    sandbox.wait_for_load_state()
    assert "模拟支付成功，款项已通知平台。" in alerts(sandbox)
    assert sandbox.get_by_test_id("sandbox-state").inner_text().startswith("已支付，交易号 ")
    shot(sandbox, "sandbox-paid")
    # The closed WeChat QR code can no longer be paid.
    sandbox.goto(wechat_link)
    assert sandbox.get_by_test_id("sandbox-state").inner_text() == "该二维码已关闭，不能再支付。"
    assert sandbox.get_by_test_id("sandbox-pay").count() == 0
    sandbox.close()

    # --- Back on the payment tab the poll moves on to the paid order.
    page.wait_for_url(f"{live_server}/orders/{paid_order_id}", timeout=POLL_WAIT_MS)
    assert page.get_by_test_id("order-status").inner_text() == "已付款"
    assert page.get_by_test_id("order-number").inner_text() == paid_number
    assert page.get_by_test_id("item-payment-status").all_inner_texts() == ["已缴费", "已缴费"]
    shot(page, "paid-order-detail")

    page.goto(f"{live_server}/orders/")
    row = order_list_row(page, paid_order_id)
    assert row["订单号"] == paid_number
    assert row["订单总价(元)"] == "300"
    assert row["缴费单位"] == UNIT_NAME
    assert row["开票状态"] == "待开票"
    assert row["订单状态"] == "已付款"
    assert row["缴费时间"] != ""
    shot(page, "order-list-paid")

    page.goto(f"{live_server}/payments/")
    assert unpaid_ids(page) == [third]
    shot(page, "unpaid-after-payment")

    # --- An order for 王东 through 全部支付, left unpaid on its payment page.
    page.get_by_test_id("pay-all").click()
    page.wait_for_load_state()
    assert table_rows(page, "order-items") == [["1", "王东", "3502**********2351", BOILER, "150"]]
    assert page.get_by_test_id("order-total").inner_text() == "¥150"
    page.get_by_test_id("place-order").click()
    page.wait_for_load_state()
    with app.app_context():
        held_order_id = db.session.scalar(select(Order.id).order_by(Order.id.desc()))
        assert db.session.get(Enrollment, third).pending_order_id == held_order_id
    assert held_order_id != paid_order_id
    assert page.url.endswith(f"/orders/{held_order_id}/pay")
    assert page.get_by_test_id("pay-amount").inner_text() == "¥150"

    # While this pending order contains 王东, 缴费管理 does not let him be ticked again.
    page.goto(f"{live_server}/payments/")
    held_row = page.locator(f'tr[data-enrollment-id="{third}"]')
    assert held_row.locator(".row-check").is_disabled()
    assert held_row.locator("td").last.inner_text().strip().startswith("待付款（订单 ")
    held_row.get_by_role("link", name="立即支付").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/orders/{held_order_id}/pay")

    # 48 hours and 1 minute later: the next poll shows the hold as run out.
    clock(timedelta(hours=48, minutes=1))
    countdown = page.get_by_test_id("countdown")
    countdown.filter(has_text="已超时，订单即将自动取消").wait_for(timeout=POLL_WAIT_MS)
    shot(page, "payment-page-hold-over")

    # The scheduler's sweep cancels it, and the open payment page moves on to the detail.
    with app.app_context():
        assert sweep_expired_orders() == 1
    page.wait_for_url(f"{live_server}/orders/{held_order_id}", timeout=POLL_WAIT_MS)
    page.reload()
    assert page.get_by_test_id("order-status").inner_text() == "已取消"
    assert "（超过48小时未付款，系统自动取消）" in page.locator("dl").first.inner_text()
    assert page.get_by_test_id("item-payment-status").all_inner_texts() == ["未缴费"]
    assert page.get_by_test_id("cancel-order").count() == 0
    shot(page, "cancelled-order-detail")

    page.goto(f"{live_server}/orders/")
    assert order_list_row(page, held_order_id)["订单状态"] == "已取消"
    assert order_list_row(page, paid_order_id)["订单状态"] == "已付款"
    shot(page, "order-list-cancelled")

    # 王东 can be paid again.
    page.goto(f"{live_server}/payments/")
    assert unpaid_ids(page) == [third]
    row = page.locator(f'tr[data-enrollment-id="{third}"]')
    assert row.locator(".row-check").is_enabled()
    assert row.locator("td").last.inner_text().strip() == "未缴费"
    shot(page, "unpaid-after-cancel")
    context.close()
