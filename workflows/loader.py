"""Load BPMN files into versioned process models.

Each executable process in a file becomes one ProcessModel row per distinct file content:
an unchanged file adds nothing, a changed one adds the next version. Running instances keep
the version they started with.
"""

import hashlib
import logging
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select

from app.extensions import db
from app.models import Group, ProcessModel
from workflows.serialization import dump_spec
from workflows.validation import ProcessModelError, SpecRules, validate_spec

log = logging.getLogger(__name__)


def current_rules() -> SpecRules:
    """Form keys from the form registry and lane names from the groups in the database."""
    from forms.registry import FORMS

    lanes = set(db.session.scalars(select(Group.name)))
    return SpecRules(form_keys=set(FORMS), lane_names=lanes)


def parse_file(path: Path, rules: SpecRules | None) -> list[tuple[str, str, str]]:
    """Parse and check one diagram; return (process_key, process name, spec_json) per process."""
    source = path.read_bytes()
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        _check_reserved_ids(path.name, source)
        # Bytes, because the XML declares its encoding.
        parser.add_bpmn_str(source, filename=path.name)
        process_ids = parser.get_process_ids()
        parsed = []
        for process_key in process_ids:
            spec = parser.get_spec(process_key)
            subprocess_specs = parser.get_subprocess_specs(process_key)
            validate_spec(path.name, [spec, *subprocess_specs.values()], rules)
            parsed.append((process_key, spec.description or process_key, spec, subprocess_specs))
    except (ValidationException, etree.XMLSyntaxError) as error:
        raise ProcessModelError(f"{path.name}: BPMN 文件无效 (invalid BPMN): {error}") from error
    return [
        (process_key, name, dump_spec(spec, subprocess_specs))
        for process_key, name, spec, subprocess_specs in parsed
    ]


# SpiffWorkflow uses these names for its own start and end task specs. A BPMN element with
# the same id silently replaces them, and the process loses its start.
RESERVED_IDS = {"Start", "End"}


def _check_reserved_ids(file_name: str, source: bytes) -> None:
    tree = etree.fromstring(source)
    for element in tree.iter():
        element_id = element.get("id")
        if element_id in RESERVED_IDS or (element_id or "").endswith(".EndJoin"):
            raise ProcessModelError(
                f"{file_name}: 元素 {element_id}: 该 id 为引擎保留名称，请改用其他 id "
                "(reserved id, rename the element)"
            )


def load_process_models(bpmn_dir, rules: SpecRules | None = None) -> list[ProcessModel]:
    """Register every *.bpmn file of a folder; return the rows added (new versions).

    Every file is parsed and checked before anything is stored, so one bad diagram leaves
    the registered versions as they were.
    """
    rules = rules or current_rules()
    files = sorted(Path(bpmn_dir).glob("*.bpmn"))
    parsed = [(path, parse_file(path, rules)) for path in files]
    added = []
    for path, processes in parsed:
        source = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        for process_key, name, spec_json in processes:
            model = _register_version(path.name, source, digest, process_key, name, spec_json)
            if model is not None:
                added.append(model)
    db.session.commit()
    return added


def _register_version(file_name, source, digest, process_key, name, spec_json):
    known = db.session.scalar(
        select(ProcessModel.id).where(
            ProcessModel.process_key == process_key, ProcessModel.source_sha256 == digest
        )
    )
    if known is not None:
        return None
    latest = db.session.scalar(
        select(func.max(ProcessModel.version)).where(ProcessModel.process_key == process_key)
    )
    model = ProcessModel(
        process_key=process_key,
        name=name,
        version=(latest or 0) + 1,
        file_name=file_name,
        source_sha256=digest,
        bpmn_xml=source,
        spec_json=spec_json,
    )
    db.session.add(model)
    db.session.flush()
    log.info(
        "registered process model %s version %d from %s", process_key, model.version, file_name
    )
    return model


def latest_model(process_key: str) -> ProcessModel:
    model = db.session.scalar(
        select(ProcessModel)
        .where(ProcessModel.process_key == process_key)
        .order_by(ProcessModel.version.desc())
        .limit(1)
    )
    if model is None:
        raise LookupError(
            f"process model {process_key!r} is not loaded; run `flask workflows load`"
        )
    return model
