"""OCPP security profiles 2 and 3: TLS served by uvicorn itself, and the charger's client
certificate handed to the application.

uvicorn verifies a client certificate against the configured CA (``ssl_ca_certs`` with
``ssl.CERT_OPTIONAL``: profile 2 chargers send none and sign in with HTTP Basic) but does not put
it into the ASGI scope. ``CertificateWebSocketProtocol`` does, as the ASGI TLS extension
describes it (``scope["extensions"]["tls"]["client_cert_chain"]``, PEM; ``client_cert_name``, the
subject); it is hand-written because neither uvicorn nor another maintained ASGI server we use
exposes it. ``uvicorn_tls_options`` gives ``uvicorn.run`` / ``uvicorn.Config`` what it needs.

Behind a TLS-terminating proxy (nginx), profile 3 is the proxy's: it verifies the certificate
and the platform sees a plain connection; the certificate's binding to the charger id must
then be checked by the proxy.
"""

from __future__ import annotations

import ssl
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


def _subject_cn(cert: dict[str, Any]) -> str | None:
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class CertificateWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, with the verified client certificate in the scope."""

    async def run_asgi(self) -> None:
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport else None
        if ssl_object is not None:
            der = ssl_object.getpeercert(binary_form=True)
            details = ssl_object.getpeercert() if der else None
            self.scope["extensions"]["tls"] = {  # type: ignore[index]
                "server_cert": None,
                "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
                "client_cert_name": _subject_cn(details) if details else None,
                "client_cert_error": None,
                "tls_version": None,
                "cipher_suite": None,
            }
        await super().run_asgi()


def client_certificate_name(scope: Any) -> str | None:
    """The common name of the verified client certificate of a WebSocket, if it sent one."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    if not tls.get("client_cert_chain"):
        return None
    name = tls.get("client_cert_name")
    return str(name) if name else None


def uvicorn_tls_options(certfile: str, keyfile: str, client_ca: str | None) -> dict[str, Any]:
    """``uvicorn.run`` keyword arguments for TLS (profile 2), and with ``client_ca`` client
    certificates verified against it (profile 3; optional, so profile 2 chargers still connect)."""
    options: dict[str, Any] = {"ssl_certfile": certfile, "ssl_keyfile": keyfile}
    if client_ca:
        options |= {
            "ssl_ca_certs": client_ca,
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,
            "ws": CertificateWebSocketProtocol,
        }
    return options
