"""学员: the unit's trainee list, activation codes, 选择学员报名 and trainee activation."""

from flask import Blueprint

bp = Blueprint("trainees", __name__)

from app.trainees import routes  # noqa: F401
