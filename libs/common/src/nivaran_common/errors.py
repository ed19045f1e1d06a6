"""Domain errors, and their one mapping to gRPC status with google.rpc field violations (and back)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: `field` is a dotted path such as `complainant.aadhaar`."""

    field: str
    description: str


@dataclass
class DomainError(Exception):
    """Base of every error a use case raises on purpose. Handlers turn these into gRPC statuses."""

    message: str
    violations: list[FieldViolation] = field(default_factory=list)

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT

    @classmethod
    def of(cls, violations: list[FieldViolation]) -> InvalidArgument:
        """Build one error naming every violation."""
        names = ", ".join(v.field for v in violations)
        return cls(f"invalid fields: {names}", violations)

    @classmethod
    def field(cls, name: str, description: str) -> InvalidArgument:
        """Build an error about a single field."""
        return cls.of([FieldViolation(name, description)])


@dataclass
class NotFound(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.NOT_FOUND


@dataclass
class AlreadyExists(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.ALREADY_EXISTS


@dataclass
class FailedPrecondition(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION


@dataclass
class PermissionDenied(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED


@dataclass
class Unauthenticated(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.UNAUTHENTICATED


@dataclass
class ResourceExhausted(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.RESOURCE_EXHAUSTED


@dataclass
class Unavailable(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE


def to_rpc_status(error: DomainError) -> grpc.Status:
    """Build a rich gRPC status; field violations travel as a google.rpc.BadRequest detail."""
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        status.details.add().Pack(bad_request)
    return rpc_status.to_status(status)


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[FieldViolation]:
    """Read the field violations a server attached to a failed call (empty when there are none)."""
    status = rpc_status.from_call(error)
    if status is None:
        return []
    found: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return found


INTERNAL_CODE = code_pb2.INTERNAL
