"""`vmss monitor activity-log list`: the activity history as Azure Monitor's events (az 2.91's
flags, `$filter` and EventData shape), the same query over `vmss serve`, and the real az
printing the same bytes."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REAL_HOME, invoke, start_endpoint, stop_endpoint, vmss_executable
from hypothesis import given, settings
from hypothesis import strategies as st
from realaz import ensure_az

from vmsscli.domain.activity_query import events, parse_filter
from vmsscli.errors import ServiceError
from vmsscli.model import ActivityEntry, ActivityLog

WEB = ["-g", "rg-web", "-n", "web-vmss"]
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
WEB_ID = f"{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss"


def demo_at(moment: datetime):
    from vmsscli.demo import demo_state
    from vmsscli.model import ClockSettings

    state = demo_state()
    state.clock = ClockSettings(mode="manual", now=moment)
    return state


@pytest.fixture
def state_path(tmp_path):
    """The demo fleet on a manual clock at T0."""
    from vmsscli.store import serialize

    path = tmp_path / "state.json"
    path.write_bytes(serialize(demo_at(datetime(2026, 11, 23, 10, tzinfo=UTC)), path))
    return path


@pytest.fixture
def vmss(state_path):
    def run(*args: str, ok: bool = True):
        result = invoke(list(args), state_path)
        if ok:
            assert result.exit_code == 0, result.stderr
        return result

    return run


def listed(vmss, *args: str) -> list[dict]:
    return vmss("monitor", "activity-log", "list", *args, "-o", "json").json()


def test_a_restart_is_two_events_with_one_correlation_id_newest_first(vmss):
    vmss("restart", *WEB, "--instance-ids", "1", "2", "-o", "none")
    vmss("clock", "advance", "10m", "-o", "none")

    found = listed(vmss, "-g", "rg-web", "--offset", "1h")

    restart = [e for e in found if e["operationName"]["value"].endswith("/restart/action")]
    assert [e["status"]["value"] for e in restart] == ["Succeeded", "Started"]
    succeeded, started = restart
    assert succeeded["correlationId"] == started["correlationId"]
    assert started["eventName"] == {"value": "BeginRequest", "localizedValue": "Begin request"}
    assert succeeded["eventName"]["value"] == "EndRequest"
    assert started["operationName"] == {
        "value": "Microsoft.Compute/virtualMachineScaleSets/restart/action",
        "localizedValue": "Restart Virtual Machine Scale Set",
    }
    assert started["eventTimestamp"] == "2026-11-23T10:00:00.0000000Z"
    assert succeeded["eventTimestamp"] > started["eventTimestamp"]
    assert started["category"] == {"value": "Administrative", "localizedValue": "Administrative"}
    assert started["level"] == "Informational"
    assert started["resourceId"] == WEB_ID and started["resourceGroupName"] == "rg-web"
    assert started["resourceGroup"] == "rg-web"  # az's transform, beside the event's id
    assert started["resourceType"]["value"] == "Microsoft.Compute/virtualMachineScaleSets"
    assert started["resourceProviderName"]["value"] == "Microsoft.Compute"
    assert started["authorization"] == {
        "action": "Microsoft.Compute/virtualMachineScaleSets/restart/action",
        "scope": WEB_ID,
    }
    assert started["httpRequest"]["method"] == "POST"
    assert started["properties"]["requestbody"] == '{"instanceIds":["1","2"]}'
    assert started["id"].startswith(f"{WEB_ID}/events/{started['eventDataId']}/ticks/")
    assert started["eventDataId"] != succeeded["eventDataId"]
    assert started["caller"] == "operator@vmsscli.local"


def test_each_filter_narrows_as_azure_does(vmss):
    vmss("restart", *WEB, "--instance-ids", "1", "-o", "none")
    vmss("clock", "advance", "10m", "-o", "none")
    vmss("restart", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "0", "-o", "none")
    vmss("clock", "advance", "10m", "-o", "none")

    everything = listed(vmss)
    web = listed(vmss, "-g", "RG-WEB")
    assert web and all(e["resourceGroupName"] == "rg-web" for e in web)
    assert len(web) < len(everything)
    one = web[0]["correlationId"]
    by_correlation = listed(vmss, "--correlation-id", one)
    assert {e["correlationId"] for e in by_correlation} == {one}
    # az sends only the first of correlation id, group, resource id and namespace.
    assert listed(vmss, "--correlation-id", one, "-g", "rg-batch") == by_correlation
    by_resource = listed(vmss, "--resource-id", WEB_ID.upper())
    assert by_resource and all(e["resourceId"] == WEB_ID for e in by_resource)
    assert listed(vmss, "--namespace", "Microsoft.Compute") == [
        e for e in everything if e["resourceProviderName"]["value"] == "Microsoft.Compute"
    ]
    assert [e["status"]["value"] for e in listed(vmss, "--status", "Started")] == ["Started"] * (
        len([e for e in everything if e["status"]["value"] == "Started"])
    )
    assert listed(vmss, "--caller", "someone@else") == []
    assert listed(vmss, "--caller", "operator@vmsscli.local") == everything


def test_time_range_offset_max_events_and_select(vmss):
    vmss("restart", *WEB, "--instance-ids", "1", "-o", "none")
    vmss("clock", "advance", "3h", "-o", "none")
    vmss("restart", *WEB, "--instance-ids", "2", "-o", "none")
    vmss("clock", "advance", "10m", "-o", "none")

    recent = listed(vmss, "--offset", "1h")
    assert {e["properties"].get("requestbody") for e in recent} >= {'{"instanceIds":["2"]}'}
    assert '{"instanceIds":["1"]}' not in {e["properties"].get("requestbody") for e in recent}
    assert len(listed(vmss, "--offset", "6h")) > len(recent)
    window = listed(vmss, "--start-time", "2026-11-23T09:59:00Z", "--offset", "90s")
    assert {e["eventTimestamp"][:16] for e in window} == {"2026-11-23T10:00"}
    assert listed(vmss, "--end-time", "2026-11-23T09:00:00Z") == []
    assert len(listed(vmss, "--max-events", "1")) == 1
    chosen = listed(vmss, "--select", "eventTimestamp", "status", "--max-events", "2")
    assert [sorted(e) for e in chosen] == [["eventTimestamp", "status"]] * 2


def test_the_caller_is_who_ran_the_command(vmss, monkeypatch):
    monkeypatch.setenv("VMSSCLI_CALLER", "alice@contoso.com")
    vmss("restart", *WEB, "--instance-ids", "1", "-o", "none")
    vmss("clock", "advance", "10m", "-o", "none")
    monkeypatch.delenv("VMSSCLI_CALLER")

    found = listed(vmss, "--caller", "alice@contoso.com")
    assert [e["status"]["value"] for e in found] == ["Succeeded", "Started"]
    assert all(e["claims"]["name"] == "alice@contoso.com" for e in found)


def test_a_failed_operation_is_an_error_event_with_its_message(vmss):
    # A rolling upgrade needs a health source: tools-vmss has none.
    vmss("rolling-upgrade", "start", "-g", "rg-batch", "-n", "tools-vmss", ok=False)
    vmss("update", *WEB, "--set", "virtualMachineProfile.storageProfile.imageReference."
         "version=22.04.202411200", "-o", "none")  # fmt: skip
    for _ in range(6):
        vmss("clock", "advance", "10m", "-o", "none")
    failed = listed(vmss, "--status", "Failed", "--offset", "2h")
    for event in failed:
        assert event["level"] == "Error"
        assert event["properties"]["statusCode"] == "BadRequest"
        assert '"error"' in event["properties"]["statusMessage"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--select", "foo"], 2, "'foo' is not a valid value for '--select'. Allowed values: "
         "authorization, claims, caller, description, id,"),
        (["--offset", "bad"], 2, "argument --offset: invalid period_type value: 'bad'"),
        (["--max-events", "abc"], 2, "argument --max-events: invalid int value: 'abc'"),
        (["--start-time", "foo"], 1, "Unable to parse: 'foo'. Expected format: Start time of "
         "the query. Format: date (yyyy-mm-dd) time (hh:mm:ss.xxxxx) timezone (+/-hh:mm)"),
        (["--offset", "PT1H"], 1, "az 2.91 takes ##d##h##m##s here"),
        (["--start-time", "2026-01-01"], 1, "(BadRequest) The start time 2026-01-01T00:00:00Z "
         "is more than 90 days in the past"),
        (["--start-time", "2026-11-23T10:00:00Z", "--end-time", "2026-11-23T09:00:00Z"], 1,
         "(BadRequest) $filter searching parameters invalid: the start time is later"),
    ],
)  # fmt: skip
def test_errors_as_az_gives_them(vmss, state_path, args, code, message):
    before = state_path.read_bytes()
    result = vmss("monitor", "activity-log", "list", *args, ok=False)
    assert result.exit_code == code, result.stderr
    assert result.stderr.startswith("ERROR: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert state_path.read_bytes() == before


def test_an_offset_is_read_as_az_reads_it():
    from vmsscli.cli.commands.monitor import period

    assert period("6h") == timedelta(hours=6)
    assert period("1d12h") == timedelta(days=1, hours=12)
    assert period("90m") == timedelta(minutes=90)  # a lone ##m is minutes
    assert period("1h30m") == timedelta(hours=1, minutes=30)
    assert period("1y") == timedelta(0)  # az reads years and drops them


# --- the query over the log (domain) ----------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _entry(minutes: int, rg: str, status: str, correlation: str) -> ActivityEntry:
    return ActivityEntry(
        time=NOW - timedelta(minutes=minutes),
        operation="Microsoft.Compute/virtualMachineScaleSets/restart/action",
        resource_id=f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/x",
        status=status,
        correlation_id=correlation,
    )


entries = st.lists(
    st.builds(
        _entry,
        st.integers(0, 600),
        st.sampled_from(["rg-a", "rg-b"]),
        st.sampled_from(["Started", "Succeeded", "Failed"]),
        st.sampled_from(["c1", "c2", "c3"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    entries,
    st.integers(0, 600),
    st.integers(0, 600),
    st.sampled_from([None, ("resourceGroupName", "RG-A"), ("correlationId", "c2")]),
    st.sampled_from([None, "Failed", "started"]),
)
def test_a_query_selects_exactly_the_matching_events_newest_first(
    log_entries, back, length, scope, status
):
    start = NOW - timedelta(minutes=back)
    end = start + timedelta(minutes=length)
    text = f"eventTimestamp ge {start.isoformat()} and eventTimestamp le '{end.isoformat()}'"
    if scope:
        text += f" and {scope[0]} eq '{scope[1]}'"
    if status:
        text += f" and status eq '{status}'"
    found = events(ActivityLog(log_entries), parse_filter(text, NOW), caller="me")

    def wanted(e: ActivityEntry) -> bool:
        if not start <= e.time <= end:
            return False
        if scope and scope[0] == "resourceGroupName" and "/rg-a/" not in e.resource_id:
            return False
        if scope and scope[0] == "correlationId" and e.correlation_id != "c2":
            return False
        return not status or e.status.lower() == status.lower()

    expected = [e for e in log_entries if wanted(e)]
    assert sorted(map(id, found)) == sorted(map(id, expected))
    assert [e.time for e in found] == sorted((e.time for e in found), reverse=True)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "resourceGroupName eq 'x'",
        "eventTimestamp ge 2026-11-23T10:00:00Z and foo eq 'x'",
        "eventTimestamp ge 2026-11-23T10:00:00Z and caller ne 'x'",
        "eventTimestamp ge yesterday",
        "eventTimestamp ge 2026-11-23T10:00:00Z and resourceGroupName eq 'a' and "
        "correlationId eq 'b'",
    ],
)
def test_a_filter_azure_would_refuse_is_a_bad_request(text):
    with pytest.raises(ServiceError) as raised:
        parse_filter(text, NOW)
    assert raised.value.code == "BadRequest"


def test_azure_channel_and_level_clauses_are_understood():
    log = ActivityLog([_entry(5, "rg-a", "Failed", "c1"), _entry(5, "rg-a", "Started", "c2")])
    text = (
        "eventTimestamp ge 2026-11-23T11:00:00Z and eventTimestamp le 2026-11-23T12:00:00Z "
        "and eventChannels eq 'Admin, Operation' and levels eq 'Critical,Error'"
    )
    assert [e.correlation_id for e in events(log, parse_filter(text, NOW), caller="")] == ["c1"]


# --- over the endpoint ------------------------------------------------------------------------


def test_the_sdk_reads_a_long_answer_page_by_page(endpoint):
    import requests
    from azure.mgmt.monitor import MonitorManagementClient
    from test_endpoint_sdk import SUB as SUBSCRIPTION
    from test_endpoint_sdk import StaticToken

    from vmsscli.demo import demo_state

    state = demo_state()
    state.activity_log = ActivityLog(
        [_entry(i % 300, "rg-a", "Succeeded", f"c{i}") for i in range(450)]
    )
    endpoint.reset(state)
    text = (
        f"eventTimestamp ge {(NOW - timedelta(hours=6)).isoformat()} and eventTimestamp le "
        f"{NOW.isoformat()} and resourceGroupName eq 'rg-a'"
    )
    client = MonitorManagementClient(
        StaticToken(endpoint.token),
        SUBSCRIPTION,
        base_url=endpoint.url,
        connection_verify=endpoint.ca,
        credential_scopes=[endpoint.url + ".default"],
    )
    pages = list(client.activity_logs.list(filter=text, select="correlationId,status").by_page())
    seen = [event for page in pages for event in page]
    assert len(pages) == 3 and len(seen) == 450
    assert len({e.correlation_id for e in seen}) == 450
    assert {e.status.value for e in seen} == {"Succeeded"} and seen[0].caller is None

    raw = requests.get(
        f"{endpoint.url}subscriptions/{SUBSCRIPTION}/providers/Microsoft.Insights/eventtypes/"
        "management/values",
        params={"$filter": text, "api-version": "2015-04-01"},
        headers={"Authorization": f"Bearer {endpoint.token}"},
        verify=endpoint.ca,
        timeout=30,
    )
    first = raw.json()["value"][0]
    assert "resourceGroup" not in first  # az adds it when it prints; the wire has none
    refused = requests.get(
        raw.url.replace("resourceGroupName", "colour"),
        headers={"Authorization": f"Bearer {endpoint.token}"},
        verify=endpoint.ca,
        timeout=30,
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadRequest"


# --- the real az through the endpoint --------------------------------------------------------


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("activity-oracle"))
    served.az = az
    yield served
    stop_endpoint(served)


def _run(served, *argv: str, through_az: bool = False) -> tuple[int, str, str]:
    args = ["az", *argv] if through_az else list(argv)
    done = subprocess.run(
        [vmss_executable(), *args], capture_output=True, text=True,
        env=served.env(VMSSCLI_AZ=served.az), timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


RANGE = ["--start-time", "2026-11-23T11:00:00Z", "--end-time", "2026-11-23T13:00:00Z"]


@pytest.mark.parametrize(
    "extra",
    [
        ["-o", "json"],
        ["-o", "table"],
        ["-o", "tsv"],
        ["-g", "rg-web", "--select", "operationName", "status", "caller", "-o", "json"],
        ["--status", "Succeeded", "--max-events", "1", "-o", "yaml"],
    ],
)
def test_the_real_az_prints_the_same_bytes(oracle, extra):
    if extra == ["-o", "json"]:
        oracle.reset(demo_at(datetime(2026, 11, 23, 12, tzinfo=UTC)))
        # One event from the command line, one through the real az (its caller: the client).
        assert _run(oracle, "restart", *WEB, "--instance-ids", "1")[0] == 0
        done = _run(
            oracle, "vmss", "restart", *WEB, "--instance-ids", "2", "--no-wait", through_az=True
        )
        assert done[0] == 0, done[2]
    argv = ["monitor", "activity-log", "list", *RANGE, *extra]
    through_az = _run(oracle, *argv, through_az=True)
    assert through_az[0] == 0, through_az[2]
    assert through_az[:2] == _run(oracle, *argv)[:2]
    if extra == ["-o", "json"]:
        import json

        callers = {e["caller"] for e in json.loads(through_az[1])}
        assert "operator@vmsscli.local" in callers and len(callers) == 2
