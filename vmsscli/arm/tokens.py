"""Access tokens the endpoint issues and checks: JWTs (HS256) signed with a secret only the
endpoint holds, carrying the claims az reads (`tid`, `oid`, `appid`, `iat`, `nbf`, `exp`).

A client-credentials request for any app id and secret gets one: the twin has no identities
to protect, but a request must still carry a token this endpoint signed, as ARM requires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from pathlib import Path

from vmsscli.resource_ids import TENANT_ID

LIFETIME = 24 * 3600


class TokenError(Exception):
    """A token the endpoint did not issue, or no longer accepts: (code, message) as ARM."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, audience: str, issuer: str) -> None:
        self.secret = secret
        self.audience = audience
        self.issuer = issuer

    @classmethod
    def from_folder(cls, folder: Path, audience: str, issuer: str) -> Signer:
        """The endpoint's signing secret, created on first use and kept in `folder`."""
        path = folder / "token-secret"
        try:
            secret = path.read_bytes()
        except OSError:
            secret = b""
        if len(secret) < 32:
            folder.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_bytes(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secret)
        return cls(secret, audience, issuer)

    def issue(self, app_id: str, tenant: str = TENANT_ID, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "aud": self.audience,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued,
            "exp": issued + LIFETIME,
            "appid": app_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vmsscli:{tenant}:{app_id}")),
            "sub": app_id,
            "tid": tenant,
            "ver": "1.0",
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def verify(self, token: str, now: float | None = None) -> dict:
        """The claims of a token this endpoint signed and that is still valid."""
        try:
            header, body, signature = token.split(".")
            expected = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256)
            if not hmac.compare_digest(_unb64(signature), expected.digest()):
                raise ValueError("signature")
            if json.loads(_unb64(header)).get("alg") != "HS256":
                raise ValueError("algorithm")
            claims = json.loads(_unb64(body))
            expires = int(claims["exp"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from None
        moment = time.time() if now is None else now
        if expires < moment:
            stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(expires))
            current = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(moment))
            raise TokenError(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{stamp}' is earlier than current UTC time "
                f"'{current}'.",
            )
        return claims
