"""The inbox in headless Chromium: claim, a rejected review, bulk approve and the unit's
correction. Screenshots go to test-artifacts/ for a person to look at."""

import pytest

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, HumanTask
from tests.conftest import log_in, log_out
from tests.test_inbox_lists import add_colleague, submit_new

pytestmark = pytest.mark.browser

TRAINEES = [
    ("林晓燕", "350203198805122248", "电梯"),
    ("王东", "350623199112042011", "锅炉"),
    ("夏文娟", "110101199003077777", "压力容器"),
    ("陈志强", "350206197903011351", "起重机械"),
]
REJECT_REASON = "身份证复印件不清晰，请重新上传后提交"


def row_of(page, name: str):
    return page.locator("[data-testid=task-table] tbody tr", has_text=name)


def test_inbox_review_and_correction(browser, live_server, screenshot_dir, app):
    with app.app_context():
        task_ids = {name: submit_new(name, number, project) for name, number, project in TRAINEES}
        add_colleague("reviewer2", "李审核")
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")

    # The reviewer claims 陈志强's task from 组任务 and finds it under 我的任务.
    log_in(page, live_server, "reviewer", "reviewer123", "协会")
    page.goto(f"{live_server}/inbox/?tab=group")
    assert "总共4条" in page.content()
    page.screenshot(path=screenshot_dir / "1-group-tab.png", full_page=True)
    row_of(page, "陈志强").get_by_role("button", name="认领").click()
    page.wait_for_load_state()
    assert "已认领任务：陈志强 起重机械" in page.content()
    page.get_by_role("link", name="我的任务").click()
    page.wait_for_load_state()
    assert row_of(page, "陈志强").locator("td").nth(8).inner_text() == "张审核"
    page.screenshot(path=screenshot_dir / "2-my-tab.png", full_page=True)

    # Rejecting without a reason is refused; with a reason it goes back to the unit.
    row_of(page, "陈志强").get_by_role("link", name="办理").click()
    page.wait_for_load_state()
    page.get_by_label("不通过", exact=True).check()
    page.get_by_role("button", name="提交审核结果").click()
    page.wait_for_load_state()
    assert "请填写不通过原因，说明需要单位修改的内容" in page.content()
    page.screenshot(path=screenshot_dir / "3-reject-needs-reason.png", full_page=True)
    page.get_by_label("不通过原因").fill(REJECT_REASON)
    page.get_by_role("button", name="提交审核结果").click()
    page.wait_for_load_state()
    assert "已处理：报名审核 · 陈志强 起重机械，审核不通过，已退回单位修改。" in page.content()

    # 批量通过 takes the other three from 组任务.
    page.goto(f"{live_server}/inbox/?tab=group")
    page.locator("#select-all").check()
    page.get_by_test_id("bulk-approve").click()
    page.wait_for_load_state()
    assert "已审核通过 3 条报名" in page.content()
    assert "暂无待办任务。" in page.content()
    page.screenshot(path=screenshot_dir / "4-bulk-approved.png", full_page=True)
    log_out(page)

    # The unit admin opens the correction task from the inbox and resubmits.
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")
    page.goto(f"{live_server}/inbox/")
    assert row_of(page, "陈志强").locator("td").nth(1).inner_text() == "修改报名"
    page.screenshot(path=screenshot_dir / "5-unit-inbox.png", full_page=True)
    row_of(page, "陈志强").get_by_role("link", name="办理").click()
    page.wait_for_load_state()
    assert f"审核不通过原因：{REJECT_REASON}" in page.content()
    page.screenshot(path=screenshot_dir / "6-correction-task.png", full_page=True)
    page.get_by_label("重新提交").check()
    page.get_by_label("说明").fill("已上传清晰的身份证复印件")
    page.get_by_role("button", name="确定").click()
    page.wait_for_load_state()
    assert "已处理：修改报名 · 陈志强 起重机械，已重新提交，等待协会审核。" in page.content()

    # The finished review task reads as completed, with who and when.
    page.goto(f"{live_server}/inbox/tasks/{task_ids['林晓燕']}")
    assert page.title().startswith("页面不存在")  # a unit admin never opens review tasks
    log_out(page)
    log_in(page, live_server, "reviewer", "reviewer123", "协会")
    page.goto(f"{live_server}/inbox/tasks/{task_ids['林晓燕']}")
    assert "任务状态：已完成 · 由 张审核 于" in page.get_by_test_id("task-state").inner_text()
    assert page.get_by_role("button", name="提交审核结果").count() == 0
    page.screenshot(path=screenshot_dir / "7-completed-task.png", full_page=True)
    page.close()

    with app.app_context():
        statuses = {
            name: db.session.get(Enrollment, db.session.get(HumanTask, task_id).subject_id).status
            for name, task_id in task_ids.items()
        }
    assert statuses == {
        "林晓燕": EnrollmentStatus.APPROVED,
        "王东": EnrollmentStatus.APPROVED,
        "夏文娟": EnrollmentStatus.APPROVED,
        "陈志强": EnrollmentStatus.PENDING_REVIEW,
    }
