"""Usage notices as they were issued, and the reissue PDF: a cover page to today's holder, one page per month."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ..extensions import db
from ..formats import TOKYO, wareki_date, wareki_month, yen
from ..models import (
    Bill,
    HolderHistory,
    HolderKind,
    ReissueRequest,
    SendTo,
)
from ..services.calendar import add_months
from ..wards import CITY_NAME

CENTRE_CONTACT = "大阪市水道局 水道お客さまセンター 06-6458-1132"


def months_text(months) -> str:
    """Months in 和暦, joined with 、 (令和5年4月、令和5年6月)."""
    return "、".join(wareki_month(m) for m in months)


# ---------------------------------------------------------------- the notices as issued

@dataclass
class IssuedNotice:
    """One usage notice as it was issued: the facts of that month, not today's."""

    customer_number: str
    settlement_number: str
    holder_name: str
    usage_location: str
    period: date
    reading_from: date | None
    reading_to: date
    reading_date: date
    usage_m3: int
    water_charge: int
    sewer_charge: int
    total: int
    payment_method: str
    due_date: date


def holder_on(holders: list[HolderHistory], day: date) -> HolderHistory | None:
    """The holder whose period covers day (holder history, R12); holders sorted by effective_from."""
    current = None
    for holder in holders:
        if holder.effective_from <= day:
            current = holder
    if current is None:
        return holders[0] if holders else None
    return current


def issued_notices(request: ReissueRequest) -> list[IssuedNotice]:
    """The notices of the requested months, with the holder and payment method of each month."""
    contract = request.contract
    periods = [item.period for item in request.items]
    wanted = set(periods) | {add_months(p, -1) for p in periods}
    bills = {
        b.period: b
        for b in db.session.scalars(select(Bill).where(Bill.contract_id == contract.id, Bill.period.in_(wanted)))
    }
    holders = list(
        db.session.scalars(
            select(HolderHistory).where(HolderHistory.contract_id == contract.id).order_by(HolderHistory.effective_from)
        )
    )
    notices = []
    for period in sorted(periods):
        bill = bills[period]
        previous = bills.get(add_months(period, -1))
        reading_from = previous.reading_date if previous is not None else contract.start_date
        holder = holder_on(holders, bill.reading_date)
        notices.append(
            IssuedNotice(
                customer_number=contract.customer_number,
                settlement_number=contract.settlement_number,
                holder_name=holder.holder_name if holder is not None else contract.holder_name,
                usage_location=CITY_NAME + contract.usage_location,
                period=period,
                reading_from=reading_from,
                reading_to=bill.reading_date - timedelta(days=1),
                reading_date=bill.reading_date,
                usage_m3=bill.usage_m3,
                water_charge=bill.water_charge,
                sewer_charge=bill.sewer_charge,
                total=bill.total,
                payment_method=bill.payment_method.label,
                due_date=bill.due_date,
            )
        )
    return notices


def destination_of(request: ReissueRequest) -> tuple[str, str]:
    """(kind label, address) the reissued notices are mailed to."""
    contract = request.contract
    if request.send_to == SendTo.OTHER:
        return f"指定の送付先（{request.other_address_reason or ''}）", request.other_address or ""
    if contract.mailing_address:
        return "契約の送付先", contract.mailing_address
    return "使用場所", CITY_NAME + contract.usage_location


def addressee_of(request: ReissueRequest) -> str:
    """今日の契約者 + 様 (御中 for a company): the envelope goes to today's holder."""
    contract = request.contract
    return f"{contract.holder_name} {'御中' if contract.holder_kind == HolderKind.COMPANY else '様'}"


# ---------------------------------------------------------------- the PDF

# reportlab's built-in Japanese CID fonts: nothing to install, text stays extractable (ToUnicode via UniJIS).
GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    registered = pdfmetrics.getRegisteredFontNames()
    for name in (GOTHIC, MINCHO):
        if name not in registered:
            pdfmetrics.registerFont(UnicodeCIDFont(name))


def notice_pdf(request: ReissueRequest, reissued: date) -> bytes:
    """A cover page addressed to today's holder, then one page per requested month as it was issued."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _register_fonts()
    notices = issued_notices(request)
    out = io.BytesIO()
    # invariant: no timestamps or random ids inside, so the same batch gives the same bytes.
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle(f"お知らせ票（再発行）{request.contract.customer_number}")
    pdf.setAuthor("大阪市水道局")
    pages = len(notices) + 1
    _cover_page(pdf, request, notices, reissued)
    _footer(pdf, request, 1, pages)
    pdf.showPage()
    for number, notice in enumerate(notices, start=2):
        _notice_page(pdf, notice, reissued)
        _footer(pdf, request, number, pages)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _reissue_stamp(pdf, reissued: date, right: float, top: float) -> None:
    from reportlab.lib import colors

    pdf.saveState()
    pdf.setStrokeColor(colors.HexColor("#c0392b"))
    pdf.setFillColor(colors.HexColor("#c0392b"))
    pdf.setLineWidth(2)
    pdf.roundRect(right - 130, top - 44, 130, 44, 6, stroke=1, fill=0)
    pdf.setFont(GOTHIC, 22)
    pdf.drawCentredString(right - 65, top - 30, "再発行")
    pdf.restoreState()
    pdf.setFont(GOTHIC, 9)
    pdf.drawRightString(right, top - 58, f"再発行日 {wareki_date(reissued)}")


def _cover_page(pdf, request: ReissueRequest, notices: list[IssuedNotice], reissued: date) -> None:
    from reportlab.lib.pagesizes import A4

    width, height = A4
    kind, address = destination_of(request)
    pdf.setFont(MINCHO, 11)
    # Where a window envelope shows it.
    y = height - 80
    for line in _wrap(address, 30):
        pdf.drawString(70, y, line)
        y -= 16
    pdf.setFont(MINCHO, 13)
    pdf.drawString(70, y - 8, addressee_of(request))
    _reissue_stamp(pdf, reissued, width - 50, height - 50)
    pdf.setFont(GOTHIC, 16)
    pdf.drawCentredString(width / 2, height - 250, "ご使用水量等のお知らせ（お知らせ票）の再発行について")
    pdf.setFont(MINCHO, 11)
    y = height - 300
    for line in (
        "平素より水道事業にご理解とご協力をいただき、ありがとうございます。",
        "お申し込みいただいた下記のお知らせ票を再発行いたしましたので、お送りします。",
        "再発行したお知らせ票の記載内容（契約者名・お支払方法など）は、発行当時のものです。",
    ):
        pdf.drawString(70, y, line)
        y -= 20
    y -= 10
    pdf.setFont(GOTHIC, 11)
    pdf.drawString(70, y, f"お客さま番号　{request.contract.customer_number}")
    y -= 20
    pdf.drawString(70, y, f"再発行する月　{months_text(n.period for n in notices)}（{len(notices)}枚）")
    y -= 20
    pdf.drawString(70, y, f"受付日　{wareki_date(request.requested_at.astimezone(TOKYO).date())}")
    y -= 40
    pdf.setFont(MINCHO, 10)
    pdf.drawString(70, y, "令和6年1月分以降のお知らせ票は、マイページの「実績」>「過去の利用履歴」>「PDF出力」から")
    pdf.drawString(70, y - 15, "いつでも印刷していただけます。")
    pdf.setFont(GOTHIC, 10)
    pdf.drawString(70, 120, CENTRE_CONTACT)


def _notice_page(pdf, notice: IssuedNotice, reissued: date) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4

    width, height = A4
    _reissue_stamp(pdf, reissued, width - 50, height - 50)
    pdf.setFont(GOTHIC, 18)
    pdf.drawString(60, height - 80, "ご使用水量等のお知らせ")
    pdf.setFont(GOTHIC, 12)
    pdf.drawString(60, height - 102, f"{wareki_month(notice.period)}分")
    reading_from = wareki_date(notice.reading_from) if notice.reading_from else ""
    rows = [
        ("お客さま番号", notice.customer_number),
        ("調定番号", notice.settlement_number),
        ("契約者", f"{notice.holder_name} 様"),
        ("使用場所", notice.usage_location),
        ("請求月", f"{wareki_month(notice.period)}分"),
        ("使用期間", f"{reading_from} 〜 {wareki_date(notice.reading_to)}"),
        ("検針日", wareki_date(notice.reading_date)),
        ("ご使用水量", f"{notice.usage_m3} m³"),
        ("水道料金", yen(notice.water_charge)),
        ("下水道使用料", yen(notice.sewer_charge)),
        ("合計金額", yen(notice.total)),
        ("お支払方法", notice.payment_method),
        ("納期限", wareki_date(notice.due_date)),
    ]
    left, label_width, right = 60, 120, width - 60
    row_height = 30
    top = height - 140
    pdf.setLineWidth(0.6)
    pdf.setStrokeColor(colors.black)
    for index, (label, value) in enumerate(rows):
        y = top - index * row_height
        pdf.setFillColor(colors.HexColor("#eef3f8"))
        pdf.rect(left, y - row_height, label_width, row_height, stroke=0, fill=1)
        pdf.setFillColor(colors.black)
        pdf.rect(left, y - row_height, right - left, row_height, stroke=1, fill=0)
        pdf.line(left + label_width, y, left + label_width, y - row_height)
        pdf.setFont(GOTHIC, 10)
        pdf.drawString(left + 8, y - 19, label)
        bold = label in ("ご使用水量", "合計金額")
        font, size = (GOTHIC, 13) if bold else (MINCHO, 11)
        if label in ("ご使用水量", "水道料金", "下水道使用料", "合計金額"):
            pdf.setFont(font, size)
            pdf.drawRightString(right - 12, y - 20, value)
        else:
            _draw_fitted(pdf, value, left + label_width + 10, y - 20, right - left - label_width - 20, font, size)
    y = top - len(rows) * row_height - 30
    pdf.setFont(MINCHO, 9)
    for line in (
        f"本書は、{wareki_month(notice.period)}分のお知らせ票を{wareki_date(reissued)}に再発行したものです。",
        "記載の内容（契約者名・お支払方法など）は発行当時のものです。",
    ):
        pdf.drawString(60, y, line)
        y -= 14


def _footer(pdf, request: ReissueRequest, page: int, pages: int) -> None:
    from reportlab.lib.pagesizes import A4

    width, _height = A4
    pdf.setFont(GOTHIC, 8)
    batch = request.batch.batch_key if request.batch else ""
    pdf.drawString(60, 40, f"受付番号 {request.id}　印刷バッチ {batch}")
    pdf.drawRightString(width - 60, 40, f"{page} / {pages}")


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def _draw_fitted(pdf, text: str, x: float, y: float, max_width: float, font: str, size: float) -> None:
    """Draw on one line, in a smaller size if the text is long (a long building name), never past max_width."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 7 and stringWidth(text, font, size) > max_width:
        size -= 0.5
    while text and stringWidth(text, font, size) > max_width:
        text = text[:-2] + "…"
    pdf.setFont(font, size)
    pdf.drawString(x, y, text)
