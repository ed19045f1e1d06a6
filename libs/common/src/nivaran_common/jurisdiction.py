"""Which cases a caller may see, computed from the token alone, never from the caller's own filters.

- a citizen: the cases whose complainant account is theirs, or whose complainant phone is the one they verified;
- an officer: the cases of the posts they hold and of every post below them (routing's reporting chains);
- a DM (or the nodal officer holding the DM's district power, S17): every case of their district, which includes
  the cases S10 makes visible to the DM;
- a Divisional Commissioner: every case of the districts whose DMs report to them (S18);
- a department's secretary: every case of the department, state-wide (the department reviews reports, C5);
- the OSD to the Chief Secretary and the Chief Secretary: every case (CSPGRS monitors the state, C3, C8);
- a call-centre operator (account role CALL_CENTRE) of a district: every case of the district, to call the
  complainants back and record their feedback (H3).

Computed alike at the gateway (to answer 404 for a case outside the scope) and in intake, where the cases live
(a direct gRPC caller's reads are confined there too: nivaran_common.door, nivaran_intake.handlers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import grpc

from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import (
    CHIEF_SECRETARY,
    CITIZEN,
    CLIENT,
    COMMISSIONER,
    DM,
    OFFICER,
    OPERATOR,
    OSD_CS,
    POWER_READ_DISTRICT,
    SECRETARY,
    Principal,
)
from nivaran_common.casework import CALL_CENTRE_ROLE

if TYPE_CHECKING:
    from nivaran.routing.v1.routing_pb2_grpc import RoutingServiceAsyncStub

STATE_WIDE_ROLES = (OSD_CS, CHIEF_SECRETARY)
_CACHE_ENTRIES = 4096

V = TypeVar("V")


class _TtlCache(Generic[V]):
    """A small in-process cache; entries live `ttl` seconds, and the whole cache is dropped when it fills up."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> tuple[bool, V | None]:
        found = self._entries.get(key)
        if found is None or found[0] <= self._clock():
            return False, None
        return True, found[1]

    def put(self, key: str, value: V) -> None:
        if len(self._entries) >= _CACHE_ENTRIES:
            self._entries.clear()
        self._entries[key] = (self._clock() + self._ttl, value)


class PositionDirectory:
    """Routing's positions and reporting chains as the gateway needs them, cached briefly."""

    def __init__(
        self,
        routing: RoutingServiceAsyncStub,
        *,
        ttl_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routing = routing
        self._timeout = timeout_seconds
        self._positions: _TtlCache[routing_pb2.Position | None] = _TtlCache(ttl_seconds, clock)
        self._below: _TtlCache[tuple[str, ...]] = _TtlCache(ttl_seconds, clock)

    async def position(self, position_id: str) -> routing_pb2.Position | None:
        """The position, or None when routing does not know it (a stale token)."""
        hit, cached = self._positions.get(position_id)
        if hit:
            return cached
        try:
            found: routing_pb2.Position | None = await self._routing.GetPosition(
                routing_pb2.GetPositionRequest(position_id=position_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            found = None
        self._positions.put(position_id, found)
        return found

    async def subordinates(self, position_id: str) -> tuple[str, ...]:
        """Every position below this one, transitively (none when routing does not know it)."""
        hit, cached = self._below.get(position_id)
        if hit and cached is not None:
            return cached
        try:
            answer = await self._routing.ListSubordinatePositions(
                routing_pb2.ListSubordinatePositionsRequest(position_id=position_id), timeout=self._timeout
            )
            below = tuple(p.id for p in answer.positions if p.id)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            below = ()
        self._below.put(position_id, below)
        return below

    async def jurisdiction(self, positions: Iterable[str]) -> tuple[str, ...]:
        """The posts held and every post below them."""
        found: set[str] = set()
        for position_id in positions:
            found.add(position_id)
            found.update(await self.subordinates(position_id))
        return tuple(sorted(found))

    async def held_post(self, principal: Principal, role: str, department_code: str = "") -> str | None:
        """The first post the caller holds whose routing role is `role` (and of `department_code` when given)."""
        for position_id in principal.positions:
            position = await self.position(position_id)
            if position is None or position.role != role:
                continue
            if department_code and position.department_code != department_code:
                continue
            return position_id
        return None


@dataclass(frozen=True)
class GrievanceScope:
    """The owner or jurisdiction filters a caller's reads are confined to."""

    state_wide: bool = False
    complainant_account_id: str = ""
    complainant_phone: str = ""
    district_codes: tuple[str, ...] = ()
    position_ids: tuple[str, ...] = ()
    # A department's secretary: every case of the department, state-wide (C5 reviews, S14 copies).
    department_code: str = ""

    @property
    def is_empty(self) -> bool:
        """True when the caller may see no case at all (intake must not be asked: no filter means every case)."""
        return not (
            self.state_wide
            or self.complainant_account_id
            or self.complainant_phone
            or self.district_codes
            or self.position_ids
            or self.department_code
        )

    def covers(
        self,
        *,
        complainant_account_id: str,
        complainant_phone: str,
        district_code: str,
        position_id: str,
        department_code: str,
    ) -> bool:
        """True when a case with these attributes lies in the scope (the same test `restrict` makes a query do)."""
        if self.state_wide:
            return True
        if self.complainant_account_id or self.complainant_phone:
            return bool(
                (self.complainant_account_id and complainant_account_id == self.complainant_account_id)
                or (self.complainant_phone and complainant_phone == self.complainant_phone)
            )
        if self.district_codes:
            return district_code in self.district_codes
        if self.position_ids:
            return position_id in self.position_ids
        if self.department_code:
            return department_code == self.department_code
        return False

    def restrict(self, request: intake_pb2.ListGrievancesRequest) -> intake_pb2.ListGrievancesRequest:
        """Overwrite the owner and jurisdiction filters of `request`, so nothing a caller sent can widen them."""
        if self.is_empty:
            raise ValueError("an empty scope cannot restrict a query")
        request.complainant_account_id = self.complainant_account_id
        request.complainant_phone = self.complainant_phone
        del request.district_codes[:]
        request.district_codes.extend(self.district_codes)
        del request.position_ids[:]
        request.position_ids.extend(self.position_ids)
        request.department_code = self.department_code
        return request


async def grievance_scope(principal: Principal, directory: PositionDirectory) -> GrievanceScope:
    """The cases `principal` may read (see the module docstring)."""
    if principal.kind == CITIZEN:
        return GrievanceScope(complainant_account_id=principal.account_id, complainant_phone=principal.phone)
    if principal.kind == CLIENT:
        # A department system: its own department's cases, state-wide.
        return GrievanceScope(department_code=principal.department)
    if principal.district and principal.may(POWER_READ_DISTRICT):
        # The Sahyog-cell nodal officer (an officer or a cell operator) reading for the DM (S17).
        return GrievanceScope(district_codes=(principal.district,))
    if principal.kind == OPERATOR and principal.district and CALL_CENTRE_ROLE in principal.roles:
        return GrievanceScope(district_codes=(principal.district,))
    if principal.kind != OFFICER:
        return GrievanceScope()
    if principal.has_any(STATE_WIDE_ROLES):
        return GrievanceScope(state_wide=True)
    if principal.district and principal.has_any((DM,)):
        return GrievanceScope(district_codes=(principal.district,))
    if principal.has_any((COMMISSIONER,)):
        # The Divisional Commissioner: every case of the districts whose DMs report to them (S18 reviews).
        districts = set()
        for position_id in await directory.jurisdiction(principal.positions):
            post = await directory.position(position_id)
            if post is not None and post.role == DM and post.area_code:
                districts.add(post.area_code)
        if districts:
            return GrievanceScope(district_codes=tuple(sorted(districts)))
    if principal.has_any((SECRETARY,)):
        held = await directory.held_post(principal, SECRETARY)
        post = await directory.position(held) if held else None
        if post is not None and post.department_code:
            return GrievanceScope(department_code=post.department_code)
    if principal.positions:
        return GrievanceScope(position_ids=await directory.jurisdiction(principal.positions))
    return GrievanceScope()
