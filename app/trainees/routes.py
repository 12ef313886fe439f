"""Views of 学员管理 and 选择学员报名 (unit admin) and 学员激活 (public)."""

import logging
import unicodedata

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import func, select

from app.auth.access import unit_admin_required
from app.extensions import db
from app.models import Enrollment, Trainee, User
from app.pagination import paginate
from app.trainees import bp
from app.trainees.accounts import ActivationError, account_state, activate, issue_activation_code
from app.trainees.enroll import (
    DuplicateEnrollment,
    EnrollRequest,
    enroll_trainees,
    live_projects,
    unit_trainees_or_404,
)
from forms.trainees import (
    YES,
    ActivationForm,
    EnrollTraineesForm,
    IssueCodeForm,
    TraineeFilterForm,
)

log = logging.getLogger(__name__)

NAMES_SHOWN = 10


def _unit_trainees(form: TraineeFilterForm):
    stmt = select(Trainee).where(Trainee.unit_id == current_user.unit_id)
    name = _clean(form.name.data)
    number = _clean(form.id_number.data).upper()
    if name:
        stmt = stmt.where(Trainee.name.contains(name, autoescape=True))
    if number:
        stmt = stmt.where(Trainee.id_number.startswith(number, autoescape=True))
    return stmt.order_by(Trainee.name, Trainee.id)


@bp.route("/trainees/")
@unit_admin_required
def index():
    """List the unit's trainees with their enrollment count and account state (学员管理)."""
    form = TraineeFilterForm(request.args)
    page = paginate(_unit_trainees(form))
    ids = [t.id for t in page.items]
    accounts = {
        a.trainee_id: a for a in db.session.scalars(select(User).where(User.trainee_id.in_(ids)))
    }
    counts = dict(
        db.session.execute(
            select(Enrollment.trainee_id, func.count())
            .where(Enrollment.trainee_id.in_(ids))
            .group_by(Enrollment.trainee_id)
        ).all()
    )
    return render_template(
        "trainees/index.html",
        form=form,
        page=page,
        accounts=accounts,
        counts=counts,
        account_state=account_state,
        action_form=IssueCodeForm(),
    )


@bp.route("/trainees/<int:trainee_id>/activation-code", methods=["POST"])
@unit_admin_required
def activation_code(trainee_id: int):
    """Issue a new activation code and show it once; it is stored only as a hash."""
    if not IssueCodeForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return redirect(url_for(".index"))
    trainee = db.session.scalar(
        select(Trainee).where(Trainee.id == trainee_id, Trainee.unit_id == current_user.unit_id)
    )
    if trainee is None:
        abort(404)
    issued = issue_activation_code(trainee, current_user)
    response = make_response(
        render_template("trainees/activation_code.html", trainee=trainee, issued=issued)
    )
    # The code must not stay in a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/trainees/enroll", methods=["GET", "POST"])
@unit_admin_required
def enroll():
    """Enroll chosen trainees of the unit in a project (选择学员报名)."""
    filters = TraineeFilterForm(request.args)
    form = EnrollTraineesForm()
    if form.validate_on_submit():
        trainees = unit_trainees_or_404(current_user.unit_id, form.ids.data)
        enroll_request = EnrollRequest(
            training_type=form.training_type.data,
            training_project=form.training_project.data,
            position=form.position.data,
            holds_certificate=form.holds_certificate.data == YES,
        )
        try:
            result = enroll_trainees(trainees, enroll_request, current_user)
        except DuplicateEnrollment as error:
            flash(error.message, "danger")
            return redirect(url_for(".enroll", **request.args.to_dict()))
        _flash_enroll_result(result, enroll_request.training_project)
        if result.created:
            return redirect(url_for("enrollments.index"))
        return redirect(url_for(".enroll", **request.args.to_dict()))
    if request.method == "POST":
        for field in form:
            errors = field.errors
            if field is form.ids and form.ids.process_errors:
                # A value that is not a number: the browser did not send what the page had.
                errors = ["选中的学员编号无效，请刷新页面后重新勾选。"]
            for error in errors:
                flash(error, "danger")

    page = paginate(_unit_trainees(filters))
    return render_template(
        "trainees/enroll.html",
        filters=filters,
        form=form,
        page=page,
        projects=live_projects([t.id for t in page.items]),
        selected=set(form.ids.data or []),
    )


def _flash_enroll_result(result, project: str) -> None:
    if result.created:
        names = "、".join(e.trainee.name for e in result.created[:NAMES_SHOWN])
        more = f"等 {len(result.created)} 人" if len(result.created) > NAMES_SHOWN else ""
        flash(
            f"已为 {names}{more} 创建“{project}”报名（待提交），请完善资料后提交。",
            "success",
        )
    if result.skipped:
        reasons = "；".join(
            f"{trainee.name}：{reason}" for trainee, reason in result.skipped[:NAMES_SHOWN]
        )
        more = len(result.skipped) - NAMES_SHOWN
        if more > 0:
            reasons += f"；另有 {more} 人"
        flash(f"{len(result.skipped)} 人未报名：{reasons}", "warning")


@bp.route("/activate", methods=["GET", "POST"])
def activate_account():
    """Let a trainee set a password with the activation code from the unit admin."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            account = activate(form.id_number.data, form.code.data, form.password.data)
        except ActivationError as error:
            flash(error.message, "danger")
        else:
            login_user(account)
            flash(
                "账号已激活，请妥善保管密码。以后请选择“学员”角色，用证件号和密码登录。", "success"
            )
            return redirect(url_for("enrollments.index"))
    return render_template("trainees/activate.html", form=form)


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()
