"""Documents: the PDF notices of a case, and their public verification.

- `GET /v1/grievances/{n}/documents` and `…/documents/{id}`: a case's documents (Form-2, show-cause notices, the
  interim order, Form-3, Form-4) and their PDFs, scoped like the case reads (a case outside the caller's scope answers
  404, like an unknown one); the complainant sees what was sent to the complainant, officers every document.
- `GET /v1/documents/{id}/verification`: public, what each document's QR code opens: whether Nivaran issued it, what
  it is, its registration number, when, and its content hash, as a bilingual page for a browser and JSON otherwise.
  `POST` the same URL with a PDF to learn whether the file is the one issued, byte for byte.
- `POST /v1/documents/preview`: a state admin renders a template version with sample facts (stored nowhere).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from google.protobuf import struct_pb2

from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import CITIZEN, OFFICER, POWER_READ_DISTRICT, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.downloads import download_headers
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import UNSUPPORTED_MEDIA_TYPE, ProblemError, problem_responses
from nivaran_gateway.routes.grievances import RegistrationNumber, check_registration_number
from nivaran_gateway.schemas.documents import DocumentList, DocumentView, PreviewIn, VerificationView

router = APIRouter(tags=["documents"], route_class=JsonBodyRoute)
# The one route whose body is a PDF, not JSON.
files_router = APIRouter(tags=["documents"])

Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]
Anyone = Annotated[Principal | None, Depends(public("public_read"))]
StateAdmin = Annotated[Principal, Depends(requires("STATE_ADMIN"))]
DocumentId = Annotated[
    str,
    Path(
        description="The document's number, printed on it and in its QR code",
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    ),
]
PDF_RESPONSE = {"description": "The PDF", "content": {"application/pdf": {}}}


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content=content, media_type="application/pdf", headers=download_headers(filename))


@router.get(
    "/v1/grievances/{registration_number}/documents",
    response_model=DocumentList,
    summary="A case's documents (Form-2, show-cause notices, interim order, Form-3, Form-4)",
    description="Oldest first. Only a case in the caller's scope (see the case reads); any other answers 404. The "
    "complainant sees the documents sent to the complainant; officers also see the show-cause notices.",
    responses=problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
)
async def list_documents(
    registration_number: RegistrationNumber,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> DocumentList:
    """The case's documents."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    answer = await clients.notify.ListDocuments(
        notify_pb2.ListDocumentsRequest(registration_number=registration_number), timeout=timeout
    )
    return DocumentList(
        registration_number=registration_number,
        documents=[DocumentView.from_proto(d) for d in answer.documents],
    )


@router.get(
    "/v1/grievances/{registration_number}/documents/{document_id}",
    response_class=Response,
    summary="Download a document's PDF",
    description="Hindi and English pages, each with the registration number, the document's number, its QR code and "
    "verification URL. The same scope as the list; a document of another case answers 404.",
    responses={200: PDF_RESPONSE, **problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503)},
)
async def download_document(
    registration_number: RegistrationNumber,
    document_id: DocumentId,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> Response:
    """The PDF."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    answer = await clients.notify.GetDocumentContent(
        notify_pb2.GetDocumentContentRequest(registration_number=registration_number, document_id=document_id),
        timeout=timeout,
    )
    return _pdf(answer.content, answer.filename)


def _verification_page(view: VerificationView) -> str:
    """The bilingual page a phone shows when the QR code is scanned."""
    document = view.document
    issued = document.issued_at.isoformat(timespec="minutes") if document.issued_at else ""
    rows = [
        ("दस्तावेज़ / Document", f"{document.title.hi} / {document.title.en}"),
        ("पंजीयन संख्या / Registration number", document.registration_number),
        ("जारी / Issued (UTC)", issued),
        ("संबंधित / Concerns", f"{view.concerns.hi} / {view.concerns.en}".strip(" /")),
        ("नियम / Rules", document.rules),
        ("विषय-वस्तु का SHA-256 / SHA-256 of the content", document.content_sha256),
        ("PDF का SHA-256 / SHA-256 of the PDF", document.pdf_sha256 or "—"),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (
        '<!DOCTYPE html><html lang="hi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>दस्तावेज़ सत्यापन / Document verification</title>"
        "<style>body{font-family:sans-serif;margin:1rem;max-width:40rem;color:#111;line-height:1.5}"
        "th{text-align:left;vertical-align:top;padding:.3rem .6rem .3rem 0}td{padding:.3rem 0;word-break:break-all}"
        ".ok{color:#0b5d1e;font-weight:bold}</style></head><body>"
        '<p class="ok">✔ यह दस्तावेज़ निवारण द्वारा जारी किया गया है। / This document was issued by Nivaran.</p>'
        f"<table>{table}</table>"
        "<p>जाँचें कि आपके पास की प्रति पर यही संख्या, तिथि और SHA-256 छपे हैं। / "
        "Check that your copy shows the same number, date and SHA-256.</p></body></html>"
    )


@router.get(
    "/v1/documents/{document_id}/verification",
    response_model=VerificationView,
    summary="Is this document genuine? (public; the QR code's URL)",
    description="What Nivaran issued under this number: the kind, registration number, date, the post it concerns "
    "(never a person's name) and its content hash. A browser (Accept: text/html) gets a bilingual page. An unknown "
    "number: 404.",
    responses={
        200: {"content": {"text/html": {}}},
        **problem_responses(404, 422, 429, 500, 502, 503),
    },
)
async def verify_document(
    request: Request, document_id: DocumentId, _caller: Anyone, clients: Clients, settings: Settings
) -> Response | VerificationView:
    """The document's public facts."""
    answer = await clients.notify.VerifyDocument(
        notify_pb2.VerifyDocumentRequest(document_id=document_id), timeout=settings.grpc_timeout_seconds
    )
    view = VerificationView.from_proto(answer)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return HTMLResponse(_verification_page(view))
    return view


@files_router.post(
    "/v1/documents/{document_id}/verification",
    response_model=VerificationView,
    summary="Is this PDF the document as issued? (public)",
    description="The body is the PDF (Content-Type: application/pdf, within the gateway's body limit); "
    "`file_matches` says whether it is the issued file byte for byte.",
    responses=problem_responses(400, 404, 413, 415, 422, 429, 500, 502, 503),
    openapi_extra={"requestBody": {"content": {"application/pdf": {"schema": {"type": "string"}}}, "required": True}},
)
async def verify_file(
    request: Request, document_id: DocumentId, _caller: Anyone, clients: Clients, settings: Settings
) -> VerificationView:
    """Compare a file with the issued PDF."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/pdf":
        raise ProblemError.field(UNSUPPORTED_MEDIA_TYPE, "body", "must be the PDF, sent as application/pdf")
    content = await request.body()
    answer = await clients.notify.VerifyDocument(
        notify_pb2.VerifyDocumentRequest(document_id=document_id, content=content),
        timeout=settings.grpc_timeout_seconds,
    )
    return VerificationView.from_proto(answer)


@router.post(
    "/v1/documents/preview",
    response_class=Response,
    summary="Render a document template with sample facts (a state admin's review)",
    description="`kind` is one of form2, show_cause, interim_order, form3, form4; `language` the one printed first; "
    "`params` the facts the template prints (registration_number, headline_en, detail_hi, ...). Nothing is stored.",
    responses={200: PDF_RESPONSE, **problem_responses(400, 401, 403, 415, 422, 429, 500, 502, 503)},
)
async def preview_document(body: PreviewIn, _admin: StateAdmin, clients: Clients, settings: Settings) -> Response:
    """RenderPdf."""
    params = struct_pb2.Struct()
    params.update(body.struct())
    answer = await clients.notify.RenderPdf(
        notify_pb2.RenderPdfRequest(kind=body.kind, language=body.language, params=params),
        timeout=settings.grpc_timeout_seconds,
    )
    return _pdf(answer.content, answer.filename)
