"""What the endpoint refuses, and how: no token or a foreign one (401), another subscription
(404), malformed or ill-typed bodies and unknown enum values (400), oversized bodies (413),
path tricks, unknown routes and api-versions. Each case asserts the status, ARM's error body,
and that the state file is byte for byte what it was."""

from __future__ import annotations

import base64
import json

import pytest
import requests

SUB = "00000000-0000-0000-0000-000000000000"
SETS = f"subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/" + (
    "virtualMachineScaleSets"
)
VMSS = f"{SETS}/web-vmss"
V = "api-version=2024-11-01"


def call(
    endpoint, method: str, path: str, *, token: str | None = "", body=None, raw=None, headers=None
):
    sent = dict(headers or {})
    if token == "":
        token = endpoint.token
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        raw = json.dumps(body).encode()
    if raw is not None:
        sent.setdefault("Content-Type", "application/json")
    return requests.request(
        method, endpoint.url + path, headers=sent, data=raw, verify=endpoint.ca, timeout=30
    )


@pytest.fixture
def served(endpoint):
    endpoint.reset()
    before = endpoint.state.read_bytes()
    yield endpoint
    assert endpoint.state.read_bytes() == before, "a refused request changed the state file"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    assert "Traceback" not in response.text
    assert response.headers["x-ms-request-id"]
    return body["error"]


def test_a_request_without_a_token_is_401(served):
    response = call(served, "GET", f"{VMSS}?{V}", token=None)
    assert response.status_code == 401
    assert error_of(response)["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_a_token_the_endpoint_did_not_sign_is_401(served):
    header, claims, _signature = served.token.split(".")
    forged = f"{header}.{claims}.{base64.urlsafe_b64encode(b'x' * 32).rstrip(b'=').decode()}"
    for token in (forged, "not-a-jwt", served.token + "x"):
        response = call(served, "POST", f"{VMSS}/restart?{V}", token=token, body={})
        assert response.status_code == 401
        assert error_of(response)["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_401(served):
    from vmsscli.arm.tokens import Signer

    signer = Signer.from_folder(served.home / ".vmsscli" / "endpoint", served.url, served.url)
    old = signer.issue("someone", now=1_000_000)
    response = call(served, "GET", f"{VMSS}?{V}", token=old)
    assert response.status_code == 401
    assert error_of(response)["code"] == "ExpiredAuthenticationToken"


def test_another_subscription_is_404(served):
    other = VMSS.replace(SUB, "11111111-1111-1111-1111-111111111111")
    response = call(served, "POST", f"{other}/restart?{V}", body={})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "SubscriptionNotFound"
    assert "11111111-1111-1111-1111-111111111111" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "raw", "code"),
    [
        ("POST", f"{VMSS}/restart?{V}", b"{not json", "InvalidRequestContent"),
        ("POST", f"{VMSS}/restart?{V}", b'{"instanceIds": "0"}', "InvalidRequestContent"),
        ("POST", f"{VMSS}/restart?{V}", b'{"instanceIds": [{"id": 0}]}', "InvalidRequestContent"),
        ("POST", f"{VMSS}/restart?{V}", b"[1, 2]", "InvalidRequestContent"),
        (
            "PUT",
            f"{VMSS}/virtualMachines/4?{V}",
            b'{"properties": {"protectionPolicy": {"protectFromScaleIn": "yes"}}}',
            "InvalidParameter",
        ),
        (
            "PUT",
            f"{VMSS}/virtualMachines/4?{V}",
            b'{"properties": {"protectionPolicy": {"protectFromEverything": true}}}',
            "InvalidRequestContent",
        ),
        (
            "PATCH",
            f"{VMSS}?{V}",
            b'{"properties": {"upgradePolicy": {"mode": "Sometimes"}}}',
            "InvalidParameter",
        ),
        ("PATCH", f"{VMSS}?{V}", b'{"sku": {"capacity": "many"}}', "InvalidParameter"),
        (
            "POST",
            f"{VMSS}/virtualMachines/0/runCommand?{V}",
            b'{"commandId": 7}',
            "InvalidParameter",
        ),
        (
            "POST",
            f"{VMSS}/virtualMachines/0/runCommand?{V}",
            b'{"commandId": "RunShellScript", "script": "uptime"}',
            "InvalidRequestContent",
        ),
        (
            "PUT",
            f"subscriptions/{SUB}/resourcegroups/rg-new?{V}",
            b'{"location": 5}',
            "InvalidRequestContent",
        ),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(served, method, path, raw, code):
    response = call(served, method, path, raw=raw)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == code


def test_an_oversized_body_is_413(served):
    response = call(served, "POST", f"{VMSS}/restart?{V}", raw=b" " * (4 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestEntityTooLarge"


@pytest.mark.parametrize(
    "path",
    [
        f"subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/..%2F..%2Fetc?{V}",
        f"subscriptions/{SUB}/resourceGroups/%2E%2E/providers/Microsoft.Compute/virtualMachineScaleSets/x?{V}",
        f"subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/a%2Fb?{V}",
        f"subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/a%00b?{V}",
    ],
)
def test_path_tricks_never_reach_a_file(served, path):
    response = call(served, "PUT", path, body={"location": "westeurope"})
    assert response.status_code == 400
    assert error_of(response)["code"] in ("InvalidRequestUri", "InvalidResourceName")


def test_an_invalid_name_in_a_create_is_400(served):
    path = f"{SETS}/bad*name?{V}"
    response = call(served, "PUT", path, body={"location": "westeurope"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidResourceName"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"{VMSS}", 400, "MissingApiVersionParameter"),
        (f"{VMSS}?api-version=1999-01-01", 400, "InvalidApiVersionParameter"),
        (f"{VMSS}?api-version=latest", 400, "InvalidApiVersionParameter"),
        (f"{VMSS}/frobnicate?{V}", 400, "InvalidResourceType"),
        (
            f"subscriptions/{SUB}/providers/Microsoft.Nope/things?{V}",
            400,
            "InvalidResourceNamespace",
        ),
        (f"nothing/here?{V}", 404, "NotFound"),
    ],
)
def test_unknown_routes_and_versions_answer_arm_errors(served, path, status, code):
    response = call(served, "GET", path)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_a_method_a_resource_does_not_support_is_405(served):
    response = call(served, "DELETE", f"{VMSS}/instanceView?{V}")
    assert response.status_code == 405
    assert error_of(response)["code"] == "MethodNotAllowed"


def test_domain_refusals_keep_their_status_and_text(served):
    response = call(served, "POST", f"{VMSS}/rollingUpgrades/cancel?{V}")
    assert response.status_code == 409
    assert error_of(response) == {
        "code": "OperationNotAllowed",
        "message": "There is no ongoing Rolling Upgrade to cancel.",
        "details": [],
    }
    response = call(served, "POST", f"{VMSS}/restart?{V}", body={"instanceIds": ["3"]})
    assert response.status_code == 400
    assert error_of(response)["target"] == "instanceIds"


def test_every_response_carries_request_and_correlation_ids(served):
    response = call(served, "GET", f"{VMSS}?{V}", headers={"x-ms-correlation-request-id": "abc"})
    assert response.status_code == 200
    assert response.headers["x-ms-correlation-request-id"] == "abc"
    assert len(response.headers["x-ms-request-id"]) == 36


def test_the_server_listens_on_loopback_only(served):
    import socket

    host = served.url.split("//", 1)[1].split(":")[0]
    assert host == "localhost"
    port = int(served.url.rstrip("/").rsplit(":", 1)[1])
    addresses = [
        a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")
    ]
    for address in addresses:
        with socket.socket() as probe:
            probe.settimeout(1)
            assert probe.connect_ex((address, port)) != 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port must be between 0 and 65535."),
        (["--port", "http"], "ERROR: argument --port: invalid int value: 'http'"),
        (["--speed", "0"], "--speed must be a number between 0 and 10000"),
        (["--speed", "fast"], "--speed must be a number between 0 and 10000"),
        (["--host", "256.0.0.1", "--port", "0"], "Cannot listen on 256.0.0.1:0"),
    ],
    ids=["port-range", "port-text", "speed-zero", "speed-text", "host"],
)
def test_serve_refuses_bad_flags_on_one_line_before_listening(state_path, args, message):
    from conftest import invoke

    before = state_path.read_bytes()
    result = invoke(["serve", *args], state_path)

    assert result.exit_code != 0
    # the error is the first line; an argument error goes on with az's examples, as az's do
    assert message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    assert state_path.read_bytes() == before


def test_serve_refuses_a_port_in_use(state_path):
    import socket

    from conftest import invoke

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        result = invoke(["serve", "--port", port], state_path)
    finally:
        taken.close()

    assert result.exit_code == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_runs_with_the_garbage_collector_on(state_path, monkeypatch):
    """The everyday commands switch the cyclic collector off (they exit in a moment); a
    server runs for hours and must not keep what its requests leave in cycles."""
    import gc

    from conftest import invoke

    seen = []
    monkeypatch.setattr("vmsscli.arm.server.serve", lambda *a, **k: seen.append(gc.isenabled()))
    gc.disable()  # as `vmss` itself does before any command runs
    try:
        result = invoke(["serve", "--port", "0"], state_path)
    finally:
        gc.enable()
    assert result.exit_code == 0, result.stderr
    assert seen == [True]
