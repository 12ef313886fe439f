"""The import template (导入模板): header, dropdowns from the catalog, text cells, instructions."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from app.importing import columns as col
from app.importing.catalog import CatalogSnapshot

DATA_SHEET = "报名信息"
INSTRUCTIONS_SHEET = "填写说明"
OPTIONS_SHEET = "选项"
TEMPLATE_FILE_NAME = "报名导入模板.xlsx"

# Cells pre-formatted as text so that Excel keeps every digit of typed IDs and phone numbers;
# the column style covers rows beyond these for recent Excel versions.
TEXT_FORMAT_ROWS = 5000
TEXT = "@"
TEXT_COLUMNS = (col.ID_NUMBER, col.PHONE)
COLUMN_WIDTHS = {
    col.NAME: 12,
    col.ID_TYPE: 22,
    col.ID_NUMBER: 22,
    col.GENDER: 8,
    col.PHONE: 15,
    col.EDUCATION: 16,
    col.DEGREE: 12,
    col.TRAINING_TYPE: 18,
    col.TRAINING_PROJECT: 22,
    col.HOLDS_CERTIFICATE: 20,
}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

INSTRUCTIONS = (
    ("姓名", "必填", "学员的真实姓名，与证件上的姓名一致。"),
    ("证件类型", "必填", "从下拉列表选择：{id_types}。"),
    (
        "证件号",
        "必填",
        (
            "身份证填写 18 位号码（最后一位可以是 X），15 位旧号码不再接受。"
            "本列已设为文本格式，请直接输入，不要改成数字格式，否则 Excel 会把后几位变成 0。"
        ),
    ),
    (
        "性别",
        "必填",
        "男 或 女。证件类型为身份证时，须与身份证号第 17 位一致（单数为男，双数为女）。",
    ),
    ("手机号码", "必填", "11 位大陆手机号码，可带 +86，空格和短横线会自动去掉。"),
    ("最高学历", "必填", "从下拉列表选择：{educations}。"),
    ("学历", "选填", "可不填。"),
    ("培训类型", "必填", "从下拉列表选择：{training_types}。"),
    ("培训项目", "必填", "从下拉列表选择：{training_projects}。"),
    ("是否持有特种设备安全管理证书", "必填", "是 或 否。"),
)
GENERAL_NOTES = (
    (
        "一个项目一条数据：同一学员报名多个培训项目时，每个项目填写一行（例如报名电梯填写一行，"
        "压力管道再填写一行），其他信息相同。"
    ),
    "同一学员在同一个文件中不能重复报名同一项目；已报名且未撤回的项目也不能再次导入。",
    "请在“报名信息”工作表中填写，保留第一行表头，不要修改表头文字；可以调整列的顺序。",
    "学员年龄须在 18 至 100 周岁之间（按身份证号中的出生日期计算）。",
    "不要使用公式；如果从其他表格复制数据，请使用“选择性粘贴 - 数值”。",
    "管理岗位在上传文件时统一选择，不需要在表格中填写。",
    "导入后可以下载错误数据，修改标红的单元格后直接重新上传。",
)


def build_template(catalog: CatalogSnapshot, max_rows: int) -> Workbook:
    """Create the template workbook; ``max_rows`` data rows get dropdown validation."""
    workbook = Workbook()
    data_sheet = workbook.active
    data_sheet.title = DATA_SHEET
    _write_header(data_sheet)
    options_sheet = workbook.create_sheet(OPTIONS_SHEET)
    ranges = _write_options(options_sheet, catalog)
    options_sheet.sheet_state = "hidden"
    _add_dropdowns(data_sheet, ranges, max_rows)
    _format_text_columns(data_sheet, max_rows)
    _write_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET, index=1), catalog)
    workbook.active = 0
    return workbook


def template_bytes(catalog: CatalogSnapshot, max_rows: int) -> bytes:
    buffer = BytesIO()
    build_template(catalog, max_rows).save(buffer)
    return buffer.getvalue()


def column_index(label: str) -> int:
    """Return the 1-based column of a field in the template."""
    return col.LABELS.index(label) + 1


def _write_header(sheet: Worksheet) -> None:
    for index, column in enumerate(col.COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = COLUMN_WIDTHS[column.label]
    sheet.freeze_panes = "A2"


def _write_options(sheet: Worksheet, catalog: CatalogSnapshot) -> dict[str, str]:
    """Write each list in its own column of the hidden sheet; return ranges by field label.

    A list typed into the validation itself is limited to 255 characters, so the dropdowns
    refer to these cells instead.
    """
    ranges = {}
    for index, (label, options) in enumerate(catalog.options().items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index, value=label)
        for row, option in enumerate(options, start=2):
            sheet.cell(row=row, column=index, value=option)
        last_row = max(2, len(options) + 1)
        ranges[label] = f"{quote_sheetname(OPTIONS_SHEET)}!${letter}$2:${letter}${last_row}"
    return ranges


def _add_dropdowns(sheet: Worksheet, ranges: dict[str, str], max_rows: int) -> None:
    for label, source in ranges.items():
        validation = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="无效的选项",
            error=f"请从下拉列表中选择{label}。",
        )
        letter = get_column_letter(column_index(label))
        validation.add(f"{letter}2:{letter}{max_rows + 1}")
        sheet.add_data_validation(validation)


def _format_text_columns(sheet: Worksheet, max_rows: int) -> None:
    # Formatted cells count towards the sheet's used range, which the import limits to
    # max_rows data rows, so the template formats no row beyond that.
    last_row = min(TEXT_FORMAT_ROWS, max_rows) + 1
    for label in TEXT_COLUMNS:
        index = column_index(label)
        sheet.column_dimensions[get_column_letter(index)].number_format = TEXT
        for row in range(2, last_row + 1):
            sheet.cell(row=row, column=index).number_format = TEXT


def _write_instructions(sheet: Worksheet, catalog: CatalogSnapshot) -> None:
    lists = {
        "id_types": "、".join(catalog.id_types),
        "educations": "、".join(catalog.educations),
        "training_types": "、".join(catalog.training_types),
        "training_projects": "、".join(catalog.training_projects),
    }
    sheet.append(["批量导入报名填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(["列名", "是否必填", "填写要求"])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for label, required, text in INSTRUCTIONS:
        sheet.append([label, required, text.format(**lists)])
    sheet.append([])
    sheet.append(["注意事项"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    for number, note in enumerate(GENERAL_NOTES, start=1):
        sheet.append([f"第 {number} 条", "", note])
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 12
    sheet.column_dimensions["C"].width = 90
    for row in sheet.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
