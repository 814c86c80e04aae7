"""A multi-carrier tracking service in the style of 17TRACK's API v2.2.

``POST /track/v2.2/gettrackinfo`` with header ``17token`` and a JSON list of at most 40
``{"number", "carrier"}``. Accepted numbers come back with every event known at the emulator's
clock (newest first, UTC, each with the carrier's raw status, the service's normalised stage,
sub-status, description and location) and the latest normalised status; numbers with no
events yet are rejected with the service's "no tracking information" error. Auth, scripted
faults and the rate limit come from ``EmulatorState``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from demo.emulators.base import EmulatorState
from demo.emulators.orders_view import row_spans
from demo.emulators.responses import JSONResponse
from demo.emulators.server import serve_app
from demo.world import World

DEMO_TRACKING_TOKEN = "17track-demo-token"
MAX_NUMBERS = 40
NO_INFO = -18019909
# The service's own normalised vocabulary (not afterclick's: that mapping lives in dbt).
NORMALISED = {
    "info_received": "InfoReceived",
    "in_transit": "InTransit",
    "out_for_delivery": "OutForDelivery",
    "attempt_failed": "DeliveryFailure",
    "available_for_pickup": "AvailableForPickup",
    "delivered": "Delivered",
    "exception": "Exception",
    "returned_to_sender": "Returned",
}


class TrackingState(EmulatorState):
    """EmulatorState plus the events by tracking number, a log of every number asked and the size
    of every batch served (for tests)."""

    def __init__(self, world: World, clock: datetime, requests_per_second: float = 0.0):
        super().__init__(
            "tracking", world, clock, {"token": DEMO_TRACKING_TOKEN}, requests_per_second=requests_per_second
        )
        self.numbers_asked: list[str] = []
        self.batch_sizes: list[int] = []
        # every number's events newest first, one slice each: a request reads its numbers in one gather
        self._events = world.tracking_events.sort("tracking_number", "occurred_at", descending=[False, True])
        self._spans = row_spans(self._events, "tracking_number")

    def served_many(self, numbers: list[str]) -> dict[str, list[dict]]:
        """Each number's events up to the clock, newest first (numbers without any are left out)."""
        rows = [
            i for n in dict.fromkeys(numbers) if n in self._spans for i in range(self._spans[n][0], sum(self._spans[n]))
        ]
        out: dict[str, list[dict]] = {}
        for e in self._events[pl.Series(rows, dtype=pl.UInt32)].to_dicts():
            if e["occurred_at"] <= self.clock:
                out.setdefault(e["tracking_number"], []).append(e)
        return out

    def served(self, number: str) -> list[dict]:
        return self.served_many([number]).get(number, [])


def _event(e: dict) -> dict:
    return {
        "time_utc": e["occurred_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "description": e["message"] or e["raw_status"],
        "location": e["location"],
        "stage": NORMALISED[e["canonical_status"]],
        "sub_status": e["sub_status"],
        "raw_status": e["raw_status"],
    }


def app(state: TrackingState) -> Starlette:
    async def gettrackinfo(request: Request):
        if refused := await state.gate(request, request.headers.get("17token") == state.credentials["token"]):
            return refused
        try:
            asked = json.loads(await request.body())
            numbers = [(str(x["number"]), x.get("carrier")) for x in asked]
        except (ValueError, TypeError, KeyError):
            return JSONResponse(
                {"code": -18010001, "data": {"errors": [{"message": "Invalid request body."}]}}, status_code=400
            )
        if len(numbers) > MAX_NUMBERS:
            return JSONResponse(
                {"code": -18010002, "data": {"errors": [{"message": f"At most {MAX_NUMBERS} numbers per request."}]}},
                status_code=400,
            )
        accepted, rejected = [], []
        state.batch_sizes.append(len(numbers))
        served = state.served_many([number for number, _ in numbers])
        for number, carrier in numbers:
            state.numbers_asked.append(number)
            events = served.get(number)
            if not events:
                rejected.append(
                    {"number": number, "error": {"code": NO_INFO, "message": "No tracking information at this time."}}
                )
                continue
            latest = events[0]
            accepted.append(
                {
                    "number": number,
                    "carrier": carrier or latest["carrier"],
                    "track_info": {
                        "latest_status": {
                            "status": NORMALISED[latest["canonical_status"]],
                            "sub_status": latest["sub_status"],
                        },
                        "tracking": {
                            "providers": [
                                {"provider": {"name": latest["carrier"]}, "events": [_event(e) for e in events]}
                            ]
                        },
                    },
                }
            )
        return JSONResponse({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    return Starlette(routes=[Route("/track/v2.2/gettrackinfo", gettrackinfo, methods=["POST"])])


@contextmanager
def serve_tracking(
    world: World, clock: datetime | None = None, requests_per_second: float = 0.0
) -> Iterator[tuple[str, TrackingState]]:
    """The tracking service on a local port: (base URL, state); the clock defaults to the world's end."""
    state = TrackingState(world, clock or world.end, requests_per_second)
    with serve_app(app(state)) as url:
        yield url, state
