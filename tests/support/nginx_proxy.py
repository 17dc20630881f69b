"""nginx from the Debian package in front of API processes, running the site file we ship
(deploy/nginx/voltfleet.conf) with only its ports, upstream servers and certificate paths
replaced, under a throwaway prefix. Every wait is bounded."""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.pg_server import free_port

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "voltfleet.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), valid for a day."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def render_site(
    upstreams: list[int], https_port: int, http_port: int, cert: Path, key: Path
) -> str:
    text = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstreams)
    text, n = re.subn(r"(?m)^    server 127\.0\.0\.1:800\d [^\n]*\n", "", text)
    assert n == 2, "the shipped upstream block changed: update this renderer"
    text = text.replace("upstream voltfleet_api {\n", "upstream voltfleet_api {\n" + servers, 1)
    text = re.sub(r"(?m)^    listen \[::\]:\d+[^\n]*\n", "", text)
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = text.replace("/etc/voltfleet/tls/fullchain.pem", str(cert))
    return text.replace("/etc/voltfleet/tls/privkey.pem", str(key))


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.cert, key = self_signed(self.dir)
        site = render_site(upstreams, self.https_port, self.http_port, self.cert, key)
        (self.dir / "site.conf").write_text(site)
        (self.dir / "logs").mkdir(exist_ok=True)
        (self.dir / "nginx.conf").write_text(
            # As root, nginx's workers would switch to "nobody", who cannot write the request
            # bodies it buffers into this private directory: keep them as root here.
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/logs/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {self.dir}/logs/access.log;\n"
            f"  client_body_temp_path {self.dir}/body; proxy_temp_path {self.dir}/proxy;\n"
            f"  fastcgi_temp_path {self.dir}/fcgi; uwsgi_temp_path {self.dir}/uwsgi;\n"
            f"  scgi_temp_path {self.dir}/scgi;\n"
            f"  include {self.dir}/site.conf;\n"
            "}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 15.0) -> None:
        binary = nginx_binary()
        assert binary is not None
        conf = str(self.dir / "nginx.conf")
        checked = subprocess.run(
            [binary, "-t", "-p", str(self.dir), "-c", conf], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", conf],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(
                    self.url + "/healthz",
                    verify=ssl.create_default_context(cafile=str(self.cert)),
                    timeout=2,
                    trust_env=False,
                )
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.error_log()) from None
                time.sleep(0.1)

    def error_log(self) -> str:
        path = self.dir / "logs" / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
