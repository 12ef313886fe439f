"""培训目录: the catalog lists that imports and filters use, one tab per kind."""

from flask import abort, flash, redirect, render_template, request, url_for

from app.auth.access import staff_required
from app.extensions import db
from app.models import CatalogItem, CatalogKind
from app.staff import bp
from app.staff.catalog_service import (
    CatalogError,
    add_item,
    delete_item,
    items_of,
    set_item_active,
    update_item,
    usage_counts,
)
from app.staff.forms_support import show_error
from app.templating import format_fen
from forms.staff import ActionForm, CatalogItemForm


@bp.route("/catalog")
@staff_required
def catalog():
    """Show one catalog list (?kind=) with the form to add an entry."""
    kind = _kind_or_404(request.args.get("kind", CatalogKind.TRAINING_TYPE))
    return _render_catalog(kind, CatalogItemForm())


@bp.route("/catalog/<kind>/new", methods=["POST"])
@staff_required
def catalog_create(kind: str):
    kind = _kind_or_404(kind)
    form = CatalogItemForm()
    if form.validate_on_submit():
        try:
            item = add_item(kind, form.name.data, form.sort_order.data, form.fee.data)
        except CatalogError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已新增{CatalogKind.LABELS[kind]}“{item.name}”。", "success")
            return redirect(url_for("staff.catalog", kind=kind))
    return _render_catalog(kind, form)


@bp.route("/catalog/items/<int:item_id>/edit", methods=["GET", "POST"])
@staff_required
def catalog_edit(item_id: int):
    """Rename, reorder or reprice one entry."""
    item = db.get_or_404(CatalogItem, item_id)
    form = CatalogItemForm()
    if request.method == "GET":
        form.name.data = item.name
        form.sort_order.data = str(item.sort_order)
        form.fee.data = format_fen(item.fee_fen)
    if form.validate_on_submit():
        try:
            update_item(item, form.name.data, form.sort_order.data, form.fee.data)
        except CatalogError as error:
            db.session.rollback()
            show_error(form, error.field, error.message)
        else:
            flash(f"已保存“{item.name}”。", "success")
            return redirect(url_for("staff.catalog", kind=item.kind))
    return render_template(
        "staff/catalog_edit.html", item=item, form=form, kind_label=CatalogKind.LABELS[item.kind]
    )


@bp.route("/catalog/items/<int:item_id>/active", methods=["POST"])
@staff_required
def catalog_active(item_id: int):
    """Deactivate (停用) or reactivate (启用) one entry."""
    item = db.get_or_404(CatalogItem, item_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        set_item_active(item, active)
        verb = "启用" if active else "停用"
        flash(f"已{verb}“{item.name}”。", "success")
    return redirect(url_for("staff.catalog", kind=item.kind))


@bp.route("/catalog/items/<int:item_id>/delete", methods=["POST"])
@staff_required
def catalog_delete(item_id: int):
    """Delete an entry that no record uses."""
    item = db.get_or_404(CatalogItem, item_id)
    kind, name = item.kind, item.name
    if ActionForm().validate_on_submit():
        try:
            delete_item(item)
        except CatalogError as error:
            flash(error.message, "warning")
        else:
            flash(f"已删除“{name}”。", "success")
    return redirect(url_for("staff.catalog", kind=kind))


def _render_catalog(kind: str, form: CatalogItemForm):
    return render_template(
        "staff/catalog.html",
        kind=kind,
        kinds=CatalogKind.LABELS,
        items=items_of(kind),
        usage=usage_counts(kind),
        form=form,
        action_form=ActionForm(),
        has_fee=kind == CatalogKind.TRAINING_PROJECT,
    )


def _kind_or_404(kind: str) -> str:
    if kind not in CatalogKind.LABELS:
        abort(404)
    return kind
