"""The load-time grammar check and safe evaluation of diagram expressions."""

import pytest

from workflows.expressions import UnsafeExpression, check_expression, evaluate


@pytest.mark.parametrize(
    "expression, value",
    [
        ('decision == "approve"', True),
        ('decision in ("approve", "pass")', True),
        ("amount_fen >= 10000 and not holds_certificate", False),
        ("len(reason) > 0", True),
        ('"PT48H"', "PT48H"),
        ("items[0] + 1", 2),
    ],
)
def test_allowed_expression_evaluates(expression, value):
    names = {
        "decision": "approve",
        "amount_fen": 15000,
        "holds_certificate": True,
        "reason": "x",
        "items": [1],
    }
    check_expression(expression)
    assert evaluate(expression, names) == value


@pytest.mark.parametrize(
    "expression, problem",
    [
        ("().__class__.__base__.__subclasses__()", "attribute access is not allowed"),
        ("decision.upper()", "'.upper'"),
        ("__import__('os')", "'__import__'"),
        ("open('/etc/passwd')", "function not allowed"),
        ("(lambda: 1)()", "function not allowed"),
        ("[x for x in range(3)]", "construct not allowed"),
        ("decision ==", "syntax error"),
        ("max(1, key=abs)", "no keyword arguments"),
    ],
)
def test_unsafe_expression_is_rejected(expression, problem):
    with pytest.raises(UnsafeExpression) as raised:
        check_expression(expression)
    assert problem in str(raised.value)


def test_safe_functions_stay_unchanged_after_evaluation():
    evaluate("len(x)", {"x": [1, 2]})
    with pytest.raises(UnsafeExpression):
        check_expression("dict(a=1)")
