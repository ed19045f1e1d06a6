"""Typed gRPC stubs of every service the gateway calls, built once at startup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import grpc
from grpc_health.v1 import health_pb2_grpc

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.breaker import process_breakers
from nivaran_common.grpc_client import open_channel
from nivaran_common.tls import TlsMaterial
from nivaran_gateway.settings import ServiceTargets

if TYPE_CHECKING:
    from nivaran.identity.v1.identity_pb2_grpc import IdentityServiceAsyncStub
    from nivaran.intake.v1.intake_pb2_grpc import IntakeServiceAsyncStub
    from nivaran.notify.v1.notify_pb2_grpc import NotifyServiceAsyncStub
    from nivaran.routing.v1.routing_pb2_grpc import RoutingServiceAsyncStub
    from nivaran.sla.v1.sla_pb2_grpc import SlaServiceAsyncStub


def _full_name(descriptor: Any, service: str) -> str:
    name: str = descriptor.services_by_name[service].full_name
    return name


INTAKE_SERVICE = _full_name(intake_pb2.DESCRIPTOR, "IntakeService")
ROUTING_SERVICE = _full_name(routing_pb2.DESCRIPTOR, "RoutingService")
IDENTITY_SERVICE = _full_name(identity_pb2.DESCRIPTOR, "IdentityService")
NOTIFY_SERVICE = _full_name(notify_pb2.DESCRIPTOR, "NotifyService")
SLA_SERVICE = _full_name(sla_pb2.DESCRIPTOR, "SlaService")


@dataclass(frozen=True)
class HealthProbe:
    """The standard gRPC health stub of one service's channel, and the service name to ask about."""

    stub: Any
    service: str


@dataclass(frozen=True)
class ServiceClients:
    """One stub per service, plus what readiness probes and shutdown need."""

    intake: IntakeServiceAsyncStub
    routing: RoutingServiceAsyncStub
    identity: IdentityServiceAsyncStub
    notify: NotifyServiceAsyncStub
    sla: SlaServiceAsyncStub
    health: Mapping[str, HealthProbe]
    channels: tuple[grpc.aio.Channel, ...] = field(default=())

    @classmethod
    def open(cls, targets: ServiceTargets, tls: TlsMaterial | None) -> ServiceClients:
        """Open one traced, retrying, mutual-TLS channel per service (see nivaran_common.grpc_client); each call
        made while serving a request carries that request's access token. Each goes through its service's circuit
        breaker (nivaran_common.breaker): while a service is down, calls fail fast and the caller gets 503."""
        breakers = process_breakers()
        # grpc ships no type hints, so the stubs' overload cannot tell an aio channel from a sync one.
        intake = open_channel(targets.intake, tls, breakers=breakers)
        routing = open_channel(targets.routing, tls, breakers=breakers)
        identity = open_channel(targets.identity, tls, breakers=breakers)
        notify = open_channel(targets.notify, tls, breakers=breakers)
        sla = open_channel(targets.sla, tls, breakers=breakers)
        return cls(
            intake=cast("IntakeServiceAsyncStub", intake_pb2_grpc.IntakeServiceStub(intake)),
            routing=cast("RoutingServiceAsyncStub", routing_pb2_grpc.RoutingServiceStub(routing)),
            identity=cast("IdentityServiceAsyncStub", identity_pb2_grpc.IdentityServiceStub(identity)),
            notify=cast("NotifyServiceAsyncStub", notify_pb2_grpc.NotifyServiceStub(notify)),
            sla=cast("SlaServiceAsyncStub", sla_pb2_grpc.SlaServiceStub(sla)),
            health={
                "intake": HealthProbe(health_pb2_grpc.HealthStub(intake), INTAKE_SERVICE),
                "routing": HealthProbe(health_pb2_grpc.HealthStub(routing), ROUTING_SERVICE),
                "identity": HealthProbe(health_pb2_grpc.HealthStub(identity), IDENTITY_SERVICE),
                "notify": HealthProbe(health_pb2_grpc.HealthStub(notify), NOTIFY_SERVICE),
                "sla": HealthProbe(health_pb2_grpc.HealthStub(sla), SLA_SERVICE),
            },
            channels=(intake, routing, identity, notify, sla),
        )

    async def close(self) -> None:
        """Close every channel this object opened."""
        for channel in self.channels:
            await channel.close()
