"""S9 / S11 show-cause replies and the S18 review of a reply: the DM's recommendation and the Commissioner's act."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import PERMISSION_DENIED, Act
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.domain import (
        UPDATE_RECORD_RECOMMENDATION,
        UPDATE_REPLY_SHOW_CAUSE,
        Localized,
        RecommendationInput,
        RecommendationRecord,
        ReplyRecord,
        ReplyShowCauseInput,
        RoleInput,
        ShowCauseNotice,
    )
    from nivaran_sla.lifecycle_base import LifecycleBase
    from nivaran_sla.lifecycle_notices import (
        officer_notice,
    )
    from nivaran_sla.policy import (
        Event,
    )


class ShowCauseActs(LifecycleBase):
    """The lifecycle's Updates on a show-cause notice."""

    @workflow.update(name=UPDATE_REPLY_SHOW_CAUSE)
    async def reply_show_cause(self, request: ReplyShowCauseInput) -> ShowCauseNotice:
        """S9 / S11: the officer answers a show-cause notice; the DM's 1-day review clock starts (S18)."""
        replied_at = request.replied_at or workflow.now()
        if request.caller is not None:
            await self._resolve_reviewers()
        notice: ShowCauseNotice = await self.activity(
            LifecycleActivities.record_show_cause_reply, ReplyRecord(request.notice_id, request.reply, replied_at)
        )
        self._s.show_causes[notice.id] = notice
        payload: dict[str, Any] = {"notice_id": notice.id, "number": notice.number}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        await self._transition(
            "show_cause_replied",
            Localized(
                en=f"Reply to show-cause notice {notice.number} submitted",
                hi=f"कारण पृच्छा {notice.number} का उत्तर समर्पित",
            ),
            request.replied_by,
            payload=payload,
            key_suffix=notice.id,
        )
        await self.on_event(Event.SHOW_CAUSE_REPLIED, replied_at)
        if request.caller is not None and self._s.dm_position_id:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.dm_position_id,
                    "sla_notice",
                    f"{notice.id}:replied",
                    Localized(
                        en=f"Reply to show-cause notice {notice.number}", hi=f"कारण पृच्छा {notice.number} का उत्तर"
                    ),
                    Localized(
                        en="Review it and recommend action within 1 day (S18).",
                        hi="1 दिन में समीक्षा कर कार्रवाई की अनुशंसा करें (S18)।",
                    ),
                    "S18",
                    kind="show_cause_reply",
                )
            )
        return notice

    @reply_show_cause.validator
    def validate_reply_show_cause(self, request: ReplyShowCauseInput) -> None:
        notice = self._s.show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case / इस मामले में ऐसी कारण पृच्छा नहीं")
        if notice.replied_at is not None:
            raise ValueError("the notice is already answered / कारण पृच्छा का उत्तर दिया जा चुका है")
        self._require_text("reply", request.reply, 10)
        self._authorize(Act.SHOW_CAUSE_REPLY, request.caller, request.notice_id)

    async def _resolve_reviewers(self) -> None:
        """S18: the DM above the case and the Commissioner above the DM, who review a show-cause reply."""
        if self._s.dm_position_id:
            return
        dm = await self.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, "DM"))
        commissioner = await self.activity(
            LifecycleActivities.resolve_role, RoleInput(dm.position_id if dm else self._s.position_id, "COMMISSIONER")
        )
        self._s.dm_position_id = dm.position_id if dm is not None else ""
        self._s.commissioner_position_id = commissioner.position_id if commissioner is not None else ""

    @workflow.update(name=UPDATE_RECORD_RECOMMENDATION)
    async def record_recommendation(self, request: RecommendationInput) -> ShowCauseNotice:
        """S18: the DM recommends action on a reply within 1 day; the Commissioner acts or forwards within 1 day."""
        if request.caller is not None:
            await self._resolve_reviewers()
            act = Act.RECOMMENDATION if request.by_role == "DM" else Act.COMMISSIONER_ACTION
            self._authorize(act, request.caller, request.notice_id)
        notice = self._s.show_causes[request.notice_id]
        if request.by_role == "DM":
            notice = await self.activity(
                LifecycleActivities.record_recommendation,
                RecommendationRecord(request.notice_id, request.recommendation, workflow.now()),
            )
            self._s.show_causes[notice.id] = notice
        event = Event.RECOMMENDED if request.by_role == "DM" else Event.COMMISSIONER_ACTED
        payload: dict[str, Any] = {"notice_id": notice.id, "recommendation": request.recommendation}
        if request.decision:
            payload["decision"] = request.decision
        await self._transition(
            event.value,
            Localized(
                en=f"{request.by_role}: {request.recommendation}", hi=f"{request.by_role}: {request.recommendation}"
            ),
            request.by_account_id,
            role=request.by_role,
            payload=payload,
            key_suffix=notice.id,
        )
        await self.on_event(event, workflow.now())
        if request.caller is not None and request.by_role == "DM" and self._s.commissioner_position_id:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.commissioner_position_id,
                    "sla_notice",
                    f"{notice.id}:recommended",
                    Localized(
                        en="The DM's recommendation on a show-cause reply", hi="कारण पृच्छा के उत्तर पर जिलाधिकारी की अनुशंसा"
                    ),
                    Localized(en=request.recommendation, hi=request.recommendation),
                    "S18",
                    kind="recommendation",
                )
            )
        if request.by_role == "COMMISSIONER":
            self._s.commissioner_acted.add(notice.id)
        return notice

    @record_recommendation.validator
    def validate_recommendation(self, request: RecommendationInput) -> None:
        notice = self._s.show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case")
        if request.by_role not in {"DM", "COMMISSIONER"}:
            raise ValueError("by_role: DM or COMMISSIONER")
        if notice.replied_at is None:
            raise ValueError("the officer has not replied yet / पदाधिकारी का उत्तर अपेक्षित")
        if request.by_role == "DM" and notice.recommended_at is not None:
            raise ValueError("the DM already recommended / अनुशंसा पहले ही की जा चुकी है")
        if request.caller is not None and request.by_role == "COMMISSIONER":
            if notice.recommended_at is None:
                raise ValueError("the DM has not recommended yet (S18) / जिलाधिकारी की अनुशंसा अपेक्षित")
            if notice.id in self._s.commissioner_acted:
                raise ValueError("the Commissioner already acted on it / आयुक्त पहले ही कार्रवाई कर चुके हैं")
            if request.decision not in {"act", "forward"}:
                raise ValueError("decision: act or forward / कार्रवाई या अग्रसारण")
        if request.caller is not None and request.caller.kind != "officer":
            raise ApplicationError(
                "only an officer may do this / केवल पदाधिकारी", type=PERMISSION_DENIED, non_retryable=True
            )
        self._require_text("recommendation", request.recommendation, 10)
