"""REST /v1/grievances/{registration_number}/attachments: upload, list and download a case's files.

Scoped exactly like the case reads (jurisdiction.py): a case outside the caller's scope answers 404, like an unknown
one. Uploads come from the case's complainant (citizen token) or an officer whose scope covers the case. Intake checks
the file (PDF, JPEG or PNG by its magic bytes, at most its configured size) and stores it; its field violations
become 413 (too large), 415 (not an allowed type) or 422 problems naming `file`.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import JSONResponse, Response

from nivaran.intake.v1 import intake_pb2
from nivaran_common.auth import CITIZEN, OFFICER, POWER_READ_DISTRICT, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_common.errors import field_violations
from nivaran_common.logging import get_logger
from nivaran_gateway import idempotency
from nivaran_gateway.access import requires
from nivaran_gateway.deps import Clients, Directory, IdempotencyKey, Settings
from nivaran_gateway.downloads import download_headers
from nivaran_gateway.error_handlers import grpc_problem
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import (
    BODY_TOO_LARGE,
    FORBIDDEN,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    FieldError,
    ProblemError,
    problem_responses,
)
from nivaran_gateway.redaction import redact_actor
from nivaran_gateway.routes.grievances import RegistrationNumber, check_registration_number
from nivaran_gateway.schemas.attachments import (
    CITIZEN_PURPOSES,
    OFFICER_PURPOSES,
    AttachmentList,
    AttachmentView,
    Purpose,
)

log = get_logger(__name__)

router = APIRouter(prefix="/v1/grievances", tags=["attachments"])

Uploader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER))]
Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]
AttachmentId = Annotated[
    str,
    Path(
        description="The attachment's id, from the list or the upload's answer",
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    ),
]

# How intake names the parts of an upload, and how the form names them here.
_FIELD_NAMES = {
    "content": "file",
    "content_type": "file",
    "file_name": "file",
    "purpose": "purpose",
    "idempotency_key": idempotency.HEADER,
}
# Intake's wording for content over its size limit (nivaran_intake.attachments.TOO_LARGE_PREFIX).
_TOO_LARGE = "must be at most"


def _intake_key(principal: Principal, key: str | None) -> str:
    # Keys are per account, as for filings; without one the gateway sends its own so an RPC retry cannot upload twice.
    if key is None:
        return f"gw-{uuid.uuid4().hex}"
    return "att-" + hashlib.sha256(f"{principal.account_id}\n{key}".encode()).hexdigest()[:48]


def _upload_problem(exc: grpc.aio.AioRpcError) -> ProblemError:
    """Intake's verdict on an upload, as the form's fields: 413 too large, 415 not an allowed type, else 422."""
    code = exc.code()
    if code not in {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION}:
        return grpc_problem(exc)
    violations = field_violations(exc)
    errors = [FieldError(field=_FIELD_NAMES.get(v.field, v.field), detail=v.description) for v in violations]
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        problem = grpc_problem(exc)
        return ProblemError(problem.kind, problem.detail, errors=errors)
    if any(v.field == "content" and v.description.startswith(_TOO_LARGE) for v in violations):
        kind = BODY_TOO_LARGE
    elif any(v.field == "content_type" for v in violations):
        kind = UNSUPPORTED_MEDIA_TYPE
    else:
        kind = VALIDATION
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return ProblemError(kind, f"invalid fields: {names}", errors=errors)


@router.post(
    "/{registration_number}/attachments",
    status_code=201,
    response_model=AttachmentView,
    summary="Attach a file to a case",
    description="multipart/form-data with `file` (PDF, JPEG or PNG, checked by its content) and `purpose`. The "
    "case's complainant may attach `filing`, `citizen_response` or `other`; an officer whose scope covers the case "
    "`report`, `disposal`, `show_cause_reply` or `other`. With an Idempotency-Key a retry returns the first "
    "attachment. The whole request is capped by the gateway's body limit as well as by intake's file limit.",
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 500, 502, 503),
)
async def upload_attachment(
    registration_number: RegistrationNumber,
    principal: Uploader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    idempotency_key: IdempotencyKey,
    file: Annotated[UploadFile, File(description="the file: PDF, JPEG or PNG")],
    purpose: Annotated[Purpose, Form(description="why the file is attached")],
) -> JSONResponse:
    """Store the file with the case; 201 with its metadata and a Location to download it."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    allowed = CITIZEN_PURPOSES if principal.is_citizen else OFFICER_PURPOSES
    if purpose not in allowed:
        raise ProblemError.field(
            FORBIDDEN, "purpose", f"must be one of {', '.join(sorted(allowed))} for a {principal.kind}"
        )
    here = case.assignment.position_id
    actor = principal.actor(position_id=here if here in principal.positions else "")
    content = await file.read()
    try:
        added = await clients.intake.AddAttachment(
            intake_pb2.AddAttachmentRequest(
                grievance_id=case.id,
                file_name=file.filename or "",
                content_type=file.content_type or "",
                content=content,
                purpose=purpose.value,
                actor=actor,
                idempotency_key=_intake_key(principal, idempotency_key),
            ),
            timeout=timeout,
        )
    except grpc.aio.AioRpcError as exc:
        raise _upload_problem(exc) from exc
    view = AttachmentView.from_proto(added, registration_number)
    log.info("attachment added", grievance_id=case.id, attachment_id=added.id, purpose=purpose.value)
    return JSONResponse(view.model_dump(mode="json"), status_code=201, headers={"Location": view.download_url})


@router.get(
    "/{registration_number}/attachments",
    response_model=AttachmentList,
    summary="The files attached to a case",
    description="Only a case in the caller's scope (see the case reads); any other answers 404.",
    responses=problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
)
async def list_attachments(
    registration_number: RegistrationNumber,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> AttachmentList:
    """The case's attachments, oldest first."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    answer = await clients.intake.ListAttachments(
        intake_pb2.ListAttachmentsRequest(grievance_id=case.id), timeout=timeout
    )
    attachments = list(answer.attachments)
    for attachment in attachments:
        redact_actor(principal, attachment.uploaded_by)
    return AttachmentList(
        registration_number=registration_number,
        attachments=[AttachmentView.from_proto(a, registration_number) for a in attachments],
    )


@router.get(
    "/{registration_number}/attachments/{attachment_id}",
    response_class=Response,
    summary="Download an attached file",
    description="The bytes, with Content-Type, Content-Disposition (the file name, UTF-8) and X-Content-SHA256. "
    "Only a case in the caller's scope; any other case, or an attachment of another case, answers 404.",
    responses={
        200: {
            "description": "The file",
            "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
            "headers": {"X-Content-SHA256": {"description": "hex SHA-256 of the body", "schema": {"type": "string"}}},
        },
        **problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
    },
)
async def download_attachment(
    registration_number: RegistrationNumber,
    attachment_id: AttachmentId,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> Response:
    """The attachment's bytes; never rendered inline, and never sniffed into another type."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    stored = await clients.intake.GetAttachmentContent(
        intake_pb2.GetAttachmentContentRequest(grievance_id=case.id, attachment_id=attachment_id), timeout=timeout
    )
    meta = stored.attachment
    return Response(
        content=stored.content,
        media_type=meta.content_type,
        headers={**download_headers(meta.file_name), "X-Content-SHA256": meta.sha256},
    )
