"""Inbox actions: claim conflicts, release, 转办, 批量通过 and comments between staff."""

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    HumanTask,
    HumanTaskStatus,
    TaskComment,
)
from tests.conftest import extract_csrf
from tests.test_inbox_lists import (
    add_colleague,
    add_outsider,
    flashes,
    inbox,
    inbox_token,
    listed_names,
    login_reviewer,
    login_unit_admin,
    submit_new,
    table_records,
    user_named,
)
from tests.test_inbox_task_page import reject
from workflows.runtime import claim_task, complete_task

LIN_ID = "350203198805122248"


def task_row(task_id: int) -> HumanTask:
    return db.session.get(HumanTask, task_id)


def status_of_task_subject(task_id: int) -> str:
    return db.session.get(Enrollment, task_row(task_id).subject_id).status


# --- Claim and release ---------------------------------------------------------------------


def test_claim_taken_by_colleague_flashes_reason(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        claim_task(task_id, add_colleague("reviewer2", "李审核"))
    login_reviewer(client)

    response = client.post(
        f"/inbox/tasks/{task_id}/claim",
        data={"csrf_token": inbox_token(client)},
        follow_redirects=True,
    )

    assert "该任务已被 李审核 认领，请先联系对方释放。" in flashes(response.get_data(as_text=True))
    with app.app_context():
        assert task_row(task_id).claimed_by.username == "reviewer2"


def test_release_of_colleagues_task_refused(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        claim_task(task_id, add_colleague("reviewer2", "李审核"))
    login_reviewer(client)

    response = client.post(
        f"/inbox/tasks/{task_id}/release",
        data={"csrf_token": inbox_token(client)},
        follow_redirects=True,
    )

    assert "只能释放自己认领的任务。" in flashes(response.get_data(as_text=True))
    with app.app_context():
        assert task_row(task_id).claimed_by.username == "reviewer2"


def test_claim_requires_csrf(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = client.post(f"/inbox/tasks/{task_id}/claim")

    assert response.status_code == 400
    with app.app_context():
        assert task_row(task_id).claimed_by_id is None


def test_claim_redirect_stays_on_site(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = client.post(
        f"/inbox/tasks/{task_id}/claim",
        data={"csrf_token": inbox_token(client), "next": "https://example.org/inbox/"},
    )

    assert response.headers["Location"] == "/inbox/?tab=mine"


# --- 转办 ----------------------------------------------------------------------------------


def test_reassign_to_colleague(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        colleague_id = add_colleague("reviewer2", "李审核").id
    login_reviewer(client)
    token = inbox_token(client)
    client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token})

    response = client.post(
        f"/inbox/tasks/{task_id}/reassign",
        data={"csrf_token": token, "assignee": str(colleague_id)},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "已将任务“林晓燕 电梯”转办给 李审核。" in flashes(page)
    assert listed_names(page) == []
    with app.app_context():
        assert task_row(task_id).claimed_by_id == colleague_id
        assert task_row(task_id).claimed_at is not None
    colleague = app.test_client()
    login_reviewer(colleague, "reviewer2", "secret123")
    mine = table_records(inbox(colleague, "?tab=mine"))
    assert [(r["报名人"], r["认领人"]) for r in mine] == [("林晓燕", "李审核")]


def test_reassign_unclaimed_task(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        colleague_id = add_colleague("reviewer2", "李审核").id
    login_reviewer(client)

    client.post(
        f"/inbox/tasks/{task_id}/reassign",
        data={"csrf_token": inbox_token(client), "assignee": str(colleague_id)},
    )

    with app.app_context():
        assert task_row(task_id).claimed_by_id == colleague_id


def test_reassign_to_non_member_refused(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        outsider_id = add_outsider().id
        demo_admin_id = user_named("demo_admin").id
    login_reviewer(client)
    token = inbox_token(client)

    for assignee in (outsider_id, demo_admin_id, 999999):
        response = client.post(
            f"/inbox/tasks/{task_id}/reassign",
            data={"csrf_token": token, "assignee": str(assignee)},
            follow_redirects=True,
        )
        page = response.get_data(as_text=True)
        assert "只能转办给同一用户组的同事。" in flashes(page), assignee
        with app.app_context():
            assert task_row(task_id).claimed_by_id is None


def test_reassign_without_choice_explained(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = client.post(
        f"/inbox/tasks/{task_id}/reassign",
        data={"csrf_token": inbox_token(client), "assignee": ""},
        follow_redirects=True,
    )

    assert "请选择要转办的同事。" in flashes(response.get_data(as_text=True))


def test_reassign_choices_are_group_members(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_colleague("reviewer2", "李审核")
        add_outsider()
    login_reviewer(client)

    page = client.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)

    assert ">李审核</option>" in page
    assert ">王流程</option>" in page  # the demo process owner is in 协会审核员 too
    assert ">张审核</option>" not in page
    assert ">赵财务</option>" not in page


# --- 批量通过 ------------------------------------------------------------------------------


def test_bulk_approve_skips_handled_task(client, app):
    with app.app_context():
        ids = [
            submit_new("林晓燕", LIN_ID),
            submit_new("王东", "350623199112042011", project="锅炉"),
            submit_new("夏文娟", "110101199003077777"),
        ]
        colleague = add_colleague("reviewer2", "李审核")
        complete_task(ids[1], colleague, {"decision": "reject", "reason": "照片不清晰"})
        stamp = task_row(ids[1]).completed_at.strftime("%Y-%m-%d %H:%M:%S")
    login_reviewer(client)

    response = client.post(
        "/inbox/bulk-approve",
        data={
            "csrf_token": inbox_token(client),
            "ids": [str(task_id) for task_id in ids],
            "next": "/inbox/?tab=group",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox/?tab=group"
    page = inbox(client, "?tab=group")
    assert flashes(page) == [
        "已审核通过 2 条报名：林晓燕 电梯、夏文娟 电梯。",
        f"1 条未处理：王东 锅炉：该任务已由 李审核 于 {stamp} 处理，无需重复操作。",
    ]
    assert listed_names(page) == []
    with app.app_context():
        assert status_of_task_subject(ids[0]) == EnrollmentStatus.APPROVED
        assert status_of_task_subject(ids[1]) == EnrollmentStatus.REJECTED
        assert status_of_task_subject(ids[2]) == EnrollmentStatus.APPROVED
        for task_id in (ids[0], ids[2]):
            task = task_row(task_id)
            assert task.status == HumanTaskStatus.COMPLETED
            assert task.claimed_by.username == "reviewer"
            assert task.completed_by.username == "reviewer"
        assert task_row(ids[1]).completed_by.username == "reviewer2"


def test_bulk_approve_skips_claimed_and_foreign(client, app):
    with app.app_context():
        mine = submit_new("林晓燕", LIN_ID)
        held = submit_new("王东", "350623199112042011")
        claim_task(held, add_colleague("reviewer2", "李审核"))
        correction = reject(submit_new("夏文娟", "110101199003077777"))
        claim_task(mine, user_named("reviewer"))
    login_reviewer(client)

    response = client.post(
        "/inbox/bulk-approve",
        data={"csrf_token": inbox_token(client), "ids": [str(mine), str(held), str(correction)]},
        follow_redirects=True,
    )

    assert flashes(response.get_data(as_text=True)) == [
        "已审核通过 1 条报名：林晓燕 电梯。",
        (
            "2 条未处理：王东 电梯：该任务已被 李审核 认领，请先联系对方释放；"
            f"任务 {correction}：任务不存在，或您没有处理该任务的权限。"
        ),
    ]
    with app.app_context():
        assert status_of_task_subject(mine) == EnrollmentStatus.APPROVED
        assert status_of_task_subject(held) == EnrollmentStatus.PENDING_REVIEW
        assert status_of_task_subject(correction) == EnrollmentStatus.REJECTED


def test_bulk_approve_needs_selection(client, app):
    login_reviewer(client)

    response = client.post(
        "/inbox/bulk-approve", data={"csrf_token": inbox_token(client)}, follow_redirects=True
    )

    assert flashes(response.get_data(as_text=True)) == ["请先勾选要通过的任务。"]


def test_bulk_approve_closed_to_unit_admin(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_unit_admin(client)

    response = client.post(
        "/inbox/bulk-approve", data={"csrf_token": inbox_token(client), "ids": [str(task_id)]}
    )

    assert response.status_code == 403
    with app.app_context():
        assert status_of_task_subject(task_id) == EnrollmentStatus.PENDING_REVIEW


def test_bulk_checkbox_only_for_review_tasks(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    page = inbox(client, "?tab=group")

    assert f'name="ids" value="{task_id}" form="bulk-form"' in page
    assert 'id="select-all"' in page


# --- Comments between staff ----------------------------------------------------------------


def test_staff_comment_is_listed(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_colleague("reviewer2", "李审核")
    login_reviewer(client)
    token = extract_csrf(client.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))

    response = client.post(
        f"/inbox/tasks/{task_id}/comments",
        data={"csrf_token": token, "body": "  照片需核对，请李审核复看  "},
        follow_redirects=True,
    )

    assert "意见已发表。" in flashes(response.get_data(as_text=True))
    colleague = app.test_client()
    login_reviewer(colleague, "reviewer2", "secret123")
    page = colleague.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "照片需核对，请李审核复看" in page
    assert "张审核 · " in page
    with app.app_context():
        comments = db.session.scalars(select(TaskComment)).all()
        assert [(c.author.username, c.body, c.human_task_id) for c in comments] == [
            ("reviewer", "照片需核对，请李审核复看", task_id)
        ]


def test_empty_comment_is_refused(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)
    token = extract_csrf(client.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))

    response = client.post(
        f"/inbox/tasks/{task_id}/comments",
        data={"csrf_token": token, "body": ""},
        follow_redirects=True,
    )

    assert "请输入意见内容。" in flashes(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalars(select(TaskComment)).all() == []


def test_comments_hidden_from_unit_admin(client, app):
    with app.app_context():
        review_id = submit_new("林晓燕", LIN_ID)
        complete_task(review_id, user_named("reviewer"), {"decision": "reject", "reason": "照片"})
        from app.models import TaskComment as Comment

        instance_id = task_row(review_id).process_instance_id
        db.session.add(
            Comment(
                process_instance_id=instance_id,
                human_task_id=review_id,
                author_id=user_named("reviewer").id,
                body="内部意见：该单位多次提交模糊照片",
            )
        )
        db.session.commit()
        correction_id = db.session.scalar(
            select(HumanTask.id).where(
                HumanTask.process_instance_id == instance_id,
                HumanTask.status == HumanTaskStatus.OPEN,
            )
        )
    login_unit_admin(client)
    page = client.get(f"/inbox/tasks/{correction_id}").get_data(as_text=True)

    response = client.post(
        f"/inbox/tasks/{correction_id}/comments",
        data={"csrf_token": extract_csrf(page), "body": "单位想留言"},
    )

    assert "内部意见" not in page
    assert "审核意见交流" not in page
    assert response.status_code == 404
    with app.app_context():
        assert len(db.session.scalars(select(TaskComment)).all()) == 1
