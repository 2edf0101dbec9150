"""The ARM endpoint as an ASGI application (Starlette): one dispatcher that reads ARM's paths
case-insensitively, checks the token, the subscription, the api-version and the body, and
hands the request to a route; every answer carries `x-ms-request-id` and
`x-ms-correlation-request-id`, every failure ARM's error body.

Routes are thin: they parse the request, call `vmsscli.service`, and render the wire shape
with `vmsscli.rest`. State is read through a cache keyed by the file's identity (inode, size,
modification time), so a change made by the command line is seen by the next request.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vmsscli.arm.errors import ArmError, bad_request, from_domain
from vmsscli.arm.tokens import Signer, TokenError

log = logging.getLogger("vmsscli.endpoint")

MAX_BODY = 4 * 1024 * 1024
API_VERSION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview|-beta|-privatepreview)?$", re.I)
# Oldest and newest api-versions accepted for Microsoft.Compute (az 2.91 sends 2023-09-01 to
# 2026-04-01; the SDKs and Terraform pin versions inside this range).
COMPUTE_VERSIONS = ("2015-06-15", "2026-12-31")
NAME = re.compile(r"^[A-Za-z0-9_()\-.]{1,90}$")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Already-encoded JSON (from the response cache), and its gzip form.
    raw: bytes | None = None
    gzipped: bytes | None = None


@dataclass
class Call:
    """One request as a route sees it."""

    endpoint: Endpoint
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: Any
    body_bytes: bytes
    request_id: str
    # Who the request's events name (the token's object id).
    caller: str = ""

    def json(self) -> Any:
        if not self.body_bytes.strip():
            return None
        try:
            return orjson.loads(self.body_bytes)
        except orjson.JSONDecodeError as exc:
            raise bad_request(
                f"The request content was invalid and could not be deserialized: '{exc}'."
            ) from None

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        body = self.json()
        if body is None and not required:
            return {}
        if not isinstance(body, dict):
            raise bad_request(
                "The request content was invalid and could not be deserialized: the body "
                "must be a JSON object."
            )
        return body

    def session(self):
        return self.endpoint.session(f"{self.method} {self.path}", caller=self.caller)


Handler = Callable[[Call], Reply]


class Endpoint:
    """What every request shares: the state file, the clock speed, the signer, and the read
    cache (guarded by a lock). Changes go through the store's writer lock, which orders them
    with each other and with the command line's."""

    def __init__(
        self,
        state_path: Path,
        base_url: str,
        folder: Path,
        *,
        speed: float,
        advance_on_poll: bool = False,
    ) -> None:
        self.state_path = state_path
        self.speed = speed
        # With a manual clock, whether a client polling an operation moves the clock to its
        # end (as the command line does when it waits); otherwise a poll changes nothing.
        self.advance_on_poll = advance_on_poll
        self.base_url = base_url.rstrip("/") + "/"
        self.folder = folder
        self.signer = Signer.from_folder(folder, audience=self.base_url, issuer=self.base_url)
        self.lock = threading.RLock()
        self._cached: tuple[tuple[int, int, int], Any] | None = None
        self._replies: dict[str, tuple[tuple[int, int, int], datetime | None, Reply]] = {}
        self.routes: list[tuple[str, tuple[str, ...], Handler]] = []

    # --- state ------------------------------------------------------------------------------

    def session(self, command: str, *, caller: str = ""):
        from vmsscli.service.session import Session

        return Session(self.state_path, command=command, caller=caller, speed=self.speed)

    def _identity(self) -> tuple[int, int, int] | None:
        import os

        try:
            info = os.stat(self.state_path)
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def current(self):
        """The state brought up to "now", from the cache while the file is unchanged."""
        with self.lock:
            session = self.session("")
            identity = self._identity()
            if identity is None or self._cached is None or self._cached[0] != identity:
                state = session.store().read()
                self._cached = (self._identity() or (0, 0, 0), state)
            state = self._cached[1]
            session.prepare(state)
            return state

    def cached_reply(self, key: str, render: Callable[[Any], Reply]) -> Reply:
        """A GET's reply, rendered once per version of the state and kept until the file
        changes or a simulated operation is due to complete."""
        from vmsscli.domain.operations import next_moment

        with self.lock:
            state = self.current()
            identity = self._cached[0] if self._cached else None
            now = datetime.now(UTC) if state.clock.mode == "wall" else state.clock.now
            found = self._replies.get(key)
            if found is not None and found[0] == identity and (found[1] is None or now < found[1]):
                return found[2]
            reply = render(state)
            if reply.status == 200 and reply.body is not None:
                reply.raw = orjson.dumps(reply.body)
                if len(reply.raw) > 4096:
                    reply.gzipped = gzip.compress(reply.raw, compresslevel=5)
                reply.body = None
            if len(self._replies) > 256:
                self._replies.clear()
            self._replies[key] = (identity, next_moment(state), reply)
            return reply

    def forget(self) -> None:
        with self.lock:
            self._replies.clear()

    # --- routing ----------------------------------------------------------------------------

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        segments = tuple(part.lower() for part in pattern.strip("/").split("/"))

        def register(handler: Handler) -> Handler:
            self.routes.append((method, segments, handler))
            return handler

        return register

    def match(self, method: str, segments: list[str]) -> tuple[Handler, dict[str, str]] | None:
        lowered = [s.lower() for s in segments]
        allowed = False
        for route_method, pattern, handler in self.routes:
            if len(pattern) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got, got_lower in zip(pattern, segments, lowered, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want != got_lower:
                    break
            else:
                if route_method == method or (method == "HEAD" and route_method == "GET"):
                    return handler, params
                allowed = True
        if allowed:
            raise ArmError(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{method}'.",
            )
        return None


PUBLIC = ("metadata", "common", "organizations")


def build_app(endpoint: Endpoint) -> Starlette:
    from vmsscli.arm import routes

    routes.register(endpoint)

    async def dispatch(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        correlation = request.headers.get("x-ms-correlation-request-id") or request_id
        try:
            reply = await _handle(endpoint, request, request_id)
        except ArmError as exc:
            reply = Reply(exc.status, exc.body(), dict(exc.headers))
        except Exception:  # a defect: logged with the request id, never shown as a traceback
            log.exception("request %s %s %s failed", request_id, request.method, request.url.path)
            reply = Reply(
                500,
                ArmError(
                    500,
                    "InternalServerError",
                    f"The server encountered an internal error (request id {request_id}).",
                ).body(),
            )
        headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": correlation,
            **reply.headers,
        }
        if reply.status == 204 or (reply.body is None and reply.raw is None):
            return Response(status_code=reply.status, headers=headers)
        content = reply.raw if reply.raw is not None else orjson.dumps(reply.body)
        if reply.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            content = reply.gzipped
            headers["content-encoding"] = "gzip"
            headers["vary"] = "Accept-Encoding"
        if request.method == "HEAD":
            content = b""
        return Response(
            content, status_code=reply.status, headers=headers, media_type="application/json"
        )

    methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])


async def _handle(endpoint: Endpoint, request: Request, request_id: str) -> Reply:
    from starlette.concurrency import run_in_threadpool

    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    segments = _segments(raw_path.decode("latin-1").split("?", 1)[0])
    found = endpoint.match(request.method, segments)
    if found is None:
        raise _unknown_route(segments)
    handler, params = found
    query = {k.lower(): v for k, v in request.query_params.items()}
    public = bool(segments) and (
        segments[0].lower() in PUBLIC
        or (len(segments) > 1 and segments[1].lower() in ("v2.0", "oauth2", ".well-known"))
    )
    caller = ""
    if not public:
        caller = _authenticate(endpoint, request)
        _check_api_version(segments, query)
    body = await _body(request)
    call = Call(
        endpoint=endpoint,
        method=request.method,
        path="/" + "/".join(segments),
        params=params,
        query=query,
        headers=request.headers,
        body_bytes=body,
        request_id=request_id,
        caller=caller,
    )
    if not public and len(segments) >= 2 and segments[0].lower() == "subscriptions":
        await run_in_threadpool(_check_subscription, endpoint, segments[1])
    return await run_in_threadpool(_run, handler, call)


def _run(handler: Handler, call: Call) -> Reply:
    from vmsscli.errors import VmssError

    try:
        return handler(call)
    except VmssError as exc:
        raise from_domain(exc) from None


def _segments(path: str) -> list[str]:
    """The path's segments, each percent-decoded on its own: an encoded slash stays inside its
    segment (and so inside a name, which refuses it); `.` and `..` are refused outright."""
    parts = [p for p in path.split("/") if p != ""]
    out = []
    for part in parts:
        decoded = urllib.parse.unquote(part)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded or "\x00" in decoded:
            raise bad_request(f"The path segment '{part}' is not valid.", code="InvalidRequestUri")
        out.append(decoded)
    return out


def _unknown_route(segments: list[str]) -> ArmError:
    lowered = [s.lower() for s in segments]
    if "providers" in lowered:
        at = lowered.index("providers")
        namespace = segments[at + 1] if len(segments) > at + 1 else ""
        if namespace.lower() not in ("microsoft.compute", "microsoft.resources"):
            return ArmError(
                400,
                "InvalidResourceNamespace",
                f"The resource namespace '{namespace}' is invalid.",
            )
        kind = "/".join(segments[at + 2 :: 2]) or namespace
        return ArmError(
            400,
            "InvalidResourceType",
            f"The resource type '{kind}' could not be found in the namespace '{namespace}'.",
        )
    return ArmError(
        404,
        "NotFound",
        f"No HTTP resource was found that matches the request URI '/{'/'.join(segments)}'.",
    )


def _authenticate(endpoint: Endpoint, request: Request) -> str:
    """Check the bearer token; the caller the activity log names (the client's object id, as
    Azure names a service principal)."""
    header = request.headers.get("authorization", "")
    challenge = {
        "WWW-Authenticate": f'Bearer authorization_uri="{endpoint.base_url}{_tenant()}", '
        f'error="invalid_token", error_description="The authentication failed."'
    }
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=challenge,
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            headers=challenge,
        )
    try:
        claims = endpoint.signer.verify(token.strip())
    except TokenError as exc:
        raise ArmError(401, exc.code, exc.message, headers=challenge) from None
    return str(claims.get("oid", ""))


def _tenant() -> str:
    from vmsscli.arm.tokens import TENANT_ID

    return TENANT_ID


def _check_api_version(segments: list[str], query: dict[str, str]) -> None:
    version = query.get("api-version")
    if version is None:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    found = API_VERSION.match(version)
    lowered = [s.lower() for s in segments]
    compute = "microsoft.compute" in lowered
    low, high = COMPUTE_VERSIONS if compute else ("2014-01-01", "2026-12-31")
    if found is None or not low <= version[:10] <= high:
        kind = "virtualMachineScaleSets" if compute else "resourceGroups"
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions for resource "
            f"type '{kind}' are between '{low}' and '{high}'.",
        )


def _check_subscription(endpoint: Endpoint, subscription: str) -> None:
    state = endpoint.current()
    if subscription.lower() != state.subscription_id.lower():
        raise ArmError(
            404,
            "SubscriptionNotFound",
            f"The subscription '{subscription}' could not be found.",
        )


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ArmError:
    return ArmError(
        413,
        "RequestEntityTooLarge",
        f"The request content size exceeds the limit of {MAX_BODY // (1024 * 1024)} MB.",
    )


def valid_name(kind: str, name: str) -> str:
    """A resource name as ARM accepts it in a path (letters, digits, `-_.()`, not ending in a
    dot, at most 90 characters)."""
    if not NAME.match(name) or name.endswith("."):
        raise ArmError(
            400,
            "InvalidResourceName",
            f"The {kind} name '{name}' is invalid. It can contain letters, digits, '-', '_', "
            "'.', '(' and ')', must not end in '.' and is at most 90 characters long.",
        )
    return name
