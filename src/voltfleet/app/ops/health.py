"""``/healthz`` and ``/readyz``: for the reverse proxy and orchestrators, no credential.

``/healthz``: the process is alive and its event loop answers; it touches nothing else, so a
database outage never makes an orchestrator restart healthy API processes. ``/readyz``: the
process can do useful work (``readiness``): 200 with every check, or 503 with the failed ones
named, so a proxy takes the process out of rotation until its dependencies return. Neither
names a tenant's data.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from voltfleet import __version__
from voltfleet.app.deps import RuntimeDep
from voltfleet.app.ops import readiness

router = APIRouter(tags=["operations"])


class Alive(BaseModel):
    status: str
    version: str


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class Ready(BaseModel):
    status: str  # "ready" | "not ready"
    checks: list[CheckOut]


@router.get("/healthz", response_model=Alive, summary="Liveness: the process answers")
async def healthz() -> Alive:
    return Alive(status="alive", version=__version__)


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: database, migrations and (when required) the MQTT broker",
    responses={503: {"model": Ready, "description": "a dependency is not ready"}},
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = list(readiness.database(runtime.db))
    if runtime.settings.ready_requires_broker:
        checks.append(readiness.broker(runtime.settings.mqtt_url))
    ok = all(c.ok for c in checks)
    body = Ready(
        status="ready" if ok else "not ready",
        checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in checks],
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
