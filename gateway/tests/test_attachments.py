"""Attachments over REST: upload (multipart), list and download, scoped like the case reads, errors naming `file`."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from gateway_testkit import FAKE_ATTACHMENT_LIMIT, PERSONAS, Rig

CASE_A = "BR-PAT-2026-0200001-7"
CASE_B = "BR-GAY-2026-0200002-7"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(48))
PDF = b"%PDF-1.7\n%%EOF\n"


def seed(rig: Rig) -> None:
    rig.intake.seed(
        CASE_A, district="PAT", position_id="pos-co-bihta", department="REVENUE", account_id="acct-citizen-a"
    )
    rig.intake.seed(CASE_B, district="GAY", position_id="pos-gay-co", department="REVENUE", account_id="acct-citizen-b")


def url(number: str = CASE_A) -> str:
    return f"/v1/grievances/{number}/attachments"


async def test_citizen_uploads_lists_and_downloads(rig: Rig) -> None:
    seed(rig)
    name = "बिजली बिल.png"
    created = await rig.client.post(
        url(),
        files={"file": (name, PNG, "image/png")},
        data={"purpose": "citizen_response"},
        headers=rig.auth("citizen_a"),
    )
    assert created.status_code == 201, created.text
    view = created.json()
    assert created.headers["location"] == view["download_url"] == f"{url()}/{view['id']}"
    assert (view["file_name"], view["content_type"], view["purpose"]) == (name, "image/png", "citizen_response")
    assert view["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert view["size_bytes"] == len(PNG)
    assert view["uploaded_by"]["account_id"] == PERSONAS["citizen_a"].account_id
    sent = rig.intake.attachment_requests[-1]
    assert sent.content == PNG
    assert sent.actor.account_id == "acct-citizen-a"
    assert sent.idempotency_key.startswith("gw-")

    listed = await rig.client.get(url(), headers=rig.auth("officer_a"))
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["attachments"]] == [view["id"]]

    download = await rig.client.get(view["download_url"], headers=rig.auth("citizen_a"))
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-sha256"] == view["sha256"]
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition


async def test_officer_attaches_a_report_on_their_post_and_a_key_makes_a_retry_safe(rig: Rig) -> None:
    seed(rig)
    headers = {**rig.auth("officer_a"), "Idempotency-Key": "report-upload-1"}
    sent = {"files": {"file": ("report.pdf", PDF, "application/pdf")}, "data": {"purpose": "report"}}
    first = await rig.client.post(url(), headers=headers, **sent)
    again = await rig.client.post(url(), headers=headers, **sent)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    keys = {r.idempotency_key for r in rig.intake.attachment_requests}
    assert len(keys) == 1
    assert next(iter(keys)).startswith("att-")
    assert rig.intake.attachment_requests[-1].actor.position_id == "pos-pat-l1"


async def test_bad_files_answer_problems_naming_the_field(rig: Rig) -> None:
    seed(rig)
    headers = rig.auth("citizen_a")
    cases = [
        ({"file": ("big.png", PNG + b"\x00" * FAKE_ATTACHMENT_LIMIT, "image/png")}, {"purpose": "filing"}, 413, "file"),
        ({"file": ("x.gif", b"GIF89a" + b"\x00" * 16, "image/gif")}, {"purpose": "filing"}, 415, "file"),
        ({"file": ("x.png", PDF, "image/png")}, {"purpose": "filing"}, 415, "file"),
        ({"file": ("x.png", PNG, "image/png")}, {"purpose": "selfie"}, 422, "purpose"),
        (None, {"purpose": "filing"}, 422, "file"),
        # Over the JSON body cap (4096 here) but within the upload cap (6144): intake, not the gateway, refuses it.
        ({"file": ("mid.png", PNG + b"\x00" * 5000, "image/png")}, {"purpose": "filing"}, 413, "file"),
        # Over the gateway's upload cap: refused before any service is asked.
        ({"file": ("huge.png", PNG + b"\x00" * 8192, "image/png")}, {"purpose": "filing"}, 413, "body"),
    ]
    for files, data, status, field in cases:
        response = await rig.client.post(url(), files=files, data=data, headers=headers)
        assert response.status_code == status, (files and files["file"][0], response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}
    bad_id = await rig.client.get(f"{url()}/not-a-uuid", headers=headers)
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["field"] == "attachment_id"


async def test_other_peoples_cases_answer_404(rig: Rig) -> None:
    seed(rig)
    theirs = rig.intake.seed_attachment(CASE_B, PNG, file_name="b.png", content_type="image/png")
    upload = {"files": {"file": ("x.png", PNG, "image/png")}, "data": {"purpose": "other"}}
    for persona in ("citizen_b", "officer_b", "dm_b"):
        headers = rig.auth(persona)
        assert (await rig.client.post(url(), headers=headers, **upload)).status_code == 404
        assert (await rig.client.get(url(), headers=headers)).status_code == 404
    # An attachment of case B asked for through case A (which the caller may see) does not exist there.
    crossed = await rig.client.get(f"{url()}/{theirs.id}", headers=rig.auth("osd_cs"))
    assert crossed.status_code == 404
    own = await rig.client.get(f"{url(CASE_B)}/{theirs.id}", headers=rig.auth("citizen_b"))
    assert own.status_code == 200
    assert (await rig.client.get(f"{url(CASE_B)}/{theirs.id}", headers=rig.auth("citizen_a"))).status_code == 404
    assert rig.intake.attachment_requests == []


async def test_purposes_follow_the_uploader(rig: Rig) -> None:
    seed(rig)
    png = {"file": ("x.png", PNG, "image/png")}
    citizen_report = await rig.client.post(url(), files=png, data={"purpose": "report"}, headers=rig.auth("citizen_a"))
    officer_filing = await rig.client.post(url(), files=png, data={"purpose": "filing"}, headers=rig.auth("officer_a"))
    for refused in (citizen_report, officer_filing):
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["field"] == "purpose"
    assert rig.intake.attachment_requests == []
