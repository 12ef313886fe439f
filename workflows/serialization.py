"""Serialising specs once per process model version, and instance state without the spec.

SpiffWorkflow's serializer embeds the whole process spec in every workflow (about half of a
small instance's JSON). Here the spec is stored once per ProcessModel row and an instance
row keeps only its own state; loading re-attaches the cached spec.
"""

import json
from functools import lru_cache

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

from workflows.script_engine import SCRIPT_ENGINE


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Convert a BpmnWorkflow without its spec; restoring takes the spec as an argument."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _build_serializers():
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    registry = BpmnWorkflowSerializer.configure(DEFAULT_CONFIG)
    StateOnlyWorkflowConverter(BpmnWorkflow, registry)  # replaces the default converter
    return full, BpmnWorkflowSerializer(registry)


FULL_SERIALIZER, STATE_SERIALIZER = _build_serializers()


def dump_spec(spec, subprocess_specs: dict) -> str:
    """Serialise a parsed process spec and its subprocess specs to JSON."""
    workflow = BpmnWorkflow(spec, subprocess_specs)
    full = json.loads(FULL_SERIALIZER.serialize_json(workflow))
    return json.dumps(
        {"spec": full["spec"], "subprocess_specs": full["subprocess_specs"]},
        ensure_ascii=False,
    )


@lru_cache(maxsize=64)
def load_spec(process_model_id: int, spec_json: str):
    """Restore (spec, subprocess_specs) of one process model version, cached per process."""
    dct = json.loads(spec_json)
    registry = FULL_SERIALIZER.registry
    spec = registry.restore(dct["spec"])
    subprocess_specs = {
        name: registry.restore(sub) for name, sub in dct["subprocess_specs"].items()
    }
    return spec, subprocess_specs


def new_workflow(spec, subprocess_specs) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialise an instance's state (task tree and data, dates encoded) without its spec."""
    return STATE_SERIALIZER.serialize_json(workflow)


def load_state(state_json: str, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(state_json, cls=STATE_SERIALIZER.json_decoder_cls)
    STATE_SERIALIZER.migrate(dct)
    workflow = STATE_SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = SCRIPT_ENGINE
    return workflow
