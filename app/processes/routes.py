"""Views listing BPMN process model versions and serving their diagram files."""

from flask import Response, abort, render_template
from sqlalchemy import func, select

from app.auth.access import staff_required
from app.extensions import db
from app.models import InstanceStatus, ProcessInstance, ProcessModel
from app.processes import bp


@bp.route("/")
@staff_required
def index():
    """List every version of every process model with its running and finished instances."""
    counts = select(
        ProcessInstance.process_model_id,
        func.count().filter(ProcessInstance.status == InstanceStatus.RUNNING),
        func.count().filter(ProcessInstance.status != InstanceStatus.RUNNING),
    ).group_by(ProcessInstance.process_model_id)
    by_model = {model_id: (running, done) for model_id, running, done in db.session.execute(counts)}
    models = db.session.scalars(
        select(ProcessModel).order_by(ProcessModel.process_key, ProcessModel.version.desc())
    ).all()
    rows = [(model, *by_model.get(model.id, (0, 0))) for model in models]
    return render_template("processes/index.html", rows=rows)


@bp.route("/<int:model_id>.bpmn")
@staff_required
def diagram(model_id: int):
    """Serve the BPMN file of one version, to open in a modeler."""
    model = db.session.get(ProcessModel, model_id)
    if model is None:
        abort(404)
    filename = f"{model.process_key}-v{model.version}.bpmn"
    return Response(
        model.bpmn_xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
