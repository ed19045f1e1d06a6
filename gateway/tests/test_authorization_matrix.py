"""Every /v1 route against every role: who is let in, who is refused (401 / 403), and whose cases stay invisible (404).

Three seeded cases make the scopes tell apart:
- A: district PAT, Revenue, at the Circle Officer Bihta (below officer A's L1 post, below the Revenue secretary),
  filed by citizen A's account with a relative's phone as contact;
- B: district GAY, Revenue, at the Circle Officer Bodh Gaya (below officer B's post), filed by citizen B;
- C: district PAT, Health, filed without an account from citizen A's verified phone, and made visible to the DM (S10);
- D: district PAT, Revenue, at officer A's own L1 post (what an L1 may forward down, S8);
- E: like D, for the acts on a case (reports, disposal, show-cause reply …), with a replied show-cause notice.

Tokens are minted with the test key that the fake identity publishes through GetJwks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import pytest_asyncio
from gateway_testkit import (
    FIXED_OTP,
    OPEN311_API_KEY,
    PERSONAS,
    RAW_PHONE,
    FakeNotify,
    Rig,
    auth,
    build_rig,
    drop_keys,
    filing,
    start_backends,
    token_for,
)

from nivaran_common.testing import REDIS_URL
from nivaran_gateway.access import access_of, api_routes

CASE_A = "BR-PAT-2026-0100001-7"
CASE_B = "BR-GAY-2026-0100002-7"
CASE_C = "BR-PAT-2026-0100003-7"
CASE_D = "BR-PAT-2026-0100004-7"
# Like D, at officer A's own post, for the acts (the forward row moves D down); outside the list checks.
CASE_E = "BR-PAT-2026-0100005-7"
SEEDED = {CASE_A, CASE_B, CASE_C, CASE_D}
RELATIVE_PHONE = "+919700000001"

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, "citizen_a", "citizen_b", "officer_a", "officer_b", "dm_a", "dm_b", "secretary", "osd_cs"]
CITIZENS = ("citizen_a", "citizen_b")
OFFICERS = ("officer_a", "officer_b", "dm_a", "dm_b", "secretary", "osd_cs")

Check = Callable[[str, Any, Rig], None]


@dataclass(frozen=True)
class Row:
    """One request to one route, and the status each role must get."""

    id: str
    route: str  # "METHOD /path/template", as the app declares it
    method: str
    path: str
    expect: dict[str, int]
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    check: Check | None = None
    tags: tuple[str, ...] = field(default=())
    # multipart/form-data instead of JSON (uploads)
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    # a raw body (a PDF to verify)
    content: bytes | None = None


def everyone(status: int) -> dict[str, int]:
    """A public route: every role, anonymous included, gets `status`."""
    return dict.fromkeys(ROLES, status)


def only(allowed: dict[str, int], *, denied: int = 403) -> dict[str, int]:
    """A route for some roles: anonymous gets 401, the roles not named get `denied`."""
    return {role: 401 if role == ANONYMOUS else allowed.get(role, denied) for role in ROLES}


def visible(*roles: str) -> dict[str, int]:
    """A case read: the named roles see it (200), other signed-in roles get 404, anonymous 401."""
    return only(dict.fromkeys(roles, 200), denied=404)


LIST_SCOPE = {
    "citizen_a": {CASE_A, CASE_C},
    "citizen_b": {CASE_B},
    "officer_a": {CASE_A, CASE_D},
    "officer_b": {CASE_B},
    "dm_a": {CASE_A, CASE_C, CASE_D},
    "dm_b": {CASE_B},
    "secretary": {CASE_A, CASE_B, CASE_D},
    "osd_cs": {CASE_A, CASE_B, CASE_C, CASE_D},
}


def sees_only_its_scope(role: str, response: Any, rig: Rig) -> None:
    listed = {g["registration_number"] for g in response.json()["grievances"]}
    assert listed & SEEDED == LIST_SCOPE[role], role


def open311_sees_only_its_scope(role: str, response: Any, rig: Rig) -> None:
    listed = {r["service_request_id"] for r in response.json()}
    assert listed & SEEDED == LIST_SCOPE[role], role


def is_me(role: str, response: Any, rig: Rig) -> None:
    assert response.json()["account_id"] == PERSONAS[role].account_id


def own_district_registrations(role: str, response: Any, rig: Rig) -> None:
    district = PERSONAS[role].claims["district"]
    assert {r["district_code"] for r in response.json()["registrations"]} == {district}


def own_delegations(role: str, response: Any, rig: Rig) -> None:
    given = response.json()["delegations"]
    assert {d["delegator_account_id"] for d in given} <= {PERSONAS[role].claims["sub"]}
    assert rig.identity.requests[-1].actor.account_id == PERSONAS[role].claims["sub"]


def own_district_queue(role: str, response: Any, rig: Rig) -> None:
    assert rig.routing.queue_requests[-1].district_code == PERSONAS[role].claims["district"]
    assert response.json()["transfers"], "the seeded transfer of the DM's district is listed"


def filed_as(role: str, response: Any, rig: Rig) -> None:
    sent = rig.intake.requests[-1]
    if role == ANONYMOUS:
        assert (sent.complainant.account_id, sent.filed_by.account_id) == ("", "")
    elif role in CITIZENS:
        assert sent.complainant.account_id == PERSONAS[role].account_id
        assert sent.filed_by.account_id == ""
    else:
        assert sent.complainant.account_id == ""
        assert sent.filed_by.account_id == PERSONAS[role].account_id


NOTICE_L1 = "notice-pat-l1"


def own_inbox(role: str, response: Any, rig: Rig) -> None:
    listed = [n["id"] for n in response.json()["notices"]]
    assert listed == ([NOTICE_L1] if role == "officer_a" else []), role


NOTICE_D = "scn-case-d-1"
ACT_KEY = {"Idempotency-Key": "matrix-act-0001"}
# An act on case E: its post's holder (officer A) may; others who see it get 403; others 404.
HOLDER_OF_D = {
    **only({"officer_a": 200, "dm_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
}
C4_REPORT = {
    "kind": "preliminary",
    "concerns_office": True,
    "aware_before": False,
    "action_taken": "स्थल निरीक्षण किया गया / a site inspection was made",
    "resolvable_within_72h": True,
    "expected_resolution_by": "2026-03-05T10:00:00+05:30",
}
BREACH_SCOPE = {
    "dm_a": {CASE_A, CASE_C},
    "dm_b": {CASE_B},
    "secretary": {CASE_A, CASE_B},
    "osd_cs": {CASE_A, CASE_B, CASE_C},
}


def own_breaches(role: str, response: Any, rig: Rig) -> None:
    numbers = {g.id: n for n, g in rig.intake.by_number.items()}
    listed = {numbers[b["grievance_id"]] for b in response.json()["breaches"]}
    assert listed == BREACH_SCOPE[role], role


def board_without_personal_data(response: Any) -> None:
    board = response.json()
    assert (board["form"], board["office"]["hearing_day"]) == ("Form-4", "wednesday")
    assert [h["registration_number"] for h in board["hearings"]] == [CASE_A]
    assert not {"complainant", "description", "phone"} & set(board["hearings"][0])


def league_of_offices_only(response: Any) -> None:
    """Issue 12: the public league table holds offices and counts, never a person."""
    body = response.json()
    assert body["district_code"] == "PAT"
    assert {row["office_id"] for row in body["rows"]} == {"OFF-PAT-COLLECTORATE", "OFF-PAT-BLOCK"}
    for row in body["rows"]:
        assert not {"complainant", "name", "phone", "address", "position_id", "position_title"} & set(row)


def own_district_absences(role: str, response: Any) -> None:
    assert response.json()["district_code"] == PERSONAS[role].claims["district"]


def own_report_rows(role: str, response: Any) -> None:
    """A DM's report holds only their district's offices; the CS cell's (no district asked) the state's."""
    district = PERSONAS[role].claims.get("district") if role.startswith("dm") else ""
    offices = {row["office_id"] for row in response.json()["rows"]}
    assert offices == (
        {f"OFF-{district}-COLLECTORATE"} if district else {"OFF-PAT-COLLECTORATE", "OFF-GAY-COLLECTORATE"}
    )


def long_pending_without_personal_data(role: str, response: Any) -> None:
    cases = response.json()["cases"]
    assert bool(cases) == (role != "dm_b"), "the fake's old case of Patna is listed, for Patna's readers only"
    assert not {"complainant", "complainant_name", "phone", "address"} & {key for case in cases for key in case}
    assert RAW_PHONE not in response.text


def only_revenue(response: Any) -> None:
    assert [row["department_code"] for row in response.json()["rows"]] == ["REVENUE"]


def a_csv(response: Any) -> None:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())


def an_xlsx(response: Any) -> None:
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.content.startswith(b"PK")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ATTACHMENT_A = "0b1e4f3c-5d6a-4b7c-8d9e-0f1a2b3c4d5e"
DOCUMENT_A = FakeNotify.DOCUMENT_ID

RELINQUISH = {
    "position_id": "pos-pat-l1",
    "relinquish_at": "2026-04-01T10:00:00+05:30",
    "transfer_order_number": "GAD/TR/2026/114",
    "transfer_order_date": "2026-03-28T00:00:00+05:30",
}

ROWS: list[Row] = [
    Row("otp-request", "POST /v1/auth/otp", "POST", "/v1/auth/otp", everyone(202), body={"phone": RAW_PHONE}),
    Row(
        "otp-verify", "POST /v1/auth/otp/verify", "POST", "/v1/auth/otp/verify", everyone(200),
        body={"phone": RAW_PHONE, "otp": FIXED_OTP},
    ),
    Row(
        "password-login", "POST /v1/auth/login", "POST", "/v1/auth/login", everyone(200),
        body={"username": "officer.a", "password": "correct horse", "totp": "123456"},
    ),
    Row(
        "refresh", "POST /v1/auth/refresh", "POST", "/v1/auth/refresh", everyone(200),
        body={"refresh_token": "refresh-abc"},
    ),
    Row(
        "logout", "POST /v1/auth/logout", "POST", "/v1/auth/logout", everyone(204),
        body={"refresh_token": "refresh-abc"},
    ),
    Row(
        "me", "GET /v1/me", "GET", "/v1/me",
        only({r: 200 for r in ROLES if r != ANONYMOUS}), check=is_me,
    ),
    Row(
        "register-officer", "POST /v1/officers/registrations", "POST", "/v1/officers/registrations", everyone(201),
        body={"name": "सुनील कुमार", "username": "co.bihta.2", "password": "a long pass phrase", "phone": RAW_PHONE,
              "position_id": "pos-co-bihta"},
    ),
    Row(
        "list-registrations", "GET /v1/officers/registrations", "GET", "/v1/officers/registrations",
        only({"dm_a": 200, "dm_b": 200}), check=own_district_registrations,
    ),
    Row(
        "decide-registration", "POST /v1/officers/registrations/{registration_id}/decision", "POST",
        "/v1/officers/registrations/reg-pat-1/decision", only({"dm_a": 200, "dm_b": 404}),
        body={"approve": True, "note": "ठीक है / fine"},
    ),
    Row(
        "relinquish", "POST /v1/officers/{account_id}/relinquish", "POST", "/v1/officers/acct-officer-a/relinquish",
        only({"officer_a": 200}), body=RELINQUISH,
    ),
    Row(
        # The officer confirms their own charge; the DM of the post's district puts them in charge (identity refuses
        # the DM of another district); nobody else may.
        "take-charge", "POST /v1/officers/{account_id}/take-charge", "POST",
        "/v1/officers/acct-officer-a/take-charge", only({"officer_a": 200, "dm_a": 200}),
        body={"position_id": "pos-pat-l1", "charge_from": "2026-04-02T10:00:00+05:30"},
    ),
    Row(
        "delegate", "POST /v1/delegations", "POST", "/v1/delegations",
        only({"dm_a": 201, "dm_b": 201, "secretary": 201}),
        body={"delegate_account_id": "acct-nodal-pat", "powers": ["registrations.decide"]},
    ),
    Row(
        # Anyone on the staff lists their own; identity answers from the verified caller's account alone.
        "list-delegations", "GET /v1/delegations", "GET", "/v1/delegations",
        only(dict.fromkeys(OFFICERS, 200)), params={"include_revoked": "true"}, check=own_delegations,
    ),
    Row(
        # Identity refuses anyone but the delegator; the gateway passes who is asking.
        "revoke-delegation", "DELETE /v1/delegations/{delegation_id}", "DELETE", "/v1/delegations/del-dm-a",
        only({"dm_a": 200}),
    ),
    Row(
        # Officers and operators have passwords; citizens sign in by OTP. Identity takes whose from the token.
        "change-password", "POST /v1/auth/password", "POST", "/v1/auth/password",
        only(dict.fromkeys(OFFICERS, 200)),
        body={"current_password": "correct horse", "new_password": "a much longer pass phrase"},
    ),
    Row(
        # A STATE_ADMIN or the regulator of the account's posts: identity refuses the DM of another district.
        "disable-account", "POST /v1/accounts/{account_id}/disable", "POST", "/v1/accounts/acct-officer-a/disable",
        only({"dm_a": 200}), body={"reason": "निलंबित / suspended by order 12/2026"},
    ),
    # Department clients are a STATE_ADMIN's or DEPT_ADMIN's to manage (test_service_clients.py): none of these.
    Row(
        "create-service-client", "POST /v1/service-clients", "POST", "/v1/service-clients", only({}),
        body={"name": "PDS", "department_code": "FOOD", "scopes": ["grievances.read"]},
    ),
    Row("list-service-clients", "GET /v1/service-clients", "GET", "/v1/service-clients", only({})),
    Row(
        "disable-service-client", "POST /v1/service-clients/{client_id}/disable", "POST",
        "/v1/service-clients/client-food-1/disable", only({}),
    ),
    Row(
        "request-transfer", "POST /v1/grievances/{registration_number}/transfer-requests", "POST",
        f"/v1/grievances/{CASE_A}/transfer-requests",
        only({"officer_a": 201, "dm_a": 201, "secretary": 201, "osd_cs": 201, "officer_b": 404, "dm_b": 404}),
        body={"to_department_code": "HEALTH", "reason": "यह स्वास्थ्य विभाग का विषय है / a health matter"},
    ),
    Row(
        "transfer-queue", "GET /v1/transfer-queue", "GET", "/v1/transfer-queue",
        only({"dm_a": 200, "dm_b": 200}), check=own_district_queue,
    ),
    Row(
        "decide-transfer", "POST /v1/transfer-queue/{transfer_id}/decision", "POST",
        "/v1/transfer-queue/tr-pat-1/decision", only({"dm_a": 200, "dm_b": 404}),
        body={"approve": True, "to_position_id": "pos-pat-health"},
    ),
    Row(
        # S8: only the holder of the post the case sits at forwards it; others who can see it get 403.
        "forward", "POST /v1/grievances/{registration_number}/forward", "POST", f"/v1/grievances/{CASE_D}/forward",
        only({"officer_a": 200, "dm_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        body={"to_position_id": "pos-co-bihta", "note": "कृपया जाँच करें / please inquire"},
    ),
    Row(
        "clocks", "GET /v1/grievances/{registration_number}/clocks", "GET", f"/v1/grievances/{CASE_A}/clocks",
        visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        # The complainant or an officer whose scope covers the case; `other` is a purpose both may use.
        "upload-attachment", "POST /v1/grievances/{registration_number}/attachments", "POST",
        f"/v1/grievances/{CASE_A}/attachments",
        only({"citizen_a": 201, "officer_a": 201, "dm_a": 201, "secretary": 201, "osd_cs": 201}, denied=404),
        files={"file": ("photo.png", PNG, "image/png")}, data={"purpose": "other"},
    ),
    Row(
        "list-attachments", "GET /v1/grievances/{registration_number}/attachments", "GET",
        f"/v1/grievances/{CASE_A}/attachments", visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        "download-attachment", "GET /v1/grievances/{registration_number}/attachments/{attachment_id}", "GET",
        f"/v1/grievances/{CASE_A}/attachments/{ATTACHMENT_A}",
        visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        # Documents (Form-2, show-cause notices, ...): scoped like the case reads.
        "list-documents", "GET /v1/grievances/{registration_number}/documents", "GET",
        f"/v1/grievances/{CASE_A}/documents", visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        "download-document", "GET /v1/grievances/{registration_number}/documents/{document_id}", "GET",
        f"/v1/grievances/{CASE_A}/documents/{DOCUMENT_A}",
        visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        # Public: what a document's QR code opens.
        "verify-document", "GET /v1/documents/{document_id}/verification", "GET",
        f"/v1/documents/{DOCUMENT_A}/verification", everyone(200),
    ),
    Row(
        "verify-document-file", "POST /v1/documents/{document_id}/verification", "POST",
        f"/v1/documents/{DOCUMENT_A}/verification", everyone(200),
        headers={"Content-Type": "application/pdf"}, content=b"%PDF-1.7 a copy",
    ),
    Row(
        # A state admin's template review (no persona here is one).
        "preview-document", "POST /v1/documents/preview", "POST", "/v1/documents/preview", only({}),
        body={"kind": "form2", "language": "hi", "params": {"registration_number": CASE_A}},
    ),
    Row("list-categories", "GET /v1/categories", "GET", "/v1/categories", everyone(200)),
    Row(
        "create-category", "POST /v1/categories", "POST", "/v1/categories", only({"secretary": 201}),
        body={"code": "REVENUE_SURVEY", "department_code": "REVENUE",
              "name": {"en": "Land survey", "hi": "भूमि सर्वेक्षण"}, "default_track": "sahyog"},
    ),
    Row(
        "rename-category", "PATCH /v1/categories/{code}", "PATCH", "/v1/categories/REVENUE_OLD",
        only({"secretary": 200}), body={"name": {"en": "Old survey records", "hi": "पुराने सर्वेक्षण अभिलेख"}},
    ),
    Row(
        "merge-categories", "POST /v1/categories/{code}/merge", "POST", "/v1/categories/REVENUE_MUTATION/merge",
        only({"secretary": 200}), body={"source_codes": ["REVENUE_OLD"]},
    ),
    Row(
        "other-share", "GET /v1/departments/{code}/other-share", "GET", "/v1/departments/REVENUE/other-share",
        only({"secretary": 200, "osd_cs": 200}),
    ),
    Row("file", "POST /v1/grievances", "POST", "/v1/grievances", everyone(201), body=filing(), check=filed_as),
    Row(
        # S1: only a DM sets a camp, for a panchayat of their own district (dm_b's is GAY: 422 naming the field).
        "create-camp", "POST /v1/camps", "POST", "/v1/camps", only({"dm_a": 201, "dm_b": 422}),
        body={"panchayat_code": "PAT-SADAR-PHULWARI-GONPURA", "held_on": "2027-01-15",
              "venue": {"en": "Panchayat Bhawan, Gonpura", "hi": "पंचायत भवन, गोनपुरा"}},
    ),
    Row("list-camps", "GET /v1/camps", "GET", "/v1/camps", everyone(200)),
    Row(
        "list", "GET /v1/grievances", "GET", "/v1/grievances",
        only({r: 200 for r in ROLES if r != ANONYMOUS}), check=sees_only_its_scope,
    ),
    Row(
        # Filters a caller sends only narrow the token's scope: citizen A's phone and account, another
        # district, a registration number: nobody sees more than their own scope.
        "list-with-someone-elses-filters", "GET /v1/grievances", "GET", "/v1/grievances",
        only({r: 200 for r in ROLES if r != ANONYMOUS}), check=sees_only_its_scope,
        params={"complainant_phone": RAW_PHONE, "phone": RAW_PHONE, "complainant_account_id": "acct-citizen-a",
                "registration_number": CASE_A, "position_ids": "pos-co-bihta", "district_codes": "PAT"},
    ),
    Row(
        "read-case-a", "GET /v1/grievances/{registration_number}", "GET", f"/v1/grievances/{CASE_A}",
        visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    Row(
        "read-case-b", "GET /v1/grievances/{registration_number}", "GET", f"/v1/grievances/{CASE_B}",
        visible("citizen_b", "officer_b", "dm_b", "secretary", "osd_cs"),
    ),
    Row(
        "read-case-c-by-phone", "GET /v1/grievances/{registration_number}", "GET", f"/v1/grievances/{CASE_C}",
        visible("citizen_a", "dm_a", "osd_cs"),
    ),
    Row(
        "inbox", "GET /v1/me/notices", "GET", "/v1/me/notices",
        only({r: 200 for r in ROLES if r != ANONYMOUS}), check=own_inbox,
    ),
    Row(
        # S16: only the holder of the post the notice is addressed to opens it; to anyone else it does not exist.
        "read-notice", "GET /v1/me/notices/{notice_id}", "GET", f"/v1/me/notices/{NOTICE_L1}",
        only({"officer_a": 200}, denied=404),
    ),
    Row(
        "mark-notice-read", "POST /v1/me/notices/{notice_id}/read", "POST", f"/v1/me/notices/{NOTICE_L1}/read",
        only({"officer_a": 200}, denied=404),
    ),
    Row(
        "read-case-a-passing-its-phone", "GET /v1/grievances/{registration_number}", "GET",
        f"/v1/grievances/{CASE_A}", visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
        params={"complainant_phone": RAW_PHONE, "phone": RAW_PHONE, "complainant_account_id": "acct-citizen-a"},
    ),
    # --- acts on a case: the holder of the post the case sits at (E sits at officer A's post) -----------------
    Row(
        # C3: the holder of the post the case sits at (here officer A's) assigns it; the lifecycle only lets a case
        # registered with the cell be assigned, which the fake does not keep.
        "assign", "POST /v1/grievances/{registration_number}/assignment", "POST",
        f"/v1/grievances/{CASE_E}/assignment", HOLDER_OF_D, body={"note": "तुरंत जाँच करें / inquire at once"},
        headers=ACT_KEY,
    ),
    Row(
        "report", "POST /v1/grievances/{registration_number}/reports", "POST", f"/v1/grievances/{CASE_E}/reports",
        HOLDER_OF_D, body=C4_REPORT, headers=ACT_KEY,
    ),
    Row(
        "disposal", "POST /v1/grievances/{registration_number}/disposal", "POST",
        f"/v1/grievances/{CASE_E}/disposal", HOLDER_OF_D, headers=ACT_KEY,
        body={"kind": "resolved", "action_taken": "खाता सुधार कर दिया गया / the record was corrected"},
    ),
    Row(
        "info-request", "POST /v1/grievances/{registration_number}/info-requests", "POST",
        f"/v1/grievances/{CASE_E}/info-requests", HOLDER_OF_D, headers=ACT_KEY,
        body={"question": "कृपया खतियान की प्रति दें / please send the khatiyan copy"},
    ),
    Row(
        # C5: only the post reviewing A's final report (the DM's, seeded) reviews it.
        "review", "POST /v1/grievances/{registration_number}/reviews", "POST", f"/v1/grievances/{CASE_A}/reviews",
        only({"dm_a": 200, "officer_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        body={"decision": "forward", "note": "विभाग को अग्रसारित / to the department"}, headers=ACT_KEY,
    ),
    Row(
        # Only the complainant answers; another citizen does not see the case; officers may not answer for them.
        "info-response", "POST /v1/grievances/{registration_number}/info-responses", "POST",
        f"/v1/grievances/{CASE_A}/info-responses", only({"citizen_a": 200, "citizen_b": 404}),
        body={"response": "खतियान की प्रति संलग्न है / the copy is attached"}, headers=ACT_KEY,
    ),
    Row(
        "show-cause-notices", "GET /v1/grievances/{registration_number}/show-cause-notices", "GET",
        f"/v1/grievances/{CASE_E}/show-cause-notices",
        only({"officer_a": 200, "dm_a": 200, "secretary": 200, "osd_cs": 200, "officer_b": 404, "dm_b": 404}),
    ),
    Row(
        # S9: only the holder of the post the notice names replies.
        "show-cause-reply", "POST /v1/grievances/{registration_number}/show-cause-notices/{notice_id}/reply", "POST",
        f"/v1/grievances/{CASE_E}/show-cause-notices/{NOTICE_D}/reply", HOLDER_OF_D, headers=ACT_KEY,
        body={"reply": "विलंब सर्वर की खराबी से हुआ / the delay was a server outage"},
    ),
    Row(
        # S18: only the DM of the case's district recommends.
        "recommendation", "POST /v1/grievances/{registration_number}/show-cause-notices/{notice_id}/recommendation",
        "POST", f"/v1/grievances/{CASE_E}/show-cause-notices/{NOTICE_D}/recommendation",
        only({"dm_a": 200, "officer_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        body={"recommendation": "स्पष्टीकरण स्वीकार / accept the explanation"}, headers=ACT_KEY,
    ),
    Row(
        # S18: only the Commissioner above the DM acts (see the test with a Commissioner's token below).
        "commissioner-action",
        "POST /v1/grievances/{registration_number}/show-cause-notices/{notice_id}/commissioner-action", "POST",
        f"/v1/grievances/{CASE_E}/show-cause-notices/{NOTICE_D}/commissioner-action",
        only({"officer_a": 403, "dm_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        body={"decision": "act", "note": "चेतावनी दी जाए / a warning is to be issued"}, headers=ACT_KEY,
    ),
    Row(
        # Issue 10: only the complainant reopens; another citizen does not see the case; officers may not.
        "reopen", "POST /v1/grievances/{registration_number}/reopen", "POST", f"/v1/grievances/{CASE_A}/reopen",
        only({"citizen_a": 200, "citizen_b": 404}),
        body={"reason": "खतियान अब भी गलत है / the record is still wrong"}, headers=ACT_KEY,
    ),
    Row(
        # H3: the complainant rates (a call-centre operator records calls: tests/test_recourse_e2e.py).
        "feedback", "POST /v1/grievances/{registration_number}/feedback", "POST", f"/v1/grievances/{CASE_A}/feedback",
        only({"citizen_a": 200, "citizen_b": 404}),
        body={"rating": 2, "resolved": False, "comment": "सुधार नहीं हुआ / not fixed"}, headers=ACT_KEY,
    ),
    Row(
        # M4: only the holder of the post the case sits at keeps it under watch and reports the work done.
        "watch", "POST /v1/grievances/{registration_number}/watch", "POST", f"/v1/grievances/{CASE_E}/watch",
        HOLDER_OF_D, body={"item": "अतिक्रमण वाद दर्ज, हटाना शेष / encroachment case registered"}, headers=ACT_KEY,
    ),
    Row(
        "watch-report", "POST /v1/grievances/{registration_number}/watch/report", "POST",
        f"/v1/grievances/{CASE_E}/watch/report", HOLDER_OF_D, headers=ACT_KEY,
        body={"report": "अतिक्रमण हटाया गया / the encroachment was removed"},
    ),
    Row(
        # H2: only the holder of the post the case sits at (the fake sla keeps no track to refuse others on).
        "interim-reply", "POST /v1/grievances/{registration_number}/interim-reply", "POST",
        f"/v1/grievances/{CASE_E}/interim-reply", HOLDER_OF_D, headers=ACT_KEY,
        body={"reply": "नागरिक से बात कर उचित माध्यम से आवेदन कराया / applied through the proper channel",
              "called_on": "2026-11-20",
              "application": {"application_number": "RTPS/PAT/2026/9", "applied_on": "2026-11-20",
                              "status": "received"}},
    ),
    Row(
        # B4: only the complainant appeals; the fake sla keeps no pending appeal, so nobody may decide one here
        # (tests/test_recourse_e2e.py decides one against the real suite).
        "appeal", "POST /v1/grievances/{registration_number}/appeals", "POST", f"/v1/grievances/{CASE_A}/appeals",
        only({"citizen_a": 200, "citizen_b": 404}), headers=ACT_KEY,
        body={"kind": "first", "grounds": "निर्णय में अभिलेख की अनदेखी हुई / the record was ignored"},
    ),
    Row(
        "decide-appeal", "POST /v1/grievances/{registration_number}/appeals/decision", "POST",
        f"/v1/grievances/{CASE_A}/appeals/decision",
        only({"officer_a": 403, "dm_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        headers=ACT_KEY, body={"decision": "allowed", "findings": "अभिलेख अधूरा सुधारा गया / partly corrected"},
    ),
    Row(
        # C2: the dead letters are a STATE_ADMIN's (no persona here is one: gateway/tests/test_deliveries.py is).
        "failed-deliveries", "GET /v1/deliveries/failed", "GET", "/v1/deliveries/failed", only({}),
    ),
    Row("retry-delivery", "POST /v1/deliveries/{delivery_id}/retry", "POST", "/v1/deliveries/d-failed-1/retry",
        only({})),
    Row(
        # C2: a receipt is trusted by its signature alone; no token makes an unsigned one good.
        "provider-receipt", "POST /v1/providers/{channel}/receipts", "POST", "/v1/providers/sms/receipts",
        dict.fromkeys(ROLES, 401), body={"message_id": "prov-7", "status": "delivered"}, tags=("signed",),
    ),
    Row(
        # C2: Kannel's delivery report counts only with the provider secret as its token.
        "kannel-dlr", "GET /v1/providers/kannel/dlr", "GET", "/v1/providers/kannel/dlr", dict.fromkeys(ROLES, 401),
        params={"token": "guess", "ref": "d-failed-1", "type": "1"}, tags=("signed",),
    ),
    Row(
        # C2 / B3: an inbound SMS counts only with the aggregator's signature, or Kannel's token; never a person's.
        "inbound-sms", "POST /v1/inbound/sms", "POST", "/v1/inbound/sms", dict.fromkeys(ROLES, 401),
        body={"message_id": "in-1", "from": "+919876543210", "text": "STATUS BR-PAT-2026-0100001-7"}, tags=("signed",),
    ),
    Row(
        "inbound-kannel", "GET /v1/inbound/kannel", "GET", "/v1/inbound/kannel", dict.fromkeys(ROLES, 401),
        params={"from": "+919876543210", "text": "STATUS BR-PAT-2026-0100001-7", "id": "k-1", "token": "guess"},
        tags=("signed",),
    ),
    Row(
        # B5: Meta's subscription handshake answers only Meta's verify token, whoever calls.
        "whatsapp-handshake", "GET /v1/inbound/whatsapp", "GET", "/v1/inbound/whatsapp", dict.fromkeys(ROLES, 403),
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    ),
    Row(
        "whatsapp-notification", "POST /v1/inbound/whatsapp", "POST", "/v1/inbound/whatsapp",
        dict.fromkeys(ROLES, 401), body={"object": "whatsapp_business_account", "entry": []}, tags=("signed",),
    ),
    Row(
        # H3: the senior officer (the DM above the case) accepts the action-taken report; its officer may not.
        "accept-atr", "POST /v1/grievances/{registration_number}/atr-acceptance", "POST",
        f"/v1/grievances/{CASE_E}/atr-acceptance",
        only({"dm_a": 200, "officer_a": 403, "secretary": 403, "osd_cs": 403, "officer_b": 404, "dm_b": 404}),
        headers=ACT_KEY, body={"note": "कॉल और रेटिंग देखी / call and rating seen"},
    ),
    Row(
        # B7: the officer who hears the case now (its post's holder; the fake keeps no pending appeal).
        "schedule-hearing", "POST /v1/grievances/{registration_number}/hearings", "POST",
        f"/v1/grievances/{CASE_E}/hearings", HOLDER_OF_D, headers=ACT_KEY,
        body={"held_on": "2026-12-09", "at": "11:00", "public_authority_position_id": "pos-co-bihta"},
    ),
    Row(
        "record-hearing", "POST /v1/grievances/{registration_number}/hearings/{hearing_id}/attendance", "POST",
        f"/v1/grievances/{CASE_E}/hearings/H1/attendance", HOLDER_OF_D, headers=ACT_KEY,
        body={"outcome": "heard", "complainant_present": True, "public_authority_present": False,
              "proceedings": "दोनों पक्ष सुने गए / both sides heard"},
    ),
    Row(
        # B7 rule 6: the office's officers or its district's DM fix its hearing day (officer_a sits in another office).
        "set-hearing-day", "PUT /v1/offices/{office_id}/hearing-day", "PUT",
        "/v1/offices/OFF-PAT-COLLECTORATE/hearing-day", only({"dm_a": 200}), body={"weekday": "wednesday"},
    ),
    Row(
        "notice-board", "GET /v1/offices/{office_id}/notice-board", "GET",
        "/v1/offices/OFF-PAT-COLLECTORATE/notice-board",
        everyone(200), check=lambda role, response, rig: board_without_personal_data(response),
    ),
    Row(
        # Issue 12: M5 per office of a district with an overdue flag, for anyone (counts of offices, no person).
        "league-table", "GET /v1/public/league-table", "GET", "/v1/public/league-table", everyone(200),
        params={"district_code": "PAT", "month": "2026-11"},
        check=lambda role, response, rig: league_of_offices_only(response),
    ),
    Row(
        "league-table-csv", "GET /v1/public/league-table", "GET", "/v1/public/league-table", everyone(200),
        params={"district_code": "PAT", "format": "csv"}, check=lambda role, response, rig: a_csv(response),
    ),
    Row(
        # M2 / M3: a DM, of their own district (taken from the token).
        "hearing-absences", "GET /v1/reports/hearing-absences", "GET", "/v1/reports/hearing-absences",
        only({"dm_a": 200, "dm_b": 200}), check=lambda role, response, rig: own_district_absences(role, response),
    ),
    Row(
        "mark-duplicate", "POST /v1/grievances/{registration_number}/duplicate-of", "POST",
        f"/v1/grievances/{CASE_E}/duplicate-of", HOLDER_OF_D, headers=ACT_KEY,
        body={"original_registration_number": CASE_D, "note": "एक ही खाता / the same record"},
    ),
    Row(
        # A DM their district, the CS cell any; a secretary must name their department (403 without it).
        "dashboard", "GET /v1/dashboard", "GET", "/v1/dashboard",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}),
    ),
    Row(
        "dashboard-of-gaya", "GET /v1/dashboard", "GET", "/v1/dashboard", only({"dm_b": 200, "osd_cs": 200}),
        params={"district_code": "GAY"},
    ),
    Row(
        # Issue 12: the review reports are read within the dashboard's remit.
        "pending-by-age", "GET /v1/reports/pending-by-age", "GET", "/v1/reports/pending-by-age",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}),
        check=lambda role, response, rig: own_report_rows(role, response),
    ),
    Row(
        "pending-by-age-of-gaya-xlsx", "GET /v1/reports/pending-by-age", "GET", "/v1/reports/pending-by-age",
        only({"dm_b": 200, "osd_cs": 200}), params={"district_code": "GAY", "by": "officer", "format": "xlsx"},
        check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        # M5 and S18: the same remit; a secretary names their department for the ranking.
        "ranking", "GET /v1/reports/ranking", "GET", "/v1/reports/ranking",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}), params={"month": "2026-11"},
    ),
    Row(
        "daily-report-csv", "GET /v1/reports/daily", "GET", "/v1/reports/daily",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}), params={"date": "2026-12-01", "format": "csv"},
        check=lambda role, response, rig: a_csv(response),
    ),
    Row(
        # The Revenue secretary reads their department's row; a DM reads it within their district.
        "daily-report-of-revenue", "GET /v1/reports/daily", "GET", "/v1/reports/daily",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200, "secretary": 200}), params={"department_code": "REVENUE"},
        check=lambda role, response, rig: only_revenue(response),
    ),
    Row(
        # M1: the weekly report, in the dashboard's remit; a DM's holds only their district's offices.
        "weekly-report", "GET /v1/reports/weekly", "GET", "/v1/reports/weekly",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}), params={"week": "2026-W48"},
        check=lambda role, response, rig: own_report_rows(role, response),
    ),
    Row(
        "weekly-report-xlsx", "GET /v1/reports/weekly", "GET", "/v1/reports/weekly",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}), params={"format": "xlsx"},
        check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        # M2: cases pending over 60 working days; no complainant's name, phone or address in the list.
        "long-pending", "GET /v1/reports/long-pending", "GET", "/v1/reports/long-pending",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}),
        check=lambda role, response, rig: long_pending_without_personal_data(role, response),
    ),
    Row(
        "long-pending-csv", "GET /v1/reports/long-pending", "GET", "/v1/reports/long-pending",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200, "secretary": 200}),
        params={"department_code": "REVENUE", "format": "csv"}, check=lambda role, response, rig: a_csv(response),
    ),
    Row(
        "hearing-absences-xlsx", "GET /v1/reports/hearing-absences", "GET", "/v1/reports/hearing-absences",
        only({"dm_a": 200, "dm_b": 200}), params={"format": "xlsx"},
        check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        # H4: a department's category trends: its secretary, a DM within their district, the CS cell.
        "category-trends-of-revenue", "GET /v1/reports/category-trends", "GET", "/v1/reports/category-trends",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200, "secretary": 200}), params={"department_code": "REVENUE"},
    ),
    Row(
        "category-trends-of-health-xlsx", "GET /v1/reports/category-trends", "GET", "/v1/reports/category-trends",
        only({"dm_a": 200, "dm_b": 200, "osd_cs": 200}), params={"department_code": "HEALTH", "format": "xlsx"},
        check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        "breaches", "GET /v1/breaches", "GET", "/v1/breaches",
        only({"dm_a": 200, "dm_b": 200, "secretary": 200, "osd_cs": 200}), check=own_breaches,
    ),
    # The geography a filing's location names (the web app's location pickers): public master data.
    Row("areas", "GET /v1/areas", "GET", "/v1/areas", everyone(200), params={"parent_code": "PAT"}),
    # Open311 GeoReport v2: discovery and services are public; requests are read within the /v1 scopes.
    Row("open311-discovery", "GET /open311/v2/discovery.{fmt}", "GET", "/open311/v2/discovery.json", everyone(200)),
    Row("open311-services", "GET /open311/v2/services.{fmt}", "GET", "/open311/v2/services.xml", everyone(200)),
    Row(
        "open311-service-definition", "GET /open311/v2/services/{service_code}.{fmt}", "GET",
        "/open311/v2/services/REVENUE_MUTATION.json", everyone(200),
    ),
    Row(
        "open311-requests", "GET /open311/v2/requests.{fmt}", "GET", "/open311/v2/requests.json",
        only({r: 200 for r in ROLES if r != ANONYMOUS}), check=open311_sees_only_its_scope,
    ),
    Row(
        "open311-request-a", "GET /open311/v2/requests/{service_request_id}.{fmt}", "GET",
        f"/open311/v2/requests/{CASE_A}.xml", visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
    ),
    # Filing with an integrator's api_key: the key is the credential, whoever else calls (a token is verified only).
    Row(
        "open311-file", "POST /open311/v2/requests.{fmt}", "POST", "/open311/v2/requests.json", everyone(201),
        body={"api_key": OPEN311_API_KEY, "service_code": "REVENUE_MUTATION", "address_string": "बिहटा",
              "first_name": "गीता", "description": "दाखिल-खारिज लंबित", "attributes": {"district_code": "PAT"}},
    ),
    # A token resolves for anyone (it is unguessable and names only a number); this one was never given.
    Row("open311-token", "GET /open311/v2/tokens/{token}.{fmt}", "GET", f"/open311/v2/tokens/{'0' * 32}.xml",
        everyone(404)),
    Row(
        "open311-updates-a", "GET /open311/v2/servicerequestupdates.{fmt}", "GET",
        "/open311/v2/servicerequestupdates.json", visible("citizen_a", "officer_a", "dm_a", "secretary", "osd_cs"),
        params={"service_request_id": CASE_A},
    ),
    # Open311 keys are a STATE_ADMIN's to issue and revoke (no persona here is one: test_open311_filing.py is).
    Row("issue-open311-key", "POST /v1/open311-keys", "POST", "/v1/open311-keys", only({}), body={"integrator": "FMS"}),
    Row("list-open311-keys", "GET /v1/open311-keys", "GET", "/v1/open311-keys", only({})),
    Row(
        "revoke-open311-key", "POST /v1/open311-keys/{key_id}/revoke", "POST", "/v1/open311-keys/o311-key-1/revoke",
        only({}),
    ),
]  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def matrix_rig() -> AsyncIterator[Rig]:
    """One gateway for the whole matrix, with the three seeded cases; rate limits are tested elsewhere."""
    backends, stop = await start_backends()
    backends.intake.seed(
        CASE_A, district="PAT", position_id="pos-co-bihta", department="REVENUE", account_id="acct-citizen-a",
        phone=RELATIVE_PHONE,
    )  # fmt: skip
    backends.intake.seed(
        CASE_B, district="GAY", position_id="pos-gay-co", department="REVENUE", account_id="acct-citizen-b",
        phone=PERSONAS["citizen_b"].claims["phone"],
    )  # fmt: skip
    backends.intake.seed(
        CASE_C, district="PAT", position_id="pos-pat-health", department="HEALTH", phone=RAW_PHONE, dm_visible=True
    )
    backends.intake.seed(CASE_D, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    seeded = backends.intake.seed_attachment(CASE_A, PNG, file_name="photo.png", content_type="image/png")
    seeded.id = ATTACHMENT_A
    backends.notify.deliver(NOTICE_L1, position_id="pos-pat-l1")
    backends.intake.seed(CASE_E, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    backends.sla.seed_notice(CASE_E, NOTICE_D, "pos-pat-l1", replied=True)
    backends.sla.reviewers[backends.intake.by_number[CASE_A].id] = "pos-pat-dm"
    backends.sla.seed_breach(CASE_A, "S13", "pos-co-bihta")
    backends.sla.seed_breach(CASE_B, "S8", "pos-gay-l1")
    backends.sla.seed_breach(CASE_C, "S13", "pos-pat-health")
    prefix = f"nivaran-test:matrix-{uuid.uuid4().hex[:8]}:"
    rig = await build_rig(backends, REDIS_URL, prefix, rate_limits_enabled=False)
    try:
        yield rig
    finally:
        for close in rig.closers:
            await close()
        await drop_keys(REDIS_URL, prefix)
        await stop()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_every_route_against_every_role(matrix_rig: Rig, row: Row, role: str) -> None:
    headers = {} if role == ANONYMOUS else auth(role)

    response = await matrix_rig.client.request(
        row.method,
        row.path,
        json=row.body,
        params=row.params,
        headers={**headers, **(row.headers or {})},
        files=row.files,
        data=row.data,
        content=row.content,
    )

    expected = row.expect[role]
    assert response.status_code == expected, f"{row.id} as {role}: {response.text}"
    if expected >= 400 and row.route.startswith("GET /open311/"):
        # Open311 clients read the spec's error list, in the format the path names.
        assert response.headers["content-type"].startswith(("application/json", "text/xml"))
        assert str(expected) in response.text
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    elif expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        if expected == 401:
            # A provider's callback is authenticated by its body's signature, a person by a bearer token.
            scheme = "Signature" if "signed" in row.tags else "Bearer"
            assert response.headers["www-authenticate"].startswith(scheme)
        if expected == 404 and row.route.startswith("GET /v1/grievances/"):
            # Not yours and not there read the same, so a case's existence does not leak.
            number = next(part for part in row.path.split("/") if part.startswith("BR-"))
            assert response.json()["detail"] == f"no grievance {number}"
    elif row.check is not None:
        row.check(role, response, matrix_rig)


def test_the_matrix_covers_every_v1_and_open311_route(matrix_rig: Rig) -> None:
    declared = {
        f"{method} {route.path}"
        for route in api_routes(matrix_rig.app)
        if route.path.startswith(("/v1/", "/open311/"))
        for method in route.methods
    }

    assert declared == {row.route for row in ROWS}


def test_every_v1_route_declares_who_may_call_it(matrix_rig: Rig) -> None:
    routes = [route for route in api_routes(matrix_rig.app) if route.path.startswith(("/v1/", "/open311/"))]

    assert len(routes) >= 24
    for route in routes:
        [declaration] = access_of(route)
        described = declaration.describe()
        assert described["anonymous"] or described["roles"], route.path


async def test_citizen_b_cannot_read_citizen_a_case_by_number_or_by_a_phone_filter(matrix_rig: Rig) -> None:
    by_number = await matrix_rig.client.get(f"/v1/grievances/{CASE_A}", headers=auth("citizen_b"))
    by_phone = await matrix_rig.client.get(
        "/v1/grievances", params={"complainant_phone": RAW_PHONE, "phone": RAW_PHONE}, headers=auth("citizen_b")
    )

    assert by_number.status_code == 404
    assert by_phone.status_code == 200
    assert CASE_A not in by_phone.text
    asked = matrix_rig.intake.list_requests[-1]
    # What reached intake came from citizen B's token, not from the query string.
    assert asked.complainant_account_id == "acct-citizen-b"
    assert asked.complainant_phone == PERSONAS["citizen_b"].claims["phone"]


async def test_officer_of_another_district_cannot_read_a_district_a_case(matrix_rig: Rig) -> None:
    response = await matrix_rig.client.get(f"/v1/grievances/{CASE_A}", headers=auth("officer_b"))

    assert response.status_code == 404
    asked = matrix_rig.intake.list_requests[-1]
    assert set(asked.position_ids) == {"pos-gay-l1", "pos-gay-co"}
    assert asked.registration_number == CASE_A


# The web app (/app, docs/web.md): pages, not API routes. A private page sends a visitor without a session to sign in
# (303), shows a citizen their own (a case of another citizen: the 404 page), and gives an officer a 403 page: its
# pages are the citizens'. The officers' pages (/app/officer) are the other way round: anonymous to the officers'
# sign-in, an officer sees a case in their scope (else the 404 page), a citizen gets a 403 page. Every POST without
# the session's CSRF token is a 403 page, whoever sends it.
SIGN_IN = 303


def page_for_citizens(**citizens: int) -> dict[str, int]:
    """Anonymous: to sign in; citizens: as given (200 unless named); officers: 403."""
    return {
        role: SIGN_IN if role == ANONYMOUS else citizens.get(role, 200) if role in CITIZENS else 403 for role in ROLES
    }


def page_for_officers(**officers: int) -> dict[str, int]:
    """Anonymous: to the officers' sign-in; officers: as given (200 unless named); citizens: 403."""
    return {
        role: SIGN_IN if role == ANONYMOUS else officers.get(role, 200) if role in OFFICERS else 403 for role in ROLES
    }


WEB_ROWS: list[Row] = [
    Row("web-home", "GET /app", "GET", "/app", everyone(200)),
    Row("web-signin", "GET /app/signin", "GET", "/app/signin", everyone(200)),
    Row("web-lang", "GET /app/lang", "GET", "/app/lang", everyone(303), params={"to": "en", "next": "/app"}),
    Row("web-my-cases", "GET /app/grievances", "GET", "/app/grievances", page_for_citizens()),
    Row("web-file-form", "GET /app/grievances/new", "GET", "/app/grievances/new", page_for_citizens()),
    Row(
        "web-case-a", "GET /app/grievances/{number}", "GET", f"/app/grievances/{CASE_A}",
        page_for_citizens(citizen_b=404),
    ),
    Row(
        "web-case-b", "GET /app/grievances/{number}", "GET", f"/app/grievances/{CASE_B}",
        page_for_citizens(citizen_a=404),
    ),
    Row("web-request-otp", "POST /app/signin", "POST", "/app/signin", everyone(403), data={"phone": RAW_PHONE}),
    Row(
        "web-verify-otp", "POST /app/signin/verify", "POST", "/app/signin/verify", everyone(403),
        data={"phone": RAW_PHONE, "otp": FIXED_OTP},
    ),
    Row("web-signout", "POST /app/signout", "POST", "/app/signout", everyone(403), data={}),
    Row(
        "web-file", "POST /app/grievances/new", "POST", "/app/grievances/new", everyone(403),
        data={"description": "बिना CSRF के / without CSRF"},
    ),
    Row("web-officer-signin-form", "GET /app/officer/signin", "GET", "/app/officer/signin", everyone(200)),
    Row(
        "web-officer-signin", "POST /app/officer/signin", "POST", "/app/officer/signin", everyone(403),
        data={"username": "officer.a", "password": "correct horse"},
    ),
    Row("web-officer-inbox", "GET /app/officer", "GET", "/app/officer", page_for_officers()),
    Row(
        "web-officer-show-causes", "GET /app/officer/show-causes", "GET", "/app/officer/show-causes",
        page_for_officers(),
    ),
    Row("web-officer-notices", "GET /app/officer/notices", "GET", "/app/officer/notices", page_for_officers()),
    Row(
        "web-officer-case-a", "GET /app/officer/grievances/{number}", "GET", f"/app/officer/grievances/{CASE_A}",
        page_for_officers(officer_b=404, dm_b=404),
    ),
    Row(
        # The review page shows /v1's answer: a DM their district, the CS cell the state; a secretary must name their
        # department (the page's filter), other officers get /v1's 403 on the page.
        "web-officer-review", "GET /app/officer/review", "GET", "/app/officer/review",
        page_for_officers(officer_a=403, officer_b=403, secretary=403),
    ),
    Row(
        "web-officer-review-xlsx", "GET /app/officer/review/pending-by-age", "GET",
        "/app/officer/review/pending-by-age", page_for_officers(officer_a=403, officer_b=403, secretary=403),
        params={"by": "officer", "format": "xlsx"}, check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        # M1, M2, H4: the weekly review pages, each /v1's answer in the reviewer's remit.
        "web-officer-review-weekly", "GET /app/officer/review/weekly", "GET", "/app/officer/review/weekly",
        page_for_officers(officer_a=403, officer_b=403, secretary=403),
    ),
    Row(
        "web-officer-review-long-pending", "GET /app/officer/review/long-pending", "GET",
        "/app/officer/review/long-pending", page_for_officers(officer_a=403, officer_b=403, secretary=403),
    ),
    Row(
        "web-officer-review-categories", "GET /app/officer/review/categories", "GET",
        "/app/officer/review/categories", page_for_officers(officer_a=403, officer_b=403),
        params={"department_code": "REVENUE"},
    ),
    Row(
        "web-officer-review-download", "GET /app/officer/review/download/{report}", "GET",
        "/app/officer/review/download/weekly", page_for_officers(officer_a=403, officer_b=403, secretary=403),
        params={"format": "xlsx"}, check=lambda role, response, rig: an_xlsx(response),
    ),
    Row(
        # Issue 12: the public pages, the same for everyone (they call /v1 without the visitor's token).
        "web-public-league", "GET /app/public/league", "GET", "/app/public/league", everyone(200),
        params={"district_code": "PAT", "month": "2026-11"},
    ),
    Row(
        "web-public-notice-board", "GET /app/public/offices/{office_id}/notice-board", "GET",
        "/app/public/offices/OFF-PAT-COLLECTORATE/notice-board", everyone(200),
    ),
    Row(
        # The home page's form: on to the office's board (a redirect, not to sign in).
        "web-public-find-board", "GET /app/public/notice-board", "GET", "/app/public/notice-board", everyone(303),
        params={"office_id": "OFF-PAT-COLLECTORATE"},
    ),
    Row(
        "web-officer-act", "POST /app/officer/grievances/{number}/acts/{act}", "POST",
        f"/app/officer/grievances/{CASE_D}/acts/report", everyone(403),
        data={"kind": "action_taken", "action_taken": "बिना CSRF के / without CSRF"},
    ),
    Row(
        "web-officer-mark-read", "POST /app/officer/notices/{notice_id}/read", "POST",
        f"/app/officer/notices/{NOTICE_L1}/read", everyone(403), data={},
    ),
    # The DM's, the secretary's and the CS cell's pages: shown to the roles and delegated powers their /v1 routes
    # admit (a 403 page for the rest, without asking /v1); their forms refused without CSRF.
    Row("web-dm", "GET /app/officer/dm", "GET", "/app/officer/dm", page_for_officers(officer_a=403, officer_b=403)),
    Row(
        "web-dm-transfers", "GET /app/officer/dm/transfers", "GET", "/app/officer/dm/transfers",
        page_for_officers(officer_a=403, officer_b=403, secretary=403, osd_cs=403),
    ),
    Row(
        "web-dm-registrations", "GET /app/officer/dm/registrations", "GET", "/app/officer/dm/registrations",
        page_for_officers(officer_a=403, officer_b=403, secretary=403, osd_cs=403),
    ),
    Row(
        "web-dm-delegations", "GET /app/officer/dm/delegations", "GET", "/app/officer/dm/delegations",
        page_for_officers(officer_a=403, officer_b=403, osd_cs=403),
    ),
    Row(
        "web-dm-show-causes", "GET /app/officer/dm/show-causes", "GET", "/app/officer/dm/show-causes",
        page_for_officers(officer_a=403, officer_b=403, secretary=403, osd_cs=403),
    ),
    Row(
        "web-dm-breaches", "GET /app/officer/dm/breaches", "GET", "/app/officer/dm/breaches",
        page_for_officers(officer_a=403, officer_b=403),
    ),
    Row(
        "web-categories", "GET /app/officer/categories", "GET", "/app/officer/categories",
        page_for_officers(officer_a=403, officer_b=403, dm_a=403, dm_b=403), params={"department_code": "REVENUE"},
    ),
    Row(
        "web-cell", "GET /app/officer/cell", "GET", "/app/officer/cell",
        page_for_officers(officer_a=403, officer_b=403, dm_a=403, dm_b=403, secretary=403),
    ),
    Row(
        "web-dm-decide-transfer", "POST /app/officer/dm/transfers/{transfer_id}/decision", "POST",
        "/app/officer/dm/transfers/tr-pat-1/decision", everyone(403), data={"approve": "yes"},
    ),
    Row(
        "web-dm-decide-registration", "POST /app/officer/dm/registrations/{registration_id}/decision", "POST",
        "/app/officer/dm/registrations/reg-pat-1/decision", everyone(403), data={"approve": "yes"},
    ),
    Row(
        "web-dm-delegate", "POST /app/officer/dm/delegations", "POST", "/app/officer/dm/delegations", everyone(403),
        data={"delegate_account_id": "acct-nodal-pat", "powers": "registrations.decide"},
    ),
    Row(
        "web-dm-revoke", "POST /app/officer/dm/delegations/revoke", "POST", "/app/officer/dm/delegations/revoke",
        everyone(403), data={"delegation_id": "del-dm-a"},
    ),
    Row(
        "web-dm-review-reply", "POST /app/officer/dm/show-causes/{number}/{notice_id}/{act}", "POST",
        f"/app/officer/dm/show-causes/{CASE_E}/{NOTICE_D}/recommendation", everyone(403),
        data={"recommendation": "बिना CSRF के / without CSRF"},
    ),
    Row(
        "web-categories-new", "POST /app/officer/categories/new", "POST", "/app/officer/categories/new",
        everyone(403), params={"department_code": "REVENUE"},
        data={"code": "REV-NEW", "name.hi": "नई", "name.en": "New"},
    ),
    Row(
        "web-categories-change", "POST /app/officer/categories/{code}/{change}", "POST",
        "/app/officer/categories/REVENUE_OLD/retire", everyone(403), params={"department_code": "REVENUE"}, data={},
    ),
    Row(
        "web-cell-assign", "POST /app/officer/cell/{number}/assignment", "POST",
        f"/app/officer/cell/{CASE_E}/assignment", everyone(403), data={"note": "बिना CSRF के / without CSRF"},
    ),
    Row(
        "web-recourse", "POST /app/grievances/{number}/recourse/{act}", "POST",
        f"/app/grievances/{CASE_A}/recourse/feedback", everyone(403), data={"rating": "5", "resolved": "yes"},
    ),
]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", WEB_ROWS, ids=[row.id for row in WEB_ROWS])
async def test_every_web_page_against_every_role(matrix_rig: Rig, row: Row, role: str) -> None:
    # A browser of its own per request: the session is the cookie, and nothing carries over to the next row.
    cookies = {} if role == ANONYMOUS else {"nv_access": token_for(role)}
    filed_before, acted_before = len(matrix_rig.intake.requests), len(matrix_rig.sla.acts)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=matrix_rig.app), base_url="http://gateway.test", cookies=cookies
    ) as browser:
        response = await browser.request(row.method, row.path, params=row.params, data=row.data)

    expected = row.expect[role]
    assert response.status_code == expected, f"{row.id} as {role}: {response.text[:500]}"
    if expected == SIGN_IN and row.id not in ("web-lang", "web-public-find-board"):
        sign_in = "/app/officer/signin" if row.path.startswith("/app/officer") else "/app/signin"
        back = row.path + (f"?{urlencode(row.params)}" if row.params else "")  # the query comes back too
        assert response.headers["location"] == f"{sign_in}?next={quote(back, safe='')}"
    elif row.check is not None and expected == 200:
        row.check(role, response, matrix_rig)
    elif expected != SIGN_IN:
        assert response.headers["content-type"].startswith("text/html"), row.id
        if expected >= 400:
            # A page in the visitor's language saying why, never a problem+json or a traceback.
            assert f'data-status="{expected}"' in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert len(matrix_rig.intake.requests) == filed_before, "a page without CSRF filed nothing"
    assert len(matrix_rig.sla.acts) == acted_before, "a page without CSRF acted on nothing"


def test_the_web_matrix_covers_every_page(matrix_rig: Rig) -> None:
    pages = {
        f"{method} {route.path}"
        for route in api_routes(matrix_rig.app)
        if route.path == "/app" or route.path.startswith("/app/")
        for method in route.methods
    }

    assert pages == {row.route for row in WEB_ROWS}
