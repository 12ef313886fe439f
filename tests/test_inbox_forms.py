"""The user task form registry and the review and correction forms on their own."""

import pytest
from werkzeug.datastructures import MultiDict

from forms.correction import EnrollmentCorrectionForm
from forms.registry import FORMS, UnknownFormKey, get_form, get_form_class
from forms.review import EnrollmentReviewForm


@pytest.fixture
def request_context(app):
    with app.test_request_context(method="POST"):
        yield


def review_form(**fields) -> EnrollmentReviewForm:
    return EnrollmentReviewForm(formdata=MultiDict(fields), meta={"csrf": False})


def correction_form(**fields) -> EnrollmentCorrectionForm:
    return EnrollmentCorrectionForm(formdata=MultiDict(fields), meta={"csrf": False})


def test_registry_maps_diagram_keys():
    assert {
        "enrollment_review": EnrollmentReviewForm,
        "enrollment_correction": EnrollmentCorrectionForm,
    } == FORMS
    assert get_form_class("enrollment_review") is EnrollmentReviewForm


def test_registry_templates_exist(app):
    for form_class in FORMS.values():
        assert app.jinja_env.get_template(form_class.template).name == form_class.template


def test_unknown_key_raises_clear_error():
    with pytest.raises(UnknownFormKey) as raised:
        get_form_class("payment_check")

    assert isinstance(raised.value, LookupError)
    assert str(raised.value) == "no user task form is registered under the key 'payment_check'"
    assert raised.value.message == (
        "该任务使用的表单“payment_check”未在系统中登记，无法办理，请联系流程管理员。"
    )


def test_get_form_builds_instance(request_context):
    form = get_form("enrollment_correction", formdata=MultiDict({"action": "withdraw"}))

    assert isinstance(form, EnrollmentCorrectionForm)
    assert form.action.data == "withdraw"


def test_approve_data_drops_reason(request_context):
    form = review_form(decision="approve", reason="顺手写的备注")

    assert form.validate()
    assert form.to_task_data() == {"decision": "approve", "reason": ""}
    assert form.outcome_label() == "审核通过"


def test_reject_data_keeps_trimmed_reason(request_context):
    form = review_form(decision="reject", reason="  照片不清晰  ")

    assert form.validate()
    assert form.to_task_data() == {"decision": "reject", "reason": "照片不清晰"}
    assert form.outcome_label() == "审核不通过，已退回单位修改"


@pytest.mark.parametrize(
    "fields, field_name, message",
    [
        (
            {"decision": "reject", "reason": ""},
            "reason",
            "请填写不通过原因，说明需要单位修改的内容",
        ),
        (
            {"decision": "reject", "reason": " \n "},
            "reason",
            "请填写不通过原因，说明需要单位修改的内容",
        ),
        (
            {"decision": "reject", "reason": "字" * 501},
            "reason",
            "不通过原因不能超过 500 字，请精简后再提交。",
        ),
        ({"reason": ""}, "decision", "请选择审核结果：通过或不通过。"),
        (
            {"decision": "maybe"},
            "decision",
            "审核结果只能是“通过”或“不通过”，请重新选择。",
        ),
    ],
)
def test_review_form_errors(request_context, fields, field_name, message):
    form = review_form(**fields)

    assert not form.validate()
    assert message in form.errors[field_name]


def test_reason_of_500_chars_accepted(request_context):
    assert review_form(decision="reject", reason="字" * 500).validate()


def test_correction_data(request_context):
    resubmit = correction_form(action="resubmit", note=" 已更换照片 ")
    withdraw = correction_form(action="withdraw")

    assert resubmit.validate()
    assert resubmit.to_task_data() == {"action": "resubmit", "note": "已更换照片"}
    assert resubmit.outcome_label() == "已重新提交，等待协会审核"
    assert withdraw.validate()
    assert withdraw.to_task_data() == {"action": "withdraw", "note": ""}
    assert withdraw.outcome_label() == "已撤回报名"


def test_correction_needs_action(request_context):
    form = correction_form(note="说明")

    assert not form.validate()
    assert form.errors["action"] == ["请选择处理方式：重新提交或撤回报名。"]


def test_correction_rejects_unknown_action(request_context):
    form = correction_form(action="delete")

    assert not form.validate()
    assert form.errors["action"] == ["处理方式只能是“重新提交”或“撤回报名”，请重新选择。"]
