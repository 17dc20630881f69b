"""``GET /metrics``: the process's Prometheus metrics (app/ops/metrics.py), for a scraper that
sends ``Authorization: Bearer <VOLTFLEET_METRICS_TOKEN>``. Off (404) until a token is set: the
figures name no tenant, but they say how busy a deployment is, which is nobody else's business."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voltfleet.app.deps import RuntimeDep
from voltfleet.usecases.errors import NotFound, Unauthenticated

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics of this process (bearer: the metrics token)",
    responses={401: {"description": "no or a wrong metrics token"}, 404: {"description": "off"}},
)
def metrics(runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    expected = runtime.settings.metrics_token
    if not expected:
        raise NotFound("metrics", "metrics are off: set VOLTFLEET_METRICS_TOKEN to turn them on")
    bearer = authorization and authorization[:7].lower() == "bearer "
    given = authorization[7:].strip() if authorization and bearer else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated("send Authorization: Bearer <the metrics token>")
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
