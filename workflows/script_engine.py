"""A script engine that evaluates expressions safely and runs no scripts.

SpiffWorkflow's default PythonScriptEngine passes conditions and timer expressions to
``eval`` and script tasks to ``exec``, so a diagram could run any code in the web process.
"""

from simpleeval import NameNotDefined
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from workflows.expressions import check_expression, evaluate


class SafeScriptEngine(PythonScriptEngine):
    def validate(self, expression):
        check_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        names = dict(external_context or {})
        names.update(task.data)
        try:
            check_expression(expression)
            return evaluate(expression, names)
        except NameNotDefined as error:
            raise WorkflowTaskException(
                f"Expression '{expression}' names '{error.name}', which is not in the task data",
                task=task,
                exception=error,
            ) from error
        except Exception as error:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {error}", task=task, exception=error
            ) from error

    def execute(self, task, script, external_context=None):
        # Diagrams with scripts are rejected when loaded; this guards a spec that slipped by.
        raise WorkflowTaskException("Script execution is disabled on this platform", task=task)

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("Service tasks are disabled on this platform", task=task)


SCRIPT_ENGINE = SafeScriptEngine()
