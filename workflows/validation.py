"""Load-time checks of a parsed process spec: no scripts, only safe expressions, known forms
and lanes that map to groups."""

import re
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ScriptTaskMixin, ServiceTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin

from workflows.expressions import UnsafeExpression, check_expression

_BARE_ISO_DURATION = re.compile(r"^(R\d*/)?P(\d|T\d)")


class ProcessModelError(ValueError):
    """A diagram that cannot be loaded; the message names the file and the element."""


@dataclass
class SpecRules:
    """What the platform knows about: form keys and lane names (group names)."""

    form_keys: set[str]
    lane_names: set[str]


def describe(task_spec) -> str:
    name = getattr(task_spec, "bpmn_name", None)
    return f"{task_spec.bpmn_id} ({name})" if name else str(task_spec.bpmn_id)


def validate_spec(file_name: str, specs: list, rules: SpecRules | None) -> None:
    """Raise ProcessModelError for the first element that breaks a rule."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) is None:
                continue  # Spiff's internal start and end specs
            _check_element(file_name, task_spec, rules)


def _fail(file_name: str, task_spec, problem: str):
    raise ProcessModelError(f"{file_name}: 元素 {describe(task_spec)}: {problem}")


def _check_element(file_name: str, task_spec, rules: SpecRules | None) -> None:
    if isinstance(task_spec, ScriptTaskMixin):
        _fail(file_name, task_spec, "不允许使用脚本任务 (script tasks are not allowed)")
    if isinstance(task_spec, ServiceTaskMixin):
        _fail(file_name, task_spec, "不允许使用服务任务 (service tasks are not allowed)")
    for attribute in ("prescript", "postscript"):
        if getattr(task_spec, attribute, None):
            _fail(file_name, task_spec, f"不允许使用 {attribute} 脚本 (scripts are not allowed)")

    for condition, target in getattr(task_spec, "cond_task_specs", []) or []:
        expression = condition.args[0] if condition is not None else None
        if expression:
            _check(file_name, task_spec, expression, f"流向 {target} 的条件")

    event_definition = getattr(task_spec, "event_definition", None)
    expression = getattr(event_definition, "expression", None)
    if isinstance(expression, str):
        _check(file_name, task_spec, expression, "事件表达式")
        if isinstance(event_definition, TimerEventDefinition):
            _check_timer_literal(file_name, task_spec, expression)

    for attribute in ("condition", "cardinality", "completion_condition"):
        value = getattr(task_spec, attribute, None)
        if isinstance(value, str) and value:
            _check(file_name, task_spec, value, attribute)

    if rules is not None and isinstance(task_spec, UserTaskMixin):
        _check_user_task(file_name, task_spec, rules)


def _check(file_name: str, task_spec, expression: str, where: str) -> None:
    try:
        check_expression(expression)
    except UnsafeExpression as error:
        _fail(file_name, task_spec, f"{where} '{expression}' 不安全或无效: {error}")


def _check_timer_literal(file_name: str, task_spec, expression: str) -> None:
    # Timer expressions are expressions: an ISO duration needs quotes ("PT48H").
    text = expression.strip()
    if _BARE_ISO_DURATION.match(text):
        _fail(file_name, task_spec, f'定时器表达式 {text} 需要加引号，例如 "PT48H"')


def _check_user_task(file_name: str, task_spec, rules: SpecRules) -> None:
    properties = (task_spec.extensions or {}).get("properties", {})
    form_key = properties.get("form")
    if not form_key:
        _fail(file_name, task_spec, "用户任务缺少 form 属性 (user task names no form)")
    if rules.form_keys and form_key not in rules.form_keys:
        known = ", ".join(sorted(rules.form_keys))
        _fail(file_name, task_spec, f"未知表单 '{form_key}'，可用表单: {known}")
    if not task_spec.lane:
        _fail(file_name, task_spec, "用户任务必须放在泳道中 (user task is in no lane)")
    if rules.lane_names and task_spec.lane not in rules.lane_names:
        known = ", ".join(sorted(rules.lane_names))
        _fail(
            file_name, task_spec, f"泳道 '{task_spec.lane}' 没有对应的用户组，现有用户组: {known}"
        )
