"""Every gRPC door of the real suite, tried as the issue's attacker did: each RPC of each service, called straight at
the service (not through the gateway) by every kind of caller, and the reads confined where the cases live.

A cell is "in" when the door let the call through (whatever the handler then answered: OK, INVALID_ARGUMENT for the
empty request, NOT_FOUND, ...), and "out" when the caller was refused: UNAVAILABLE (no TLS handshake), UNAUTHENTICATED
or PERMISSION_DENIED. The expected cells are written out below by hand, from the product's rules, not read from the
services' own rule tables, so a rule that drifts is caught.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from _suite import RunningSuite
from google.protobuf import message_factory

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common import pki
from nivaran_common.testing import workload_tls

DEV_FIXED_OTP = "123456"
PHONE = "9876500031"
OTHER_PHONE = "9876500032"
DM = ("dm.patna", "dev-dm-patna-2026")
POST_HOLDER = ("dso.patna", "dev-dso-patna-2026")  # L1 of Food & Civil Supplies, Patna
OTHER_DISTRICT = ("deo.nalanda", "dev-deo-nalanda-2026")
LOCATION = {"district_code": "PAT", "subdivision_code": "PAT-SADAR", "block_code": "PAT-SADAR-PHULWARI"}

SERVICES = {
    "identity": identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
    "intake": intake_pb2.DESCRIPTOR.services_by_name["IntakeService"],
    "notify": notify_pb2.DESCRIPTOR.services_by_name["NotifyService"],
    "routing": routing_pb2.DESCRIPTOR.services_by_name["RoutingService"],
    "sla": sla_pb2.DESCRIPTOR.services_by_name["SlaService"],
}

# Who gets in, per RPC, among the callers that come through the gateway's certificate with a person's token:
# c = citizen, o = officer of another district, p = officer holding the case's post, d = the DM.
PEOPLE = "copd"
OFFICERS = "opd"
NOBODY = ""
EXPECTED_PEOPLE: dict[str, str] = {
    # identity: logins and the key set are the gateway's own calls; the rest are the person's own acts.
    "identity.RequestOtp": PEOPLE, "identity.VerifyOtp": PEOPLE, "identity.PasswordLogin": PEOPLE,
    "identity.RefreshToken": PEOPLE, "identity.RevokeToken": PEOPLE, "identity.GetJwks": PEOPLE,
    "identity.GetAccount": PEOPLE, "identity.RegisterOfficer": PEOPLE,
    "identity.DecideRegistration": OFFICERS, "identity.ListRegistrations": OFFICERS,
    "identity.RelinquishCharge": OFFICERS, "identity.TakeCharge": OFFICERS,
    "identity.GetCurrentHolder": PEOPLE, "identity.ListPostings": PEOPLE,
    "identity.CreateDelegation": OFFICERS, "identity.RevokeDelegation": OFFICERS,
    "identity.ListDelegations": OFFICERS,
    "identity.DisableAccount": "d", "identity.ChangePassword": OFFICERS,
    # Department clients are an admin's business (no demo person here is one); the token exchange is theirs alone.
    "identity.CreateServiceClient": NOBODY, "identity.ListServiceClients": NOBODY,
    "identity.DisableServiceClient": NOBODY, "identity.IssueClientToken": NOBODY,
    # S16 / C2: a post holder's unmasked phone and email are notify's alone, for officers' notices; no person's.
    "identity.GetPostContact": NOBODY,
    # Open311 keys are a STATE_ADMIN's (no demo person here is one); checking a presented key is the gateway's own
    # call on every Open311 filing, whoever's token rides along.
    "identity.IssueOpen311Key": NOBODY, "identity.ListOpen311Keys": NOBODY, "identity.RevokeOpen311Key": NOBODY,
    "identity.VerifyOpen311Key": PEOPLE,
    # intake: the lifecycle alone records transitions; reads are confined by scope (tested below).
    "intake.FileGrievance": PEOPLE, "intake.GetGrievance": PEOPLE, "intake.ListGrievances": PEOPLE,
    "intake.GetTimeline": PEOPLE, "intake.RecordTransition": NOBODY, "intake.RecordTransitions": NOBODY,
    "intake.AddAttachment": PEOPLE,
    "intake.ListAttachments": PEOPLE, "intake.GetAttachmentContent": PEOPLE, "intake.GetDashboard": PEOPLE,
    "intake.GetPendingByAge": PEOPLE, "intake.GetRanking": PEOPLE, "intake.GetDailyReport": PEOPLE,
    "intake.GetWeeklyReport": PEOPLE, "intake.GetLongPending": PEOPLE, "intake.GetCategoryTrends": PEOPLE,
    # S1: the DM sets camps (intake checks the district against the token's); the list is public.
    "intake.CreateCamp": "d", "intake.ListCamps": PEOPLE,
    # B7 / M2: an office's notice board is public; the absences report is the DM's (intake checks the district).
    "intake.ListNoticeBoard": PEOPLE, "intake.ListHearingAbsences": "d",
    # C2 / B3: an inbound SMS comes through the gateway's webhook, which checks the aggregator's signature.
    "intake.ReceiveMessage": PEOPLE,
    # notify: the lifecycle sends, and the gateway answers an inbound SMS (its door is the workload's, whoever's token
    # rides along); a person reads their own notices.
    "notify.Send": PEOPLE, "notify.GetDeliveryStatus": NOBODY, "notify.ListNotices": PEOPLE,
    "notify.MarkNoticeRead": PEOPLE, "notify.ListTemplates": PEOPLE,
    # C2: the dead letters are a STATE_ADMIN's (no demo person is one); receipts come from the gateway's webhook.
    "notify.ListFailedDeliveries": NOBODY, "notify.RetryDelivery": NOBODY, "notify.RecordDeliveryReceipt": PEOPLE,
    # Documents: a case's are read by whom intake lets read the case (the gateway asks it first); verification is
    # public; a template preview is a STATE_ADMIN's.
    "notify.ListDocuments": PEOPLE, "notify.GetDocumentContent": PEOPLE, "notify.VerifyDocument": PEOPLE,
    "notify.RenderPdf": NOBODY,
    # routing: master data is public; a category is changed by officers (routing checks the department);
    # master data is imported by a state admin's tool only.
    "routing.ResolveL1": PEOPLE, "routing.ValidateLocation": PEOPLE, "routing.GetReportingChain": PEOPLE,
    "routing.GetPosition": PEOPLE, "routing.ListSubordinatePositions": PEOPLE, "routing.ListPositions": PEOPLE,
    "routing.ListDepartments": PEOPLE, "routing.ListCategories": PEOPLE, "routing.GetCategory": PEOPLE,
    "routing.ListAreas": PEOPLE, "routing.CreateCategory": OFFICERS, "routing.RenameCategory": OFFICERS,
    "routing.MergeCategories": OFFICERS, "routing.RetireCategory": OFFICERS, "routing.ImportMasterData": NOBODY,
    "routing.RequestTransfer": PEOPLE, "routing.DecideTransfer": PEOPLE, "routing.ListTransferQueue": PEOPLE,
    # B7: an office and its hearing day are public; routing lets only the office's officers or its DM change the day.
    "routing.GetOffice": PEOPLE, "routing.SetHearingDay": PEOPLE,
    # sla: charge handovers are identity's; a policy migration is a state admin's act.
    "sla.ListPolicies": PEOPLE, "sla.GetPolicy": PEOPLE, "sla.ComputeDeadline": PEOPLE,
    "sla.GetCaseClocks": PEOPLE, "sla.ListShowCauseNotices": PEOPLE, "sla.ListBreaches": PEOPLE,
    "sla.ApplyChargeHandover": NOBODY, "sla.ForwardCase": PEOPLE, "sla.TransferCase": PEOPLE,
    "sla.MigrateCasePolicy": NOBODY, "sla.ActOnCase": PEOPLE,
}  # fmt: skip

# The suite's own workloads, each calling on its own account (no token), get in only where the product needs them.
EXPECTED_WORKLOADS: dict[str, tuple[str, ...]] = {
    "intake.RecordTransition": ("sla-worker",),
    "intake.RecordTransitions": ("sla-worker",),
    "notify.Send": ("sla-worker",),
    "notify.GetDeliveryStatus": ("sla-worker",),
    "sla.ApplyChargeHandover": ("identity",),
    "routing.ResolveL1": ("intake",),
    "routing.ValidateLocation": ("intake",),
    # The WhatsApp conversation offers routing's categories and districts as numbered choices.
    "routing.ListCategories": ("intake",),
    "routing.ListAreas": ("intake",),
    "routing.RequestTransfer": ("sla-worker",),
    "intake.ListGrievances": ("sla",),
    "routing.GetOffice": ("sla-worker",),
    # Every door fetches identity's key set.
    "identity.GetJwks": ("intake", "sla", "notify"),
    "identity.GetPostContact": ("notify",),
    **{f"routing.{m}": ("sla-worker", "identity", "intake")
       for m in ("GetReportingChain", "GetPosition", "ListSubordinatePositions", "ListPositions")},
}  # fmt: skip
# The gateway on its own account (no token), at intake: filing (anyone may file at the public edge), inbound messages
# (the gateway has checked the provider's signature), and the public reads: camps, an office's notice board, and the
# counts of the public league table (issue 12: offices and counts, no person). Every read of a case stays a person's.
EXPECTED_GATEWAY_ALONE_AT_INTAKE = {
    "intake.FileGrievance", "intake.ReceiveMessage", "intake.ListCamps", "intake.ListNoticeBoard",
    "intake.GetRanking", "intake.GetPendingByAge",
}  # fmt: skip
# A department client (IT's, with the four scopes) gets in where a rule grants one of its scopes, and to its token
# exchange; nowhere else.
EXPECTED_CLIENT = {
    "identity.IssueClientToken",
    *(f"intake.{m}" for m in ("FileGrievance", "GetGrievance", "ListGrievances", "GetTimeline", "AddAttachment",
                              "ListAttachments", "GetAttachmentContent", "GetDashboard", "GetPendingByAge",
                              "GetRanking", "GetDailyReport", "GetWeeklyReport", "GetLongPending",
                              "GetCategoryTrends")),
    *(f"routing.{m}" for m in ("ListDepartments", "ListCategories", "GetCategory", "ListAreas", "GetOffice")),
    *(f"sla.{m}" for m in ("ListPolicies", "GetPolicy", "ComputeDeadline")),
}  # fmt: skip
CLIENT_SCOPES = ["grievances.file", "grievances.read", "masterdata.read", "policies.read"]
IT_ADMIN = ("it.admin", "dev-it-admin-2026")
STATE_ADMIN = ("state.admin", "dev-state-admin-2026")
REFUSED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


@dataclass
class Callers:
    suite: RunningSuite
    tokens: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    food_case: intake_pb2.Grievance | None = None
    channels: dict[tuple[str, str], grpc.aio.Channel] = field(default_factory=dict)
    client_id: str = ""
    client_secret: str = ""
    open311_key: str = ""

    def channel(self, service: str, workload: str) -> grpc.aio.Channel:
        """A cached mTLS channel to `service` presenting `workload`'s certificate (`-` for none at all)."""
        key = (service, workload)
        if key not in self.channels:
            target = f"127.0.0.1:{getattr(self.suite.ports, service)}"
            if workload == "-":
                self.channels[key] = grpc.aio.insecure_channel(target)
            elif workload == "rogue":
                credentials = workload_tls(self.suite.pki_dir / "rogue", "gateway").channel_credentials()
                self.channels[key] = grpc.aio.secure_channel(target, credentials)
            else:
                self.channels[key] = self.suite.channel(getattr(self.suite.ports, service), workload)
        return self.channels[key]

    async def call(
        self, service: str, method: str, request: Any, workload: str = "gateway", person: str = ""
    ) -> tuple[grpc.StatusCode, Any]:
        descriptor = SERVICES[service].methods_by_name[method]
        output = message_factory.GetMessageClass(descriptor.output_type)
        stub = self.channel(service, workload).unary_unary(
            f"/{SERVICES[service].full_name}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=output.FromString,
        )
        metadata = (("authorization", f"Bearer {self.tokens[person]}"),) if person else ()
        try:
            return grpc.StatusCode.OK, await stub(request, metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc


def empty_request(service: str, method: str) -> Any:
    return message_factory.GetMessageClass(SERVICES[service].methods_by_name[method].input_type)()


@pytest_asyncio.fixture(scope="module")
async def callers(shared_suite: RunningSuite) -> AsyncIterator[Callers]:
    for extra in ("stranger", "dept-it"):
        if not (shared_suite.pki_dir / f"{extra}.pem").exists():
            pki.issue_to(shared_suite.pki_dir, extra)
    pki.init(shared_suite.pki_dir / "rogue", ("gateway",))
    found = Callers(shared_suite)
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=30) as http:
        for name, phone in (("c", PHONE), ("c2", OTHER_PHONE)):
            assert (await http.post("/v1/auth/otp", json={"phone": phone})).status_code == 202
            verified = await http.post("/v1/auth/otp/verify", json={"phone": phone, "otp": DEV_FIXED_OTP})
            assert verified.status_code == 200, verified.text
            found.tokens[name] = verified.json()["access_token"]
            found.accounts[name] = verified.json()["account"]["id"]
        for name, (username, password) in (("o", OTHER_DISTRICT), ("p", POST_HOLDER), ("d", DM)):
            signed_in = await http.post("/v1/auth/login", json={"username": username, "password": password})
            assert signed_in.status_code == 200, signed_in.text
            found.tokens[name] = signed_in.json()["access_token"]
            found.accounts[name] = signed_in.json()["account"]["id"]
        admin = await http.post("/v1/auth/login", json={"username": IT_ADMIN[0], "password": IT_ADMIN[1]})
        assert admin.status_code == 200, admin.text
        made = await http.post(
            "/v1/service-clients",
            json={"name": f"IT helpdesk {uuid.uuid4().hex[:6]}", "department_code": "IT", "scopes": CLIENT_SCOPES},
            headers={"Authorization": f"Bearer {admin.json()['access_token']}"},
        )
        assert made.status_code == 201, made.text
        found.client_id, found.client_secret = made.json()["client"]["id"], made.json()["client_secret"]
        state_admin = await http.post("/v1/auth/login", json={"username": STATE_ADMIN[0], "password": STATE_ADMIN[1]})
        assert state_admin.status_code == 200, state_admin.text
        key = await http.post(
            "/v1/open311-keys",
            json={"integrator": f"doors test {uuid.uuid4().hex[:6]}"},
            headers={"Authorization": f"Bearer {state_admin.json()['access_token']}"},
        )
        assert key.status_code == 201, key.text
        found.open311_key = key.json()["api_key"]
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रीता कुमारी", "address": "फुलवारी शरीफ, पटना", "phone": PHONE},
                "description": "राशन दुकान से तीन महीने से राशन नहीं मिला (doors test)",
                "category_code": "FOOD-PDS-SUPPLY",
                "location": LOCATION,
                "channel": "web",
            },
            headers={"Authorization": f"Bearer {found.tokens['c']}", "Idempotency-Key": f"doors-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
    code, answer = await found.call(
        "intake",
        "GetGrievance",
        intake_pb2.GetGrievanceRequest(registration_number=filed.json()["registration_number"]),
        person="d",
    )
    assert code is grpc.StatusCode.OK, answer
    found.food_case = answer
    code, issued = await found.call(
        "identity",
        "IssueClientToken",
        identity_pb2.IssueClientTokenRequest(client_id=found.client_id, client_secret=found.client_secret),
        "dept-it",
    )
    assert code is grpc.StatusCode.OK, issued
    found.tokens["k"] = issued.access_token
    yield found
    for channel in found.channels.values():
        await channel.close()


async def test_grpc_authorization_matrix_every_rpc_by_every_kind_of_caller(callers: Callers) -> None:
    """Every RPC × {no credentials, a certificate of another CA, a stranger's certificate, the suite's workloads,
    citizen, officer of another district, officer of the post, DM, department client}: in or out, as EXPECTED_*
    say."""
    declared = {f"{service}.{m.name}" for service, d in SERVICES.items() for m in d.methods}
    assert declared == set(EXPECTED_PEOPLE), "every RPC of every service has a row in the matrix"
    wrong: list[str] = []
    for name in sorted(declared):
        service, method = name.split(".")
        request = empty_request(service, method)
        if name == "identity.IssueClientToken":
            # Real credentials, so that only the door can refuse it.
            request = identity_pb2.IssueClientTokenRequest(
                client_id=callers.client_id, client_secret=callers.client_secret
            )
        if name == "identity.VerifyOpen311Key":
            # A real key, so that only the door can refuse it (an unknown key is UNAUTHENTICATED).
            request = identity_pb2.VerifyOpen311KeyRequest(api_key=callers.open311_key)
        for workload, person, expect_in, label in (
            ("-", "", False, "no credentials"),
            ("rogue", "d", False, "another CA's certificate"),
            ("stranger", "d", False, "a workload of no rule, with the DM's token"),
            *(
                (w, "", w in EXPECTED_WORKLOADS.get(name, ()), f"workload {w} on its own")
                for w in ("sla-worker", "identity", "intake", "sla", "notify")
            ),
            *(("gateway", p, p in EXPECTED_PEOPLE[name], f"gateway with {p}'s token") for p in PEOPLE),
            ("dept-it", "k", name in EXPECTED_CLIENT, "IT's department client"),
            ("dept-it", "d", False, "a department's certificate with the DM's token"),
            ("gateway", "k", False, "the gateway with a client's token"),
        ):
            fresh = type(request)()
            fresh.CopyFrom(request)
            code, _ = await callers.call(service, method, fresh, workload, person)
            if (code not in REFUSED) != expect_in:
                wrong.append(f"{name} by {label}: {code.name}, expected {'in' if expect_in else 'out'}")
    assert not wrong, "\n".join(wrong)


async def test_the_gateway_on_its_own_account_reads_only_public_counts_at_intake(callers: Callers) -> None:
    """Every intake RPC called by the gateway's certificate without a token: in only where
    EXPECTED_GATEWAY_ALONE_AT_INTAKE says (the league table's counts among them); the dashboard, the daily report and
    every case read stay refused. The counts it reads name offices, never a complainant or an officer."""
    wrong: list[str] = []
    for method in SERVICES["intake"].methods:
        name = f"intake.{method.name}"
        code, _ = await callers.call("intake", method.name, empty_request("intake", method.name), "gateway")
        if (code not in REFUSED) != (name in EXPECTED_GATEWAY_ALONE_AT_INTAKE):
            wrong.append(f"{name}: {code.name}, expected {'in' if name in EXPECTED_GATEWAY_ALONE_AT_INTAKE else 'out'}")
    assert not wrong, "\n".join(wrong)
    code, pending = await callers.call(
        "intake",
        "GetPendingByAge",
        intake_pb2.GetPendingByAgeRequest(district_code="PAT", group_by=intake_pb2.PENDING_GROUP_OFFICE),
        "gateway",
    )
    assert code is grpc.StatusCode.OK, pending
    assert sum(row.total for row in pending.rows) >= 1
    assert all(not row.position_id for row in pending.rows), "by office: no post, no officer"
    assert "रीता कुमारी".encode() not in pending.SerializeToString()


async def test_self_approval_through_DecideRegistration_is_refused(callers: Callers) -> None:
    """The issue's reproduction: a caller names the DM as the actor. The door compares the actor with the verified
    token, so neither a citizen's token, nor an officer of another district's, nor no token at all gets it through."""
    async with httpx.AsyncClient(base_url=callers.suite.base_url, timeout=30) as http:
        applied = await http.post(
            "/v1/officers/registrations",
            json={
                "username": f"new.officer.{uuid.uuid4().hex[:6]}",
                "name": "नया अधिकारी / New officer",
                "password": "a-long-enough-password-2026",
                "phone": "9431099001",
                "email": "new.officer@nivaran.example.gov.in",
                "position_id": "POS-REV-PAT-ADDL-COLLECTOR",
                "charge_from": "2026-11-01T00:00:00+05:30",
            },
        )
    assert applied.status_code in (201, 202), applied.text
    registration_id = applied.json()["id"]
    claimed_dm = common_pb2.Actor(account_id=callers.accounts["d"], role="DM", position_id="POS-PAT-DM")
    request = identity_pb2.DecideRegistrationRequest(registration_id=registration_id, approve=True, actor=claimed_dm)
    for workload, person, expected in (
        ("gateway", "", grpc.StatusCode.UNAUTHENTICATED),
        ("gateway", "c", grpc.StatusCode.PERMISSION_DENIED),
        ("gateway", "o", grpc.StatusCode.PERMISSION_DENIED),
        ("stranger", "o", grpc.StatusCode.PERMISSION_DENIED),
    ):
        code, _ = await callers.call("identity", "DecideRegistration", request, workload, person)
        assert code is expected, (workload, person, code)
    code, answer = await callers.call(
        "identity",
        "ListRegistrations",
        identity_pb2.ListRegistrationsRequest(district_code="PAT"),
        person="d",
    )
    assert code is grpc.StatusCode.OK, answer
    pending = {r.id: r.state for r in answer.registrations}
    assert pending[registration_id] == identity_pb2.REGISTRATION_STATE_PENDING


async def test_reads_are_confined_where_the_cases_live(callers: Callers) -> None:
    """ListGrievances {} straight at intake: the complainant sees their case, another citizen and an officer of
    another district see nothing of it, the post holder and the DM see it; a case by id outside the scope is
    NOT_FOUND, as if it did not exist."""
    case = callers.food_case
    assert case is not None
    seen: dict[str, set[str]] = {}
    for person in ("c", "c2", "o", "p", "d"):
        code, answer = await callers.call(
            "intake",
            "ListGrievances",
            intake_pb2.ListGrievancesRequest(page=common_pb2.PageRequest(page_size=500)),
            person=person,
        )
        assert code is grpc.StatusCode.OK, (person, answer)
        seen[person] = {g.id for g in answer.grievances}
        if person in ("c", "c2"):
            assert {g.complainant.account_id for g in answer.grievances} <= {callers.accounts[person]}
        if person == "o":
            assert all(g.location.district_code == "NAL" for g in answer.grievances)
    for person in ("c", "p", "d"):
        assert case.id in seen[person], person
    for person in ("c2", "o"):
        assert case.id not in seen[person], person
    for person in ("c2", "o"):
        for method, request in (
            ("GetGrievance", intake_pb2.GetGrievanceRequest(id=case.id)),
            ("GetTimeline", intake_pb2.GetTimelineRequest(grievance_id=case.id)),
            ("ListAttachments", intake_pb2.ListAttachmentsRequest(grievance_id=case.id)),
        ):
            code, _ = await callers.call("intake", method, request, person=person)
            assert code is grpc.StatusCode.NOT_FOUND, (person, method, code)


async def test_an_actor_naming_someone_else_is_refused_at_the_service(callers: Callers) -> None:
    """ForwardCase, ActOnCase and MigrateCasePolicy straight at sla: the officer of another district cannot act
    as the post holder, and nobody but a state admin may migrate a running case to another policy version."""
    case = callers.food_case
    assert case is not None
    sla = sla_pb2_grpc.SlaServiceStub(callers.channel("sla", "gateway"))
    as_other = (("authorization", f"Bearer {callers.tokens['o']}"),)
    forged = common_pb2.Actor(account_id=callers.accounts["p"], role="L1", position_id="POS-FOOD-PAT-DSO")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sla.ForwardCase(
            sla_pb2.ForwardCaseRequest(grievance_id=case.id, to_position_id="POS-PAT-DM", note="x", actor=forged),
            metadata=as_other,
            timeout=10,
        )
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED, refused.value
    assert "actor" in (refused.value.details() or "")
    claimed = sla_pb2.Caller(account_id=callers.accounts["p"], kind="officer", position_ids=["POS-FOOD-PAT-DSO"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await sla.ActOnCase(
            sla_pb2.ActOnCaseRequest(grievance_id=case.id, idempotency_key=f"doors-{uuid.uuid4().hex}", caller=claimed),
            metadata=as_other,
            timeout=10,
        )
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED, refused.value
    assert "caller" in (refused.value.details() or "")
    for person in ("o", "p", "d"):
        code, _ = await callers.call(
            "sla",
            "MigrateCasePolicy",
            sla_pb2.MigrateCasePolicyRequest(grievance_id=case.id, version=2, reason="try"),
            person=person,
        )
        assert code is grpc.StatusCode.PERMISSION_DENIED, (person, code)
    # The post holder's own token, actor left empty: the door fills it in, and the act reaches the case.
    intake = intake_pb2_grpc.IntakeServiceStub(callers.channel("intake", "gateway"))
    answer = await intake.GetTimeline(
        intake_pb2.GetTimelineRequest(grievance_id=case.id),
        metadata=(("authorization", f"Bearer {callers.tokens['p']}"),),
        timeout=10,
    )
    assert answer.events, "the post holder reads the case's timeline"


async def test_a_department_client_files_and_reads_only_in_its_own_department(callers: Callers) -> None:
    """IT's client, straight at intake: it files in an IT category, is refused a Food one, and its reads never show
    another department's case (the Food case filed by the citizen is NOT_FOUND to it)."""
    case = callers.food_case
    assert case is not None
    filing = intake_pb2.FileGrievanceRequest(
        idempotency_key=f"it-helpdesk-{uuid.uuid4().hex}",
        complainant=intake_pb2.Complainant(name="सीता देवी", address="बेलदारीचक, पटना", phone="+919876543210"),
        description="ई-डिस्ट्रिक्ट पोर्टल पर आवेदन जमा नहीं हो रहा है।",
        category_code="IT-PORTAL-SERVICE",
        location=common_pb2.Location(district_code="PAT"),
        channel=intake_pb2.CHANNEL_DEPARTMENT_SYSTEM,
    )
    code, filed = await callers.call("intake", "FileGrievance", filing, "dept-it", "k")
    assert code is grpc.StatusCode.OK, filed
    assert filed.grievance.assignment.department_code in ("", "IT")
    food = intake_pb2.FileGrievanceRequest()
    food.CopyFrom(filing)
    food.idempotency_key, food.category_code = f"it-helpdesk-{uuid.uuid4().hex}", "FOOD-PDS-SUPPLY"
    code, _ = await callers.call("intake", "FileGrievance", food, "dept-it", "k")
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, listed = await callers.call(
        "intake",
        "ListGrievances",
        intake_pb2.ListGrievancesRequest(page=common_pb2.PageRequest(page_size=500)),
        "dept-it",
        "k",
    )
    assert code is grpc.StatusCode.OK, listed
    assert {g.assignment.department_code for g in listed.grievances} <= {"IT"}
    code, _ = await callers.call("intake", "GetGrievance", intake_pb2.GetGrievanceRequest(id=case.id), "dept-it", "k")
    assert code is grpc.StatusCode.NOT_FOUND
    # Its reports are its own department's: the Food case is in no row of them, and asking for Food is refused.
    code, report = await callers.call(
        "intake", "GetPendingByAge", intake_pb2.GetPendingByAgeRequest(district_code="PAT"), "dept-it", "k"
    )
    assert code is grpc.StatusCode.OK, report
    assert sum(row.total for row in report.rows) >= 1
    assert all(row.office_id != case.assignment.office_id or not row.office_id for row in report.rows)
    code, _ = await callers.call(
        "intake", "GetPendingByAge", intake_pb2.GetPendingByAgeRequest(department_code="FOOD"), "dept-it", "k"
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED


async def test_a_citizen_reads_only_their_own_account_at_identity(callers: Callers) -> None:
    own = identity_pb2.GetAccountRequest(account_id=callers.accounts["c"])
    code, answer = await callers.call("identity", "GetAccount", own, person="c")
    assert code is grpc.StatusCode.OK, answer
    assert answer.id == callers.accounts["c"]
    for other in ("c2", "d"):
        request = identity_pb2.GetAccountRequest(account_id=callers.accounts[other])
        code, _ = await callers.call("identity", "GetAccount", request, person="c")
        assert code is grpc.StatusCode.NOT_FOUND, other
