"""Sahyog camps (S1): a paper application the camp took (the case's `camp_received_on`) is uploaded the same day or
the next working day, and disposed of within 30 days of its receipt, not of its upload.

- Receipt: the clocks that run from registration start at the end of the day the camp took it (India), or at the
  upload if that came first the same day, so the camp track's 30 days count from receipt.
- Upload: the policy's `camp_upload` (sahyog_camp v2: P1D on working days, from the end of the day of receipt). An
  upload after it is recorded at once as a breach of S1, on the timeline, and the DM is told; the case runs on.

Runs in the sandbox and is replayed: only deterministic workflow APIs. Cases filed before camp_received_on existed
carry none, so their histories take no new step.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nivaran_common.timeutil import IST, as_utc
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.domain import BreachRecord, Localized, RoleInput
    from nivaran_sla.lifecycle_base import EFFECT_FAILED, LifecycleBase
    from nivaran_sla.lifecycle_effects import system_transition
    from nivaran_sla.lifecycle_notices import officer_notice


def end_of_day(day: str) -> datetime:
    """The last moment of a day in India, in UTC."""
    return as_utc(datetime.combine(date.fromisoformat(day), time.max, tzinfo=IST) - timedelta(microseconds=999))


class CampUploadCheck(LifecycleBase):
    """The S1 receipt and upload of a paper application a camp took."""

    def _receipt(self, filed_at: datetime) -> datetime:
        """When the clocks that run from registration start: the camp's receipt, if it took the application."""
        received_on = self._s.case.camp_received_on
        return min(end_of_day(received_on), filed_at) if received_on else filed_at

    async def _check_camp_upload(self, filed_at: datetime) -> None:
        """S1: an upload later than the policy's camp_upload time after the day of receipt is a breach."""
        policy, case = self._s.policy, self._s.case
        if policy is None or policy.camp_upload is None or not case.camp_received_on:
            return
        rule = policy.camp_upload
        due = await self._due(end_of_day(case.camp_received_on), rule.within, rule.calendar)
        if filed_at <= due:
            return
        key = f"{workflow.info().workflow_id}:camp_upload_late"
        details = {
            "clock": "camp_upload",
            "received_on": case.camp_received_on,
            "due_by": due.isoformat(),
            "uploaded_at": filed_at.isoformat(),
        }
        try:
            breach = await self.activity(
                LifecycleActivities.record_breach,
                BreachRecord(
                    idempotency_key=key,
                    grievance_id=case.grievance_id,
                    registration_number=case.registration_number,
                    position_id=self._s.position_id,
                    district_code=case.district_code,
                    rule=rule.rule,
                    recorded_at=workflow.now(),
                    details=details,
                ),
            )
        except EFFECT_FAILED:
            return
        received, by = case.camp_received_on, due.date().isoformat()
        words = Localized(
            en=f"Uploaded late: taken at the camp on {received}, due by {by} ({rule.rule})",
            hi=f"विलंब से अपलोड: शिविर में {received} को प्राप्त, {by} तक देय ({rule.rule})",
        )
        await self.record(
            system_transition(
                case, key, "breach_recorded", words, {"breach_id": breach.id, **details, "rule": rule.rule}
            )
        )
        try:
            senior = await self.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, rule.notify))
        except EFFECT_FAILED:
            senior = None
        if senior is not None:
            await self.send(
                officer_notice(
                    case, senior.position_id, "sla_notice", key, words, words, rule.rule, kind="camp_upload_late"
                )
            )
