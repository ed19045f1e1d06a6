"""Department clients: a department's own system, with credentials confined to its department and scopes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from nivaran.identity.v1 import identity_pb2
from nivaran_gateway.schemas.common import InputModel, Text, timestamp


class ClientScope(StrEnum):
    """What a department client may call; each is the scope a service's door grants (identity keeps the list)."""

    FILE_GRIEVANCES = "grievances.file"
    READ_GRIEVANCES = "grievances.read"
    READ_POLICIES = "policies.read"
    READ_MASTER_DATA = "masterdata.read"


class ServiceClientIn(InputModel):
    """A new department client. A STATE_ADMIN may name any department, a DEPT_ADMIN only their own."""

    name: Text = Field(min_length=1, max_length=200, examples=["PDS ration-card system"])
    department_code: Text = Field(min_length=1, max_length=32, examples=["FOOD"])
    scopes: list[ClientScope] = Field(
        min_length=1,
        max_length=len(ClientScope),
        examples=[["grievances.file", "grievances.read"]],
        description="grievances.file and grievances.read (intake), policies.read (sla), masterdata.read (routing)",
    )

    def to_proto(self) -> identity_pb2.CreateServiceClientRequest:
        """The identity request (without the actor, which the route adds)."""
        return identity_pb2.CreateServiceClientRequest(
            name=self.name, department_code=self.department_code, scopes=[scope.value for scope in self.scopes]
        )


class ServiceClientView(BaseModel):
    """A department client (never its secret)."""

    id: str = Field(description="the client id the system presents to IdentityService/IssueClientToken")
    name: str
    department_code: str
    scopes: list[str]
    active: bool
    created_by_account_id: str
    created_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_by_account_id: str | None = None

    @classmethod
    def from_proto(cls, client: identity_pb2.ServiceClient) -> ServiceClientView:
        """Convert from the proto."""
        return cls(
            id=client.id,
            name=client.name,
            department_code=client.department_code,
            scopes=list(client.scopes),
            active=client.active,
            created_by_account_id=client.created_by_account_id,
            created_at=timestamp(client, "created_at"),
            disabled_at=timestamp(client, "disabled_at"),
            disabled_by_account_id=client.disabled_by_account_id or None,
        )


class CreatedServiceClientView(BaseModel):
    """A new client and its secret. The secret is shown in this answer only: identity keeps just its hash."""

    client: ServiceClientView
    client_secret: str = Field(description="shown once; store it in the department system's secret store")

    @classmethod
    def from_proto(cls, created: identity_pb2.CreatedServiceClient) -> CreatedServiceClientView:
        """Convert from the proto."""
        return cls(client=ServiceClientView.from_proto(created.client), client_secret=created.client_secret)


class ServiceClientList(BaseModel):
    """Department clients, oldest first."""

    clients: list[ServiceClientView]
