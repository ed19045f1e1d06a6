"""Tables as files people open in a spreadsheet (issue 12): Excel (xlsx, written by xlsxwriter) and CSV.

Every report and list hands a `Table`: a title and columns named in Hindi and English, and rows of plain values. The
xlsx has the title, the time the figures were counted, a bilingual header row (frozen, filtered) and the rows; its
text is set in a Devanagari-capable font (Nirmala UI, which Windows has; other spreadsheets fall back to their own
Devanagari font). CSV is UTF-8 with a byte-order mark (`utf-8-sig`), the form Excel reads Devanagari from."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import xlsxwriter
from fastapi.responses import Response

from nivaran_gateway.downloads import content_disposition
from nivaran_gateway.schemas.common import LocalizedText

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
FONT = "Nirmala UI"
Cell = str | int | float | None


def bilingual(text: LocalizedText | None) -> str:
    """A cell's Hindi and English, as the headers show them ("" for none)."""
    return f"{text.hi} / {text.en}" if text is not None else ""


class ExportFormat(StrEnum):
    JSON = "json"
    XLSX = "xlsx"
    CSV = "csv"


@dataclass(frozen=True)
class Column:
    en: str
    hi: str
    width: int = 14

    def header(self) -> str:
        return f"{self.hi} / {self.en}"


@dataclass(frozen=True)
class Table:
    """A report or list as rows: `name` becomes the file name, `title_*` the sheet's first line."""

    name: str
    title_en: str
    title_hi: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    as_of: datetime


def to_xlsx(table: Table) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": f"{table.title_hi} / {table.title_en}", "author": "Nivaran"})
    text = book.add_format({"font_name": FONT, "font_size": 11})
    title = book.add_format({"font_name": FONT, "font_size": 14, "bold": True})
    header = book.add_format(
        {"font_name": FONT, "bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDE6F0", "border": 1}
    )
    sheet = book.add_worksheet(table.name[:31])
    sheet.write(0, 0, f"{table.title_hi} / {table.title_en}", title)
    sheet.write(1, 0, f"तिथि / As of: {table.as_of.isoformat(timespec='seconds')}", text)
    first = 3
    for index, column in enumerate(table.columns):
        sheet.set_column(index, index, column.width, text)
        sheet.write(first, index, column.header(), header)
    for offset, row in enumerate(table.rows, start=1):
        for index, value in enumerate(row):
            sheet.write(first + offset, index, "" if value is None else value, text)
    sheet.freeze_panes(first + 1, 0)
    if table.columns:
        sheet.autofilter(first, 0, first + len(table.rows), len(table.columns) - 1)
    book.close()
    return out.getvalue()


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header() for column in table.columns])
    writer.writerows([["" if value is None else value for value in row] for row in table.rows])
    return out.getvalue().encode("utf-8-sig")


def file_response(table: Table, fmt: ExportFormat) -> Response:
    """The table as a download in `fmt` (xlsx or csv)."""
    stamp = table.as_of.strftime("%Y%m%d-%H%M")
    if fmt is ExportFormat.XLSX:
        content, media_type, suffix = to_xlsx(table), XLSX, "xlsx"
    else:
        content, media_type, suffix = to_csv(table), CSV, "csv"
    return Response(
        content,
        media_type=media_type,
        headers={
            # The scope in the name comes from the query (a department code …): ASCII fallback plus RFC 5987.
            "Content-Disposition": content_disposition(f"{table.name}-{stamp}.{suffix}"),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# The OpenAPI description of a route that answers JSON, xlsx or CSV by its `format` parameter.
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON by default; an xlsx or a CSV (UTF-8 with BOM) download with format=xlsx or format=csv",
    }
}
