"""待办任务 lists: the 组任务 and 我的任务 tabs, filters, paging and visibility by role.

The helpers at the top are shared by the other inbox test modules.
"""

import html as html_lib
import re
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Enrollment,
    Group,
    GroupKind,
    HumanTask,
    HumanTaskStatus,
    Role,
    Trainee,
    Unit,
    User,
)
from app.review.service import open_task_for, submit_enrollments
from tests.conftest import (
    complete_enrollments,
    create_reviewer,
    create_unit_with_admin,
    extract_csrf,
    login,
)

DEMO_UNIT_NAME = "厦门示范机电设备有限公司"


# --- Shared helpers ------------------------------------------------------------------------


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def add_colleague(username: str, display_name: str) -> User:
    """A second member of 协会审核员 (call inside an app context)."""
    colleague = create_reviewer(username)
    colleague.display_name = display_name
    db.session.commit()
    return colleague


def add_outsider(username: str = "finance") -> User:
    """A staff account in another staff group, so it is in none of the review lanes."""
    group = Group(name="财务审核员", kind=GroupKind.STAFF)
    outsider = User(username=username, display_name="赵财务", role=Role.STAFF)
    outsider.set_password("secret123")
    outsider.groups.append(group)
    db.session.add(outsider)
    db.session.commit()
    return outsider


def add_draft(
    name: str,
    id_number: str,
    project: str = "电梯",
    unit_code: str = "DEMO",
) -> Enrollment:
    """Insert a 待提交 enrollment (and its trainee when new) directly with the models."""
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    trainee = db.session.scalar(
        select(Trainee).where(Trainee.unit_id == unit.id, Trainee.id_number == id_number)
    )
    if trainee is None:
        trainee = Trainee(
            unit_id=unit.id,
            name=name,
            id_type="身份证",
            id_number=id_number,
            gender="女",
            phone="13805921234",
            education="本科或同等学力",
        )
        db.session.add(trainee)
    enrollment = Enrollment(
        unit_id=unit.id,
        trainee=trainee,
        position="安全员",
        training_type="特种设备使用单位",
        training_project=project,
        organization="厦门市特种设备协会",
    )
    db.session.add(enrollment)
    db.session.commit()
    complete_enrollments([enrollment])
    return enrollment


def submit_new(
    name: str,
    id_number: str,
    project: str = "电梯",
    unit_code: str = "DEMO",
    admin: str = "demo_admin",
) -> int:
    """Create and submit one enrollment; return the id of its open review task."""
    enrollment = add_draft(name, id_number, project, unit_code)
    result = submit_enrollments([enrollment], user_named(admin))
    assert [e.id for e in result.submitted] == [enrollment.id]
    return open_task_for(enrollment).id


def set_created_at(task_id: int, moment: datetime) -> None:
    db.session.get(HumanTask, task_id).created_at = moment
    db.session.commit()


def login_reviewer(client, username: str = "reviewer", password: str = "reviewer123"):
    response = login(client, username, password, role=Role.STAFF)
    assert response.status_code == 302


def login_unit_admin(client, username: str = "demo_admin", password: str = "demo123"):
    response = login(client, username, password)
    assert response.status_code == 302


def inbox_token(client) -> str:
    return extract_csrf(client.get("/inbox/").get_data(as_text=True))


def _text(fragment: str) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(html_lib.unescape(without_tags).split())


def _table_html(page_html: str, testid: str) -> str:
    pattern = rf'<table[^>]*data-testid="{testid}"[^>]*>(.*?)</table>'
    table = re.search(pattern, page_html, re.DOTALL)
    assert table, f"page has no table {testid}"
    return table.group(1)


def table_rows(page_html: str, testid: str = "task-table") -> list[list[str]]:
    """Return the text of every body cell of the table with this data-testid, row by row."""
    body = re.search(r"<tbody>(.*?)</tbody>", _table_html(page_html, testid), re.DOTALL)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        rows.append([_text(cell) for cell in cells])
    return rows


def table_headers(page_html: str, testid: str = "task-table") -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", _table_html(page_html, testid), re.DOTALL)
    return [_text(cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.DOTALL)]


def table_records(page_html: str) -> list[dict[str, str]]:
    """Return the task table's rows as {header: cell text}; empty for 暂无待办任务."""
    headers = table_headers(page_html)
    rows = [row for row in table_rows(page_html) if len(row) == len(headers)]
    return [dict(zip(headers, row)) for row in rows]


def listed_names(page_html: str) -> list[str]:
    """Return the 报名人 column of the task table, in page order."""
    return [record["报名人"] for record in table_records(page_html)]


def flashes(page_html: str) -> list[str]:
    return [
        _text(m)
        for m in re.findall(
            r'<div class="alert alert-[^"]*"[^>]*role="alert">(.*?)</div>', page_html, re.DOTALL
        )
    ]


def inbox(client, query: str = "") -> str:
    response = client.get(f"/inbox/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- Tabs ----------------------------------------------------------------------------------


def test_group_tab_lists_submitted_enrollment(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", "350203198805122248")
        set_created_at(task_id, datetime(2026, 3, 2, 9, 30, 5))
    login_reviewer(client)

    rows = table_rows(inbox(client, "?tab=group"))

    assert rows == [
        [
            "",
            "1",
            "报名审核",
            "林晓燕",
            "3502**********2248",
            "电梯",
            DEMO_UNIT_NAME,
            "2026-03-02 09:30:05",
            "—",
            "办理 认领 转办",
        ]
    ]


def test_group_tab_is_default(client, app):
    with app.app_context():
        submit_new("林晓燕", "350203198805122248")
    login_reviewer(client)

    assert listed_names(inbox(client)) == ["林晓燕"]


def test_full_id_number_not_in_list(client, app):
    with app.app_context():
        submit_new("林晓燕", "350203198805122248")
    login_reviewer(client)

    assert "350203198805122248" not in inbox(client, "?tab=group")


def test_claim_moves_task_to_my_tab(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", "350203198805122248")
        add_colleague("reviewer2", "李审核")
    login_reviewer(client)

    response = client.post(
        f"/inbox/tasks/{task_id}/claim",
        data={"csrf_token": inbox_token(client), "next": "/inbox/?tab=group"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox/?tab=group"
    page = inbox(client, "?tab=group")
    assert "已认领任务：林晓燕 电梯" in flashes(page)
    assert listed_names(page) == []
    mine = table_records(inbox(client, "?tab=mine"))
    assert [record["报名人"] for record in mine] == ["林晓燕"]
    assert mine[0]["认领人"] == "张审核"
    assert mine[0]["操作"] == "办理 释放 转办"

    colleague = app.test_client()
    login_reviewer(colleague, "reviewer2", "secret123")
    assert listed_names(inbox(colleague, "?tab=group")) == []
    assert listed_names(inbox(colleague, "?tab=mine")) == []


def test_release_returns_task_to_group(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", "350203198805122248")
    login_reviewer(client)
    token = inbox_token(client)
    client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token})

    response = client.post(
        f"/inbox/tasks/{task_id}/release", data={"csrf_token": token}, follow_redirects=True
    )

    page = response.get_data(as_text=True)
    assert "已释放任务：林晓燕 电梯，组内同事可以认领。" in flashes(page)
    assert listed_names(inbox(client, "?tab=mine")) == []
    assert listed_names(inbox(client, "?tab=group")) == ["林晓燕"]
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        assert task.claimed_by_id is None
        assert task.claimed_at is None


def test_completed_task_leaves_lists(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", "350203198805122248")
        submit_new("王东", "350623199112042011")
        from workflows.runtime import complete_task

        complete_task(task_id, user_named("reviewer"), {"decision": "approve", "reason": ""})
    login_reviewer(client)

    assert listed_names(inbox(client, "?tab=group")) == ["王东"]


def test_empty_inbox_says_so(client):
    login_reviewer(client)

    page = inbox(client)

    assert table_rows(page) == [["暂无待办任务。"]]
    assert "第1/1页 总共0条" in page


# --- Filters and paging --------------------------------------------------------------------


def three_tasks(app) -> dict[str, int]:
    """Tasks of 林晓燕 (DEMO, 1 March), 王东 (DEMO, 5 March), 陈志强 (unit B, 9 March)."""
    with app.app_context():
        create_unit_with_admin("UNITB", "b_admin")
        ids = {
            "林晓燕": submit_new("林晓燕", "350203198805122248"),
            "王东": submit_new("王东", "350623199112042011", project="锅炉"),
            "陈志强": submit_new(
                "陈志强", "110101199003077777", unit_code="UNITB", admin="b_admin"
            ),
        }
        set_created_at(ids["林晓燕"], datetime(2026, 3, 1, 8, 0))
        set_created_at(ids["王东"], datetime(2026, 3, 5, 23, 59, 59))
        set_created_at(ids["陈志强"], datetime(2026, 3, 9, 10, 0))
        return ids


def test_filters_narrow_group_tab(client, app):
    three_tasks(app)
    login_reviewer(client)
    cases = [
        ("", ["陈志强", "王东", "林晓燕"]),
        ("&name=王", ["王东"]),
        ("&id_number=110101", ["陈志强"]),
        ("&id_number=350203198805122248", ["林晓燕"]),
        ("&unit=UNITB", ["陈志强"]),
        ("&unit=示范", ["王东", "林晓燕"]),
        ("&title=报名审核", ["陈志强", "王东", "林晓燕"]),
        ("&title=修改", []),
        ("&created_from=2026-03-05", ["陈志强", "王东"]),
        ("&created_to=2026-03-05", ["王东", "林晓燕"]),
        ("&created_from=2026-03-02&created_to=2026-03-08", ["王东"]),
        ("&name=林&unit=UNITB", []),
    ]
    for query, expected in cases:
        assert listed_names(inbox(client, "?tab=group" + query)) == expected, query


def test_invalid_date_filter_explained(client, app):
    three_tasks(app)
    login_reviewer(client)

    page = inbox(client, "?tab=group&created_from=2026-13-40")

    assert "创建时间从：日期无效，请按 年-月-日 填写，例如 2026-03-01。" in page
    assert listed_names(page) == ["陈志强", "王东", "林晓燕"]


def test_group_tab_pages(client, app):
    with app.app_context():
        for number in range(12):
            task_id = submit_new(f"学员{number:02d}", f"3502031988051200{number:02d}")
            set_created_at(task_id, datetime(2026, 3, 1, 8, number))
    login_reviewer(client)

    first = inbox(client, "?tab=group")
    second = inbox(client, "?tab=group&page=2")

    assert listed_names(first) == [f"学员{number:02d}" for number in range(11, 1, -1)]
    assert "第1/2页 总共12条" in first
    assert listed_names(second) == ["学员01", "学员00"]
    assert [record["序号"] for record in table_records(second)] == ["11", "12"]
    assert "第2/2页 总共12条" in second


def test_pager_keeps_filters(client, app):
    with app.app_context():
        for number in range(11):
            submit_new(f"学员{number:02d}", f"3502031988051200{number:02d}")
    login_reviewer(client)

    page = inbox(client, "?tab=group&name=学员")

    assert "tab=group" in re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)
    assert "name=" in re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)


# --- Visibility by role and group -------------------------------------------------------------------


def test_unit_admin_sees_only_own_unit_lane(client, app):
    ids = three_tasks(app)
    with app.app_context():
        from workflows.runtime import complete_task

        reviewer = user_named("reviewer")
        for name in ("林晓燕", "陈志强"):
            complete_task(ids[name], reviewer, {"decision": "reject", "reason": "照片不清晰"})
    login_unit_admin(client)

    page = inbox(client)

    records = table_records(page)
    assert [(r["序号"], r["任务名称"], r["报名人"]) for r in records] == [
        ("1", "修改报名", "林晓燕")
    ]
    assert records[0]["操作"] == "办理"
    assert records[0]["所属单位"] == DEMO_UNIT_NAME
    assert "组任务" not in page
    assert 'data-testid="bulk-approve"' not in page
    assert 'name="unit"' not in page


def test_review_tasks_hidden_from_unit_admin(client, app):
    three_tasks(app)
    login_unit_admin(client)

    assert listed_names(inbox(client)) == []


def test_staff_outside_group_sees_nothing(client, app):
    three_tasks(app)
    with app.app_context():
        add_outsider()
    login(client, "finance", "secret123", role=Role.STAFF)

    assert listed_names(inbox(client, "?tab=group")) == []


def test_inbox_requires_login(client):
    response = client.get("/inbox/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_list_query_reads_task_table_only(app):
    """The list comes from human_tasks joined to domain tables, not from workflow state."""
    with app.app_context():
        submit_new("林晓燕", "350203198805122248")
        from app.inbox.queries import GROUP_TASKS, InboxFilters, inbox_query

        statement = inbox_query(user_named("reviewer"), GROUP_TASKS, InboxFilters())
        sql = str(statement)
        rows = db.session.execute(statement).all()

    assert "process_instances" not in sql
    assert "state_json" not in sql
    assert len(rows) == 1
    assert rows[0].HumanTask.status == HumanTaskStatus.OPEN
