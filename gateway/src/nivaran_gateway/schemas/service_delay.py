"""Service-delay complaints (S4, H1, H2): the REST body of the designated officer's interim reply."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.acts import ATTACHMENTS_DOC, LongText
from nivaran_gateway.schemas.common import InputModel, Text
from nivaran_gateway.schemas.grievances import ServiceApplicationIn


class InterimReplyIn(InputModel):
    """H2: the designated officer called the citizen on `called_on`, helped them apply through the proper channel
    (`application`), and replies."""

    reply: Text = LongText
    called_on: date
    application: ServiceApplicationIn
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)

    def to_proto(self) -> sla_pb2.InterimReply:
        """The sla act."""
        return sla_pb2.InterimReply(
            reply=self.reply,
            called_on=self.called_on.isoformat(),
            application_number=self.application.application_number,
            applied_on=self.application.applied_on.isoformat(),
            application_status=self.application.status,
            attachment_ids=self.attachment_ids,
        )
