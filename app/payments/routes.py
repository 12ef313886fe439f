"""Views of 缴费管理: the unpaid list, order confirmation, notifications and the sandbox page."""

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import unit_admin_required
from app.extensions import csrf, db
from app.models import Unit
from app.models.payment import OrderItem, OrderStatus, PaymentAttempt, SandboxTrade
from app.pagination import paginate
from app.payments import bp
from app.payments.hold import hold_hours_text
from app.payments.notifications import handle_notification
from app.payments.orders import (
    InvoiceDetails,
    OrderError,
    class_name,
    nothing_payable_message,
    pending_orders_by_id,
    place_order,
    project_fees,
    select_for_payment,
    unpaid_enrollments,
)
from app.payments.registry import enabled_provider_names, provider
from app.templating import format_fen
from forms.enrollments import ActionForm
from forms.payments import OrderConfirmForm, PaymentSelectionForm

log = logging.getLogger(__name__)


@bp.route("/")
@unit_admin_required
def index():
    """List the unit's approved enrollments whose fee is unpaid, with 在线集体缴费 and 全部支付."""
    page = paginate(unpaid_enrollments(current_user.unit_id))
    return render_template(
        "payments/index.html",
        page=page,
        fees=project_fees(),
        held_prices=_held_prices(page.items),
        orders=pending_orders_by_id(page.items),
        class_name=class_name,
        selection_form=PaymentSelectionForm(),
    )


def _held_prices(enrollments) -> dict[int, int]:
    """Price in fen of each enrollment in a pending order, as that order charges it.

    A fee changed by staff after the order was placed does not change the order.
    """
    held = [e for e in enrollments if e.pending_order_id is not None]
    if not held:
        return {}
    rows = db.session.execute(
        select(OrderItem.enrollment_id, OrderItem.order_id, OrderItem.price_fen).where(
            OrderItem.enrollment_id.in_([e.id for e in held])
        )
    )
    orders_of = {e.id: e.pending_order_id for e in held}
    return {
        enrollment_id: price
        for enrollment_id, order_id, price in rows
        if orders_of.get(enrollment_id) == order_id
    }


@bp.route("/confirm", methods=["GET"])
@bp.route("/orders", methods=["GET"])
@unit_admin_required
def back_to_list():
    """Redirect the confirm page's address, opened directly or refreshed, to the list."""
    flash("请在缴费管理中勾选报名后点击【在线集体缴费】或【全部支付】。", "info")
    return redirect(url_for("payments.index"))


@bp.route("/confirm", methods=["POST"])
@unit_admin_required
def confirm():
    """Show 请确认订单信息: the chosen enrollments, their total and the invoice fields."""
    selection_form = PaymentSelectionForm()
    if not selection_form.validate_on_submit():
        flash(_first_error(selection_form) or "页面已过期，请刷新后重新勾选。", "danger")
        return redirect(url_for("payments.index"))
    pay_all = "all" in request.form
    if not pay_all and not selection_form.ids.data:
        flash("请先勾选要缴费的报名，或点击【全部支付】。", "warning")
        return redirect(url_for("payments.index"))

    selection = select_for_payment(current_user.unit, None if pay_all else selection_form.ids.data)
    if not selection.payable:
        flash(nothing_payable_message(selection), "warning")
        return redirect(url_for("payments.index"))
    form = OrderConfirmForm(formdata=None, ids=[e.id for e in selection.payable])
    _prefill_invoice(form, current_user.unit)
    return _confirm_page(form, selection)


@bp.route("/orders", methods=["POST"])
@unit_admin_required
def place():
    """提交支付: place the order and go to its payment page."""
    form = OrderConfirmForm()
    if not form.validate_on_submit():
        return _rejected_order_form(form)
    changed = _changed_total(form)
    if changed:
        return changed
    try:
        order = place_order(current_user.unit, form.ids.data, _invoice_details(form), current_user)
    except OrderError as error:
        log.info(
            "order for unit %s by user %s not placed: %s",
            current_user.unit_id,
            current_user.id,
            error.message,
        )
        flash(error.message, "danger")
        return redirect(url_for("payments.index"))
    if order.status == OrderStatus.PAID:
        flash(f"订单 {order.number} 金额为0元，已直接完成缴费。", "success")
        return redirect(url_for("orders.detail", order_id=order.id))
    return redirect(url_for("orders.pay", order_id=order.id))


def _changed_total(form: OrderConfirmForm):
    """Show the confirm page again when the total differs from the one the unit confirmed.

    Staff may change a project's fee (培训目录) while the unit fills in the invoice details.
    """
    selection = select_for_payment(current_user.unit, form.ids.data)
    if not selection.payable or len(selection.payable) != len(set(form.ids.data)):
        return None  # place_order explains what is no longer payable
    total = selection.total_fen
    if form.total_fen.data == str(total):
        return None
    log.info(
        "order for unit %s not placed: total changed from %r to %s fen",
        current_user.unit_id,
        form.total_fen.data,
        total,
    )
    flash(
        f"培训费已调整，订单金额现为 ¥{format_fen(total)}，请核对订单内容后再点一次【提交支付】。",
        "warning",
    )
    return _confirm_page(form, selection)


def _rejected_order_form(form: OrderConfirmForm):
    # Invalid ids never reach a query, because a huge number overflows the database integer.
    if form.ids.errors:
        flash(form.ids.errors[0], "danger")
        return redirect(url_for("payments.index"))
    selection = select_for_payment(current_user.unit, form.ids.data)
    if not selection.payable:
        flash(nothing_payable_message(selection), "danger")
        return redirect(url_for("payments.index"))
    if "csrf_token" in form.errors:
        flash("页面已过期，订单未提交，请核对发票内容后再点一次【提交支付】。", "warning")
    return _confirm_page(form, selection), 400


def _confirm_page(form: OrderConfirmForm, selection):
    fees = selection.fees
    total_fen = selection.total_fen
    form.total_fen.data = str(total_fen)
    return render_template(
        "payments/confirm.html",
        form=form,
        selection=selection,
        fees=fees,
        total_fen=total_fen,
        class_name=class_name,
        hold_hours=hold_hours_text(),
    )


def _prefill_invoice(form: OrderConfirmForm, unit: Unit) -> None:
    form.title.data = unit.name
    form.tax_number.data = unit.credit_code
    form.address.data = unit.address
    form.phone.data = unit.contact_phone


def _invoice_details(form: OrderConfirmForm) -> InvoiceDetails:
    special = form.is_special
    return InvoiceDetails(
        invoice_type=form.invoice_type.data,
        title=form.title.data,
        tax_number=form.tax_number.data,
        # A normal invoice does not print these; keep what was typed only where it matters.
        address=form.address.data if special else "",
        phone=form.phone.data if special else "",
        bank=form.bank.data if special else "",
        account=form.account.data if special else "",
        remark=(form.remark.data or "").strip(),
    )


def _first_error(form) -> str:
    # Flask-WTF's CSRF messages are English, so callers show their own Chinese text instead.
    for name, errors in form.errors.items():
        if errors and name != "csrf_token":
            return errors[0]
    return ""


# --- Provider notifications --------------------------------------------------------------


@bp.route("/notify/<provider_name>", methods=["POST"])
@csrf.exempt
def notify(provider_name: str):
    """Receive a provider's payment notification and respond in the format it expects."""
    body, status, headers = handle_notification(
        provider_name, dict(request.headers), request.get_data(cache=False)
    )
    return body, status, headers


# --- The sandbox platform -------------------------------------------------------------------


@bp.route("/sandbox/<out_trade_no>")
def sandbox_page(out_trade_no: str):
    """Show the page a sandbox QR code opens: the buyer's side of the stand-in platform."""
    trade = _sandbox_trade_or_404(out_trade_no)
    return render_template("payments/sandbox.html", trade=trade, form=ActionForm())


@bp.route("/sandbox/<out_trade_no>/pay", methods=["POST"])
def sandbox_pay(out_trade_no: str):
    """模拟支付成功: take the money at the sandbox, then send the notification a platform would."""
    _sandbox_trade_or_404(out_trade_no)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_provider = _sandbox_channel_of(out_trade_no)
    channel = provider(attempt_provider)
    signed = channel.pay(out_trade_no)
    if signed is None:
        log.info("sandbox trade %s not paid: closed, paid already or not found", out_trade_no)
        flash(
            "该二维码已失效（已关闭或已支付），请在缴费页面点击【更新二维码】后重新扫码。",
            "warning",
        )
        return redirect(url_for("payments.sandbox_page", out_trade_no=out_trade_no))
    headers, body = signed
    _, status, _ = handle_notification(attempt_provider, headers, body)
    log.info("sandbox trade %s paid, notification response status %s", out_trade_no, status)
    flash("模拟支付成功，款项已通知平台。", "success")
    return redirect(url_for("payments.sandbox_page", out_trade_no=out_trade_no))


def _sandbox_trade_or_404(out_trade_no: str) -> SandboxTrade:
    if not any(name.startswith("sandbox-") for name in enabled_provider_names()):
        abort(404)
    trade = db.session.get(SandboxTrade, out_trade_no[:32])
    if trade is None:
        abort(404)
    return trade


def _sandbox_channel_of(out_trade_no: str) -> str:
    name = db.session.scalar(
        select(PaymentAttempt.provider).where(PaymentAttempt.out_trade_no == out_trade_no)
    )
    if name is None or not name.startswith("sandbox-") or name not in enabled_provider_names():
        abort(404)
    return name
