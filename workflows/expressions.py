"""Safe evaluation of the expressions that diagrams contain: gateway conditions and timers.

Expressions are evaluated by simpleeval over task data only. Before that, every expression
in a diagram is checked at load time against a small grammar, so a diagram that reaches for
attributes (``().__class__.__base__.__subclasses__()``) or calls arbitrary functions is
rejected before any instance runs.
"""

import ast

from simpleeval import EvalWithCompoundTypes

# Functions a condition may call. Each is pure and cannot reach objects beyond its arguments.
SAFE_FUNCTIONS = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
}

_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.Call,
)


class UnsafeExpression(ValueError):
    """An expression outside the allowed grammar; the message says which part."""


def check_expression(expression: str) -> None:
    """Raise UnsafeExpression unless the expression parses and uses only the allowed grammar."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise UnsafeExpression(f"表达式语法错误 (syntax error): {error.msg}") from None
    nodes = list(ast.walk(tree))
    # Attribute and underscore checks first: they name the dangerous part of an escape.
    for node in nodes:
        if isinstance(node, ast.Attribute):
            raise UnsafeExpression(
                f"表达式不允许访问属性 '.{node.attr}' (attribute access is not allowed)"
            )
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(
                f"表达式不允许使用以下划线开头的名称 '{node.id}' (names may not start with _)"
            )
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS:
                raise UnsafeExpression(
                    "表达式只能调用 "
                    + ", ".join(sorted(SAFE_FUNCTIONS))
                    + " (function not allowed)"
                )
            if node.keywords:
                raise UnsafeExpression(
                    "表达式中的函数调用不能使用关键字参数 (no keyword arguments)"
                )
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(
                f"表达式不允许使用 {type(node).__name__} (construct not allowed)"
            )


def evaluate(expression: str, names: dict):
    """Evaluate a checked expression with task data as its only names."""
    # simpleeval adds its own entries to the functions mapping it is given, so pass a copy.
    evaluator = EvalWithCompoundTypes(names=dict(names), functions=dict(SAFE_FUNCTIONS))
    return evaluator.eval(expression.strip())
