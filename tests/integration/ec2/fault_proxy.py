"""Deterministic fault-injecting HTTP proxy for the EC2 emulator (loopback only).

Every ``every``-th request is answered by the proxy itself, without reaching the emulator, alternately
with a throttling error and a bare HTTP 503 with an empty body (as a load balancer in front of an endpoint
answers). The throttling error is the one the called service sends, with HTTP 400: for EC2 the error code
RequestLimitExceeded in EC2's error document
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html, and the client error codes of
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html); for the other query services
(CloudWatch, IAM, STS) ``Throttling`` in their ErrorResponse document, for JSON services (KMS)
``ThrottlingException`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html).
The service is read from the request's SigV4 credential scope. Every other request is forwarded unchanged.
Because a failed call never reaches the emulator, a client that retries (botocore standard mode, amazon.aws
AWSRetry) sees exactly what it would see from a throttled AWS endpoint. ``faults`` counts the injected faults
by kind, ``throttled`` the throttling errors by service; ``STATUS`` is the HTTP status of each kind.
"""

from __future__ import annotations

import collections
import http.client
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

THROTTLE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    b"<Message>Request limit exceeded.</Message></Error></Errors>"
    b"<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
)
QUERY_THROTTLE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)
JSON_THROTTLE_BODY = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
UNAVAILABLE_BODY = b""
STATUS = {"throttle": 400, "unavailable": 503}
_SCOPE = re.compile(r"Credential=[^/]+/[0-9]{8}/[^/]+/([^/]+)/aws4_request")


def throttle_answer(headers: Mapping[str, str]) -> tuple[str, str, bytes]:
    """The called service and the content type and body of its throttling error."""
    scope = _SCOPE.search(headers.get("Authorization", ""))
    service = scope.group(1) if scope else "ec2"
    if service == "ec2":
        return service, "text/xml", THROTTLE_BODY
    if headers.get("X-Amz-Target"):
        return service, "application/x-amz-json-1.1", JSON_THROTTLE_BODY
    return service, "text/xml", QUERY_THROTTLE_BODY


class FaultProxy:
    """Proxy on 127.0.0.1 in a thread; counts requests and injected faults."""

    def __init__(self, upstream: str, every: int = 4) -> None:
        self.upstream = urlsplit(upstream)
        self.every = every
        self.requests = 0
        self.faults = {"throttle": 0, "unavailable": 0}
        self.throttled: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Endpoint URL to hand to botocore instead of the emulator's."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _fault(self) -> str | None:
        """Decide (under the lock) whether this request fails and how."""
        with self._lock:
            self.requests += 1
            if self.requests % self.every:
                return None
            kind = "throttle" if (self.requests // self.every) % 2 else "unavailable"
            self.faults[kind] += 1
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet."""

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = proxy._fault()
                if kind is not None:
                    content_type, payload = "text/plain", UNAVAILABLE_BODY
                    if kind == "throttle":
                        service, content_type, payload = throttle_answer(self.headers)
                        with proxy._lock:
                            proxy.throttled[service] += 1
                    self.send_response(STATUS[kind])
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection", "host"}}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {
                        "connection",
                        "transfer-encoding",
                        "content-length",
                        "server",
                        "date",
                    }:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

        return Handler

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
