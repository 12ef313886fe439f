"""Forms of 缴费管理 and 订单管理: picking enrollments, confirming an order with its invoice
details, choosing how to pay, and the order list filters."""

import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.accounts.credit_code import credit_code_error, normalize_credit_code
from app.models.payment import InvoiceType, OrderStatus

# A phone on an invoice: landline with area code or mobile, optionally with an extension.
INVOICE_PHONE = re.compile(r"^(0\d{2,3}-?\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$")
BANK_ACCOUNT = re.compile(r"^\d{8,30}$")


def _cleaned(value: str | None) -> str:
    """Drop control and invisible format characters and strip spaces; keep the text as typed.

    A pasted NUL would fail the insert on PostgreSQL, and a right-to-left mark (U+202E) would
    print the invoice title reversed. Full-width brackets stay: registered names use them.
    """
    kept = "".join(char for char in (value or "") if unicodedata.category(char) not in ("Cc", "Cf"))
    return kept.strip()


def _folded(value: str | None) -> str:
    """Clean the value and fold full-width digits and letters (NFKC), for numbers and codes."""
    return unicodedata.normalize("NFKC", _cleaned(value)).strip()


def _length(label: str, limit: int) -> Length:
    return Length(max=limit, message=f"{label}不能超过{limit}个字（现为%(length)d个字），请精简。")


def _enrollment_id(value) -> int:
    """Coerce a posted enrollment id, turning text that is no integer into the invalid id 0.

    validate_ids then rejects it with a Chinese message instead of WTForms' generic one.
    """
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class PaymentSelectionForm(FlaskForm):
    """Selection of the rows ticked in 缴费管理; 全部支付 posts none and means all."""

    ids = SelectMultipleField("选中的报名", coerce=_enrollment_id, validate_choice=False)

    def validate_ids(self, field):
        if any(not 0 < value < 2**31 for value in field.data or []):
            raise ValidationError("选中的报名编号无效，请刷新页面后重新勾选。")


class OrderConfirmForm(FlaskForm):
    """Confirmation form of an order (请确认订单信息并认真填写发票内容) with its invoice details."""

    ids = SelectMultipleField("报名", coerce=_enrollment_id, validate_choice=False)
    invoice_type = RadioField(
        "发票类型",
        choices=list(InvoiceType.LABELS.items()),
        default=InvoiceType.NORMAL,
        validators=[DataRequired("请选择发票类型。")],
    )
    title = StringField(
        "发票抬头", validators=[DataRequired("请填写发票抬头。"), _length("发票抬头", 100)]
    )
    tax_number = StringField(
        "税号",
        validators=[Length(max=32)],
        description="统一社会信用代码，18位；机关、事业单位等没有税号的，开普通发票时可不填。",
    )
    address = StringField("注册地址", validators=[_length("注册地址", 200)])
    phone = StringField("注册电话", validators=[_length("注册电话", 32)])
    bank = StringField("开户银行", validators=[_length("开户银行", 100)])
    account = StringField("银行账号", validators=[_length("银行账号", 64)])
    remark = StringField("备注", validators=[Optional(), _length("备注", 200)])
    # The total the unit saw on the confirm page; the order is not placed if fees changed since.
    total_fen = HiddenField()
    submit = SubmitField("提交支付")

    @property
    def is_special(self) -> bool:
        return self.invoice_type.data == InvoiceType.SPECIAL

    def validate_ids(self, field):
        if not field.data:
            raise ValidationError("订单中没有报名，请回到缴费管理重新勾选。")
        if any(not 0 < value < 2**31 for value in field.data):
            raise ValidationError("订单中的报名编号无效，请回到缴费管理重新勾选。")

    def validate_title(self, field):
        field.data = _cleaned(field.data)
        if not field.data:
            raise ValidationError("请填写发票抬头。")

    def validate_tax_number(self, field):
        field.data = normalize_credit_code(field.data or "")
        if not field.data:
            if self.is_special:
                raise ValidationError("开具增值税专用发票必须填写税号（统一社会信用代码）。")
            return
        error = credit_code_error(field.data)
        if error:
            raise ValidationError(error.replace("统一社会信用代码", "税号（统一社会信用代码）", 1))

    def validate_address(self, field):
        field.data = _cleaned(field.data)
        if self.is_special and not field.data:
            raise ValidationError("开具增值税专用发票必须填写注册地址。")

    def validate_phone(self, field):
        field.data = re.sub(r"\s+", "", _folded(field.data))
        if self.is_special and not field.data:
            raise ValidationError("开具增值税专用发票必须填写注册电话。")
        if field.data and not INVOICE_PHONE.match(field.data):
            raise ValidationError(
                "电话格式不正确，请填写带区号的固定电话（如 0592-5123456）或11位手机号。"
            )

    def validate_bank(self, field):
        field.data = _cleaned(field.data)
        if self.is_special and not field.data:
            raise ValidationError("开具增值税专用发票必须填写开户银行。")

    def validate_account(self, field):
        field.data = re.sub(r"[\s-]+", "", _folded(field.data))
        if self.is_special and not field.data:
            raise ValidationError("开具增值税专用发票必须填写银行账号。")
        if field.data and not BANK_ACCOUNT.match(field.data):
            raise ValidationError("银行账号应为8至30位数字，请核对开户许可证或对账单。")

    def validate_remark(self, field):
        field.data = _cleaned(field.data)


class PayMethodForm(FlaskForm):
    """Payment method choice (支付方式) and 更新二维码 on the payment page."""

    provider = HiddenField(validators=[DataRequired()])
    refresh = SubmitField("更新二维码")


class OrderFilterForm(FlaskForm):
    """Search fields above 订单管理, read from the query string."""

    class Meta:
        csrf = False

    number = StringField("订单号", validators=[Optional(), Length(max=32)])
    status = SelectField("订单状态", validators=[Optional()])
    placed_from = DateField("下单时间从", validators=[Optional()])
    placed_to = DateField("至", validators=[Optional()])
    unit = SelectField("缴费单位", validators=[Optional()])

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [("", "全部"), *OrderStatus.LABELS.items()]
        self.unit.choices = [("", "全部"), *((str(unit.id), unit.name) for unit in units)]

    def validate_placed_to(self, field):
        if field.data and self.placed_from.data and field.data < self.placed_from.data:
            raise ValidationError("结束日期不能早于开始日期，请重新选择。")
