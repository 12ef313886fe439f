from app.auth.access import staff_required
from app.staff import bp


@bp.route("/units")
@staff_required
def units():
    return "单位管理"


@bp.route("/catalog")
@staff_required
def catalog():
    return "培训目录"
