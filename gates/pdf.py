"""The gate record as a PDF, for the file of the decision."""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gates.conditions import condition_lines


def gate_pdf(record: dict) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)

    def p(text, style=styles["BodyText"]):
        return Paragraph(escape(str(text)), style)

    story = [
        p(f"{record['project']} · {record['name']}", styles["Title"]),
        p(
            f"{record['kind']} · {record['state']}"
            + (f" · {record['decision']} on {record['decided_at']}" if record["decision"] else "")
            + f" · rule: {record['decision_rule']}"
        ),
    ]
    if record["overridden_recommendation"]:
        story.append(
            p(
                f"Approved against the {record['overridden_recommendation']} recommendation: "
                f"{record['override_reason']}"
            )
        )
    if record["rollback_unjudged"]:
        story.append(p(f"Rollback triggers cannot be judged: {record['rollback_unjudged']}"))
    as_signed = record["evidence_as_signed"]
    if as_signed:
        story += [
            Spacer(1, 4 * mm),
            p("Evidence as signed, beside now", styles["Heading2"]),
            p(
                f"As {as_signed['signer']} saw it when signing on {as_signed['signed_at']}. "
                f"Recommendation then: {as_signed['recommendation_as_signed']}; now: "
                f"{as_signed['recommendation_now']}."
            ),
        ]
        rows = [["Criterion", "As signed", "Now", "Changed?"]]
        rows += [
            [
                p(c["text"], small),
                p(f"{c['as_signed']}: {c['as_signed_evidence']}", small),
                p(f"{c['now']}: {c['now_evidence']}", small),
                "CHANGED" if c["changed"] else "same",
            ]
            for c in as_signed["criteria"]
        ]
        rows += [
            [
                p(f"Risk {r['risk']}", small),
                r["as_signed"],
                r["now"],
                "CHANGED" if r["changed"] else "same",
            ]
            for r in as_signed["risks"]
        ]
        story.append(_table(rows, [50 * mm, 55 * mm, 55 * mm, 18 * mm]))
    story += [
        Spacer(1, 4 * mm),
        p(f"Criteria now (recommendation: {record['recommendation']})", styles["Heading2"]),
    ]
    rows = [["Criterion", "Critical", "Result", "Evidence"]]
    rows += [
        [p(c["text"], small), "yes" if c["critical"] else "", c["result"], p(c["evidence"], small)]
        for c in record["criteria"]
    ]
    story.append(_table(rows, [60 * mm, 15 * mm, 18 * mm, 85 * mm]))
    story += [Spacer(1, 4 * mm), p("Signatures", styles["Heading2"])]
    rows = [["Signed by", "When", "Meaning", "Evidence"]]
    for s in record["signatures"]:
        who = s["signer"] + (f" for {s['on_behalf_of']}" if s["on_behalf_of"] else "")
        if s["conditions"]:
            meaning = f"{s['meaning']} Conditions: {'; '.join(condition_lines(s['conditions']))}."
        else:
            meaning = s["meaning"]
        if s["override_reason"]:
            meaning += f" Against the recommendation, because: {s['override_reason']}"
        if s["invalidated_at"]:
            meaning += f" INVALIDATED {s['invalidated_at']}: {s['invalidated_reason']}"
        rows.append(
            [
                p(who, small),
                p(s["signed_at_display"], small),
                p(meaning, small),
                p(s["content_hash"][:16] + "…", small),
            ]
        )
    story.append(_table(rows, [40 * mm, 35 * mm, 75 * mm, 28 * mm]))
    audit = record["audit"]
    story += [
        Spacer(1, 4 * mm),
        p(
            f"Audit trail ({'verified' if audit['intact'] else 'TAMPERED'}: "
            f"{audit['verification']})",
            styles["Heading2"],
        ),
    ]
    # What happened, in words; the entries' full content is in the CSV and JSON exports.
    rows = [["#", "When", "What happened", "Entry hash"]]
    for e in audit["entries"]:
        rows.append(
            [
                str(e["sequence"]),
                p(e["at_display"], small),
                p(e["sentence"], small),
                p(e["entry_hash"][:16] + "…", small),
            ]
        )
    story.append(_table(rows, [8 * mm, 30 * mm, 112 * mm, 28 * mm]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"{record['project']} {record['name']}").build(
        story
    )
    return buffer.getvalue()


def _table(rows, widths):
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 7.5),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    return table
