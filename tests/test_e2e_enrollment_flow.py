"""The whole enrollment flow in headless Chromium, as a unit admin and a reviewer do it.

The unit admin downloads the template, imports clean.xlsx, submits the 12 enrollments; the
reviewer approves 11 and rejects 1 with a reason; the unit admin sees the statuses and the
reason. Screenshots of each step go to test-artifacts/ for a person to look at.
"""

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment
from tests.conftest import IMPORT_FIXTURES, complete_enrollments, log_in, log_out

pytestmark = pytest.mark.browser

REJECTED_NAME = "陈志强"
REJECT_REASON = "身份证复印件不清晰，请重新上传后提交"


def submit_all_drafts(page, base_url: str) -> None:
    """Filter on 待提交, tick the page and press 提交, until no 待提交 row is left."""
    page.goto(f"{base_url}/enrollments/?status=draft")
    while page.locator("input.row-check:not([disabled])").count():
        page.locator("#select-all").check()
        page.get_by_test_id("submit-selected").click()
        page.wait_for_load_state()
        page.goto(f"{base_url}/enrollments/?status=draft")


def status_of(page, name: str, project: str) -> str:
    row = page.locator("tr", has_text=name).filter(has_text=project)
    return row.locator("td").nth(-2).inner_text().strip()


def test_import_submit_review_and_see_result(browser, live_server, screenshot_dir, tmp_path, app):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")

    # The unit admin downloads the template and imports the office's workbook.
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")
    assert page.get_by_role("heading", name="报名管理").is_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载导入模板").first.click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    headers = [cell.value for cell in load_workbook(template).worksheets[0][1]]
    assert headers[:3] == ["姓名 (必填)", "证件类型 (必填)", "证件号 (必填)"]

    page.get_by_role("link", name="批量导入报名").first.click()
    page.get_by_label("管理岗位").select_option("安全员")
    page.locator("input[type=file]").set_input_files(str(IMPORT_FIXTURES / "clean.xlsx"))
    page.get_by_role("button", name="上传并校验").click()
    page.get_by_test_id("ok-rows").wait_for()
    assert page.get_by_test_id("ok-rows").inner_text() == "12"
    assert page.get_by_test_id("error-rows").inner_text() == "0"
    page.screenshot(path=screenshot_dir / "1-import-preview.png", full_page=True)
    page.get_by_role("button", name="确定").click()
    page.wait_for_load_state()
    assert "成功导入 12 条报名" in page.content()
    page.screenshot(path=screenshot_dir / "2-imported-list.png", full_page=True)

    # The four-step form and uploads have their own browser test; here the data and
    # documents are filled in directly so that the review flow can be followed.
    with app.app_context():
        complete_enrollments(db.session.scalars(select(Enrollment)).all())
    submit_all_drafts(page, live_server)
    page.screenshot(path=screenshot_dir / "3-submitted.png", full_page=True)
    page.goto(f"{live_server}/enrollments/?status=pending_review")
    assert "总共12条" in page.content()
    log_out(page)

    # The reviewer rejects one enrollment with a reason and approves the other eleven.
    log_in(page, live_server, "reviewer", "reviewer123", "协会")
    review_all(page, live_server, screenshot_dir)
    log_out(page)

    # The unit admin sees the outcome and the reason.
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")
    page.goto(f"{live_server}/enrollments/?status=approved")
    assert "总共11条" in page.content()
    page.goto(f"{live_server}/enrollments/?status=rejected")
    assert "总共1条" in page.content()
    assert status_of(page, REJECTED_NAME, "压力容器") == "审核不通过"
    page.screenshot(path=screenshot_dir / "6-unit-sees-result.png", full_page=True)
    page.locator("tr", has_text=REJECTED_NAME).get_by_role("link", name="详情").click()
    page.wait_for_load_state()
    assert REJECT_REASON in page.content()
    page.screenshot(path=screenshot_dir / "7-rejected-detail.png", full_page=True)
    page.close()


def review_all(page, base_url: str, screenshot_dir) -> None:
    """Reject 陈志强's 压力容器 enrollment with a reason, then bulk-approve the other 11."""
    page.goto(f"{base_url}/inbox/?tab=group")
    assert "总共12条" in page.content()
    page.screenshot(path=screenshot_dir / "4-group-inbox.png", full_page=True)

    page.get_by_label("报名人").fill(REJECTED_NAME)
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    page.locator("tr", has_text=REJECTED_NAME).get_by_role("link", name="办理").click()
    page.wait_for_load_state()
    page.get_by_role("radio", name="不通过").check()
    page.get_by_role("button", name="提交审核结果").click()
    page.wait_for_load_state()
    assert "请填写不通过原因" in page.content()
    page.get_by_label("不通过原因").fill(REJECT_REASON)
    page.screenshot(path=screenshot_dir / "5-reject-with-reason.png", full_page=True)
    page.get_by_role("button", name="提交审核结果").click()
    page.wait_for_load_state()
    assert f"已处理：报名审核 · {REJECTED_NAME} 压力容器" in page.content()

    page.goto(f"{base_url}/inbox/?tab=group")
    while page.locator("input.row-check:not([disabled])").count():
        page.locator("#select-all").check()
        page.get_by_test_id("bulk-approve").click()
        page.wait_for_load_state()
        assert "已审核通过" in page.content()
    assert "暂无待办任务" in page.content()
