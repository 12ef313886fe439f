"""Views of 订单管理 and the payment page (立即支付)."""

import logging

import segno
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.access import staff_required, unit_admin_required
from app.extensions import db
from app.models import Unit
from app.models.clock import now
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderItem,
    OrderStatus,
    PaymentAttempt,
    RefundStatus,
)
from app.orders import bp
from app.orders.queries import OrderFilters, filtered_orders, order_or_404
from app.pagination import paginate
from app.payments.attempts import AttemptRejected, open_attempt
from app.payments.hold import hold_hours_text
from app.payments.providers.base import ProviderError
from app.payments.registry import enabled_provider_names, provider
from app.payments.settlement import CancelOutcome, cancel_order
from forms.enrollments import ActionForm
from forms.payments import OrderFilterForm, PayMethodForm

log = logging.getLogger(__name__)


@bp.before_request
@login_required
def _no_trainees():
    # Trainees complete their own enrollments but never pay or see orders.
    if current_user.is_trainee:
        abort(403)


@bp.route("/")
def index():
    """List 订单管理: the orders a user may see, filtered and paged, newest first."""
    units = (
        db.session.scalars(select(Unit).order_by(Unit.name)).all() if current_user.is_staff else ()
    )
    form = OrderFilterForm(request.args, units=units)
    form.validate()
    filters = OrderFilters(
        number=(form.number.data or "") if not form.number.errors else "",
        status=form.status.data if form.status.data in OrderStatus.LABELS else "",
        placed_from=form.placed_from.data if not form.placed_from.errors else None,
        placed_to=form.placed_to.data if not form.placed_to.errors else None,
        # The unit choices are the units' ids, so a value without errors is a valid id.
        unit_id=int(form.unit.data) if form.unit.data and not form.unit.errors else None,
    )
    page = paginate(filtered_orders(current_user, filters))
    return render_template("orders/index.html", form=form, page=page, action_form=ActionForm())


@bp.route("/<int:order_id>")
def detail(order_id: int):
    """Show 详情: the order, its items with their enrollments, and its payment attempts."""
    order = order_or_404(
        current_user,
        order_id,
        options=[
            selectinload(Order.items).selectinload(OrderItem.enrollment),
            selectinload(Order.attempts),
        ],
    )
    return render_template(
        "orders/detail.html", order=order, action_form=ActionForm(), hold_hours=hold_hours_text()
    )


@bp.route("/<int:order_id>/pay")
@unit_admin_required
def pay(order_id: int):
    """Show 立即支付: amount, countdown to the hold's end and the chosen method's QR code."""
    order = order_or_404(current_user, order_id)
    if order.status != OrderStatus.PENDING:
        return _not_payable(order)
    attempt = _shown_attempt(order)
    return render_template(
        "orders/pay.html",
        order=order,
        attempt=attempt,
        qr_svg=_qr_data_uri(attempt.qr_text) if attempt else "",
        providers=[provider(name) for name in enabled_provider_names()],
        seconds_left=max(0, int((order.expires_at - now()).total_seconds())),
        hold_hours=hold_hours_text(),
        form=PayMethodForm(),
    )


@bp.route("/<int:order_id>/pay", methods=["POST"])
@unit_admin_required
def open_qr(order_id: int):
    """Close the previous QR code and open a new one, on choosing a method or 更新二维码."""
    order = order_or_404(current_user, order_id)
    form = PayMethodForm()
    if not form.validate_on_submit() or form.provider.data not in enabled_provider_names():
        flash("请选择支付方式（页面可能已过期，请刷新后重试）。", "warning")
        return redirect(url_for("orders.pay", order_id=order.id))
    if order.status != OrderStatus.PENDING:
        return _not_payable(order)
    try:
        attempt = open_attempt(order.id, form.provider.data)
    except AttemptRejected as rejection:
        log.info(
            "order %s: QR code at %s for user %s rejected: %s",
            order.id,
            form.provider.data,
            current_user.id,
            rejection.message,
        )
        flash(rejection.message, "warning")
        db.session.refresh(order)
        if order.status != OrderStatus.PENDING:
            return redirect(url_for("orders.detail", order_id=order.id))
        return redirect(url_for("orders.pay", order_id=order.id))
    if attempt is None:
        flash(f"订单 {order.number} 已付款成功。", "success")
        return redirect(url_for("orders.detail", order_id=order.id))
    return redirect(url_for("orders.pay", order_id=order.id))


@bp.route("/<int:order_id>/status")
def status(order_id: int):
    """Return the order's status as JSON for the payment page, from our records only.

    ``qr`` is the merchant order number of the QR code the page should show, so a page left
    open in another tab notices when its QR code was replaced.
    """
    order = order_or_404(current_user, order_id)
    shown = _shown_attempt(order)
    return jsonify(
        status=order.status,
        label=order.status_label,
        paid_at=order.paid_at.strftime("%Y-%m-%d %H:%M:%S") if order.paid_at else None,
        seconds_left=max(0, int((order.expires_at - now()).total_seconds())),
        qr=shown.out_trade_no if shown else None,
    )


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@unit_admin_required
def cancel(order_id: int):
    """取消订单: close the QR codes at the provider, then cancel and free the enrollments."""
    order = order_or_404(current_user, order_id)
    if not ActionForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "warning")
        return redirect(url_for("orders.index"))
    try:
        outcome = cancel_order(order.id, f"单位管理员{current_user.display_name}取消")
    except ProviderError as error:
        log.warning(
            "order %s: cancellation by user %s failed, QR code state unknown: %s",
            order.id,
            current_user.id,
            error,
        )
        flash(
            f"暂时无法确认二维码是否已付款，订单未取消，请稍后再试。（{error.message}）", "warning"
        )
        return redirect(url_for("orders.detail", order_id=order.id))
    messages = {
        CancelOutcome.CANCELLED: (
            f"订单 {order.number} 已取消，其中的报名可以重新缴费。",
            "success",
        ),
        CancelOutcome.PAID: (f"订单 {order.number} 在取消前已付款成功，不能取消。", "warning"),
        CancelOutcome.ALREADY_PAID: (f"订单 {order.number} 已付款，不能取消。", "warning"),
        CancelOutcome.ALREADY_CANCELLED: (f"订单 {order.number} 已取消。", "info"),
    }
    flash(*messages[outcome])
    return redirect(url_for("orders.detail", order_id=order.id))


def _not_payable(order):
    """Send a paid or cancelled order's 立即支付 to its details, saying what to do instead."""
    if order.status == OrderStatus.PAID:
        flash(f"订单 {order.number} 已付款，无需再次支付。", "info")
    else:
        flash(
            f"订单 {order.number} 已取消，不能再支付；其中的报名请回到【缴费管理】重新下单。",
            "warning",
        )
    return redirect(url_for("orders.detail", order_id=order.id))


def _shown_attempt(order) -> PaymentAttempt | None:
    """Return the newest open QR code if its provider is still enabled here."""
    open_attempts = [a for a in order.attempts if a.status == AttemptStatus.OPEN]
    if open_attempts and open_attempts[-1].provider in enabled_provider_names():
        return open_attempts[-1]
    return None


def _qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=6, border=2)


# --- Refunds (staff) -----------------------------------------------------------------------


@bp.route("/refunds")
@staff_required
def refunds():
    """List 退款处理: money taken for orders already paid or cancelled, to be given back."""
    stmt = (
        select(PaymentAttempt)
        .options(selectinload(PaymentAttempt.order).selectinload(Order.unit))
        .where(PaymentAttempt.refund_status != RefundStatus.NONE)
        .order_by(PaymentAttempt.refund_status.desc(), PaymentAttempt.paid_at.desc())
    )
    page = paginate(stmt)
    return render_template("orders/refunds.html", page=page, action_form=ActionForm())


@bp.route("/refunds/<int:attempt_id>/done", methods=["POST"])
@staff_required
def refund_done(attempt_id: int):
    """Mark a payment refunded (标记已退款) once staff returned it in the merchant console."""
    if not ActionForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "warning")
        return redirect(url_for("orders.refunds"))
    changed = db.session.execute(
        db.update(PaymentAttempt)
        .where(
            PaymentAttempt.id == attempt_id,
            PaymentAttempt.refund_status == RefundStatus.PENDING,
        )
        .values(refund_status=RefundStatus.DONE, refunded_at=now(), refunded_by_id=current_user.id)
    ).rowcount
    db.session.commit()
    if changed:
        log.info("attempt %s marked refunded by user %s", attempt_id, current_user.id)
        flash("已标记为已退款。", "success")
    else:
        flash("该笔款项不在待退款状态，未作更改。", "info")
    return redirect(url_for("orders.refunds"))
