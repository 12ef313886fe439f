"""Completing enrollments in headless Chromium: the four steps, uploads, trainee self-service.

The unit admin imports clean.xlsx, walks the four steps of 林晓燕's 电梯 enrollment, uploads
the real fixture images (and sees the bad ones rejected), downloads the pre-filled
application form and submits. 林晓燕 activates a trainee account and uploads the photo that
her 锅炉 enrollment still lacks; the admin submits it. A reviewer sees the documents on the
task page and approves. Screenshots of each step go to test-artifacts/.
"""

import io
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Trainee
from tests.conftest import IMPORT_FIXTURES, log_in, log_out

pytestmark = pytest.mark.browser

UPLOADS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "uploads"
ID_NUMBER = "350203198805122248"  # 林晓燕, with 电梯 and 锅炉 rows in clean.xlsx
PASSWORD = "Linxy2026pw"


def enrollment_id(app, project: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Enrollment.id)
            .join(Trainee)
            .where(Trainee.id_number == ID_NUMBER, Enrollment.training_project == project)
        )


def status_of(app, enrollment_id: int) -> str:
    with app.app_context():
        return db.session.get(Enrollment, enrollment_id).status


def upload(page, kind: str, file_name: str) -> None:
    page.get_by_test_id(f"file-{kind}").set_input_files(str(UPLOADS / file_name))
    page.get_by_test_id(f"upload-{kind}").click()
    page.wait_for_load_state()


def alerts(page) -> str:
    return " ".join(page.locator(".alert").all_inner_texts())


def images_loaded(page, selector: str) -> list[int]:
    """Return the natural width of each matching image; 0 means it did not load."""
    return page.eval_on_selector_all(selector, "images => images.map(i => i.naturalWidth)")


def test_complete_upload_submit_trainee_and_review(
    browser, live_server, screenshot_dir, tmp_path, app
):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    shots = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=screenshot_dir / f"{next(shots):02d}-{name}.png", full_page=True)

    # --- The unit admin imports the workbook.
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")
    page.get_by_role("link", name="批量导入报名").first.click()
    page.get_by_label("管理岗位").select_option("安全员")
    page.locator("input[type=file]").set_input_files(str(IMPORT_FIXTURES / "clean.xlsx"))
    page.get_by_role("button", name="上传并校验").click()
    page.get_by_test_id("ok-rows").wait_for()
    page.get_by_role("button", name="确定").click()
    page.wait_for_load_state()
    assert "成功导入 12 条报名" in page.content()
    elevator = enrollment_id(app, "电梯")
    boiler = enrollment_id(app, "锅炉")

    # 提交 on an incomplete row opens the form at its first unfinished step.
    page.goto(f"{live_server}/enrollments/?name=林晓燕")
    row = page.locator(f'tr[data-enrollment-id="{elevator}"]')
    row.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/enrollments/{elevator}/steps/4")
    assert "请先完善报名资料后再提交" in alerts(page)

    # --- Step 1: personal data; the gender is fixed by the resident ID.
    page.goto(f"{live_server}/enrollments/{elevator}/steps/1")
    assert page.get_by_label("证件号").input_value() == ID_NUMBER
    page.get_by_label("手机号码").fill("13805920000")
    page.get_by_label("学历（选填）").fill("机械工程")
    shot("step1-personal")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_load_state()

    # --- Step 2: unit data, pre-filled from the unit; a bad phone is kept when going back.
    assert page.url.endswith("/steps/2")
    assert page.get_by_label("单位地址").input_value() == "厦门市湖里区示范路 88 号"
    page.get_by_label("联系电话").fill("5551234")
    page.get_by_role("button", name="上一步").click()
    page.wait_for_load_state()
    assert page.url.endswith("/steps/1")
    assert page.get_by_label("手机号码").input_value() == "13805920000"
    page.get_by_role("button", name="下一步").click()
    page.wait_for_load_state()
    assert page.get_by_label("联系电话").input_value() == "5551234"
    assert "联系电话应为 11 位手机号码" in page.content()
    shot("step2-kept-draft")
    page.get_by_label("联系电话").fill("0592-5551234")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_load_state()

    # --- Step 3: training data.
    assert page.url.endswith("/steps/3")
    assert page.get_by_label("培训项目").input_value() == "电梯"
    shot("step3-training")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_load_state()

    # --- Step 4: bad files are rejected with the reason, good ones stored.
    assert page.url.endswith("/steps/4")
    bar = page.get_by_test_id("step-bar").locator("li")
    assert [bar.nth(i).get_attribute("data-complete") for i in range(4)] == [
        "yes",
        "yes",
        "yes",
        "no",
    ]
    upload(page, "photo", "not-an-image.jpg")
    assert "PDF" in alerts(page)
    upload(page, "photo", "truncated.jpg")
    assert "不完整" in alerts(page)
    upload(page, "id_card_front", "animated.gif")
    assert "GIF" in alerts(page)
    shot("step4-rejections")
    assert page.get_by_test_id("missing-photo").is_visible()

    upload(page, "application_form", "application-form-scan.png")
    upload(page, "photo", "photo-2inch.jpg")
    upload(page, "id_card_front", "id-card-phone-photo.jpg")
    upload(page, "id_card_back", "id-card-phone-photo.jpg")
    for kind in ("application_form", "photo", "id_card_front", "id_card_back"):
        assert page.get_by_test_id(f"uploaded-{kind}").is_visible()
    assert all(width > 0 for width in images_loaded(page, ".document-thumb"))

    # 点击下载: the pre-filled application form.
    with page.expect_download() as download_info:
        page.get_by_test_id("download-application-form").click()
    pdf_path = tmp_path / "application-form.pdf"
    download_info.value.save_as(pdf_path)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert "林晓燕" in text and ID_NUMBER in text and "0592-5551234" in text
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf_path), str(screenshot_dir / "pdf")],
        check=True,
    )

    # Without the commitment 提交 refuses; with it the enrollment goes to review.
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert "承诺勾选" in alerts(page)
    shot("step4-complete-before-commitment")
    page.get_by_label(re.compile("本人承诺以上所填信息真实无误")).check()
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    assert "已提交，等待协会审核" in alerts(page)
    assert status_of(app, elevator) == EnrollmentStatus.PENDING_REVIEW
    shot("list-after-submit")

    # --- The admin uploads three documents of the 锅炉 enrollment and issues a code.
    page.goto(f"{live_server}/enrollments/{boiler}/steps/4")
    upload(page, "application_form", "application-form-scan.png")
    upload(page, "id_card_front", "id-card-phone-photo.jpg")
    upload(page, "id_card_back", "id-card-phone-photo.jpg")
    page.get_by_role("link", name="学员管理").click()
    page.wait_for_load_state()
    page.get_by_label("证件号").fill(ID_NUMBER)
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="生成激活码").click()
    page.wait_for_load_state()
    code = page.get_by_test_id("activation-code").inner_text()
    shot("activation-code")
    log_out(page)

    # --- The trainee activates the account and adds the missing photo.
    page.get_by_role("link", name="学员激活").click()
    page.get_by_label("证件号").fill(ID_NUMBER)
    page.get_by_label("激活码").fill(code)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="激活账号").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="我的报名").is_visible()
    rows = page.get_by_test_id("enrollment-table").locator("tbody tr")
    assert rows.count() == 2  # only her own two enrollments
    shot("trainee-list")
    page.locator(f'tr[data-enrollment-id="{boiler}"]').get_by_role("link", name="完善资料").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="资料上传").click()
    page.wait_for_load_state()
    upload(page, "photo", "photo-2inch.jpg")
    page.get_by_label(re.compile("本人承诺以上所填信息真实无误")).check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="提交").count() == 0
    assert page.get_by_test_id("missing-summary").count() == 0
    shot("trainee-step4")
    log_out(page)

    # --- The admin submits the 锅炉 enrollment from the list.
    log_in(page, live_server, "demo_admin", "demo123", "用人单位")
    page.goto(f"{live_server}/enrollments/?name=林晓燕")
    page.locator(f'tr[data-enrollment-id="{boiler}"] .row-check').check()
    page.get_by_test_id("submit-selected").click()
    page.wait_for_load_state()
    assert "已提交 1 条报名（林晓燕）" in alerts(page)
    assert status_of(app, boiler) == EnrollmentStatus.PENDING_REVIEW
    log_out(page)

    # --- The reviewer sees the documents on the task page and approves.
    log_in(page, live_server, "reviewer", "reviewer123", "协会")
    page.goto(f"{live_server}/inbox/?tab=group")
    page.get_by_label("报名人").fill("林晓燕")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    page.locator("tr", has_text="电梯").get_by_role("link", name="办理").click()
    page.wait_for_load_state()
    widths = images_loaded(page, '[data-testid="summary-documents"] img')
    assert len(widths) == 4 and all(width > 0 for width in widths)
    shot("review-task-documents")
    page.get_by_role("radio", name="通过", exact=True).check()
    page.get_by_role("button", name="提交审核结果").click()
    page.wait_for_load_state()
    assert status_of(app, elevator) == EnrollmentStatus.APPROVED
    shot("review-approved")
