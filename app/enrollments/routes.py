from flask_login import login_required

from app.enrollments import bp


@bp.route("/")
@login_required
def index():
    return "报名管理"
