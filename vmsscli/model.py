"""The state schema: our own compact facts about a simulated subscription (not the REST shape).

Every field has a default so a hand-written file stays short; defaults that depend on other
fields (zone, fault domain, creation time, the id counter) are filled in after validation, so
a loaded state is always complete. Nothing is ever `None` in a written file: optional values are
either omitted or filled, which keeps TOML (which has no null) and JSON round-trips lossless.
The Azure-shaped JSON that commands print is rendered from these facts by `vmsscli.views`.

The classes are standard-library dataclasses that pydantic validates and serializes (through
`vmsscli.schema`): defining them costs a few milliseconds, where pydantic model classes cost
about a hundred on every run of `vmss`. Constraints are written in the annotations, which stay
strings until pydantic reads them (`annotation_names` supplies the names they use).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any, Literal

if TYPE_CHECKING:
    from annotated_types import Ge, Gt, Le

SCHEMA_VERSION = 2
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_LOCATION = "westeurope"
# A fixed creation time for hand-written resources that do not give one, so that loading the
# same file twice renders the same output.
DEFAULT_CREATED = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)

PowerState = Literal["running", "stopped", "deallocated", "starting", "stopping", "deallocating"]
ProvisioningState = Literal["Succeeded", "Failed", "Creating", "Updating", "Deleting"]
Health = Literal["healthy", "unhealthy", "unknown"]
UpgradeMode = Literal["Automatic", "Manual", "Rolling"]

APP_HEALTH_TYPES = ("ApplicationHealthLinux", "ApplicationHealthWindows")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _duration(text: str) -> str:
    from vmsscli.durations import parse_duration

    parse_duration(text)
    return text


def _regular_expression(value: str) -> str:
    import re

    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"pattern {value!r} is not a regular expression: {exc}") from None
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("zones must not repeat")
    return values


def annotation_names() -> dict[str, Any]:
    """The names the field annotations use that come from pydantic, for pydantic to resolve
    them when it builds the schema (never imported on the way to a command's answer)."""
    from operator import methodcaller

    from annotated_types import Ge, Gt, Le
    from pydantic import AfterValidator, AwareDatetime, Field

    return {
        # The activity log is held beside the document, never in it.
        "NotInDocument": Field(exclude=True),
        "Ge": Ge,
        "Gt": Gt,
        "Le": Le,
        # Every time in the file: with an offset (UTC is written), in a range time arithmetic
        # can use, held in UTC. The range is checked by pydantic-core and the conversion is a
        # C call: a Python function here would be a third of validating a large file.
        "Moment": Annotated[
            AwareDatetime, Ge(EARLIEST), Le(LATEST), AfterValidator(methodcaller("astimezone", UTC))
        ],
        # An operation's duration (see vmsscli.durations).
        "Duration": Annotated[str, AfterValidator(_duration)],
        "Pattern": Annotated[str, AfterValidator(_regular_expression)],
        "Zones": Annotated[list[str], AfterValidator(_unique)],
    }


if TYPE_CHECKING:
    NotInDocument = None
    Moment = datetime
    Duration = str
    Pattern = str
    Zones = list[str]


# Per class, the getter of its field values as a tuple (what dataclass equality compares), and
# its fields as (name, default, default factory) for `Strict.__init__`.
_values_of: dict[type, Any] = {}
_init_plans: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


class Strict:
    """Unknown keys are errors: a typo in a hand-edited file must not be silently ignored.

    The keyword-only constructor, equality and repr are written once here rather than
    generated for every class: dataclass compiles each generated method from source, which
    made defining the schema cost more than loading a 1000-instance state from the cache, on
    every run of `vmss`. They behave as the dataclass ones. (Validation and unpickling build
    objects without calling `__init__`.) Every class has a docstring: for one without,
    `dataclass` builds one from the signature, which costs more than the class itself.
    """

    __slots__ = ()
    __pydantic_config__ = {"extra": "forbid"}
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, **values: Any) -> None:
        cls = self.__class__
        plan = _init_plans.get(cls)
        if plan is None:
            plan = _init_plans[cls] = tuple(
                (f.name, f.default, None if f.default_factory is MISSING else f.default_factory)
                for f in cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
            )
        for name, default, factory in plan:
            if name in values:
                value = values.pop(name)
            elif factory is not None:
                value = factory()
            elif default is not MISSING:
                value = default
            else:
                raise TypeError(
                    f"{cls.__name__}.__init__() missing 1 required keyword-only argument: '{name}'"
                )
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(values))}'"
            )
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        values = _values_of.get(self.__class__)
        if values is None:
            values = _values_of[self.__class__] = attrgetter(*self.__dataclass_fields__)
        return values(self) == values(other)

    def __repr__(self) -> str:
        values = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__dataclass_fields__)
        return f"{type(self).__name__}({values})"


def schema_class(cls: type | None = None, *, compiled_init: bool = False) -> Any:
    """A class of the state schema: a dataclass with slots and keyword-only fields, taking its
    constructor, equality and repr from `Strict`. `compiled_init` keeps dataclass's generated
    constructor, for a class pydantic builds as a default for every instance (to validate a
    file and to leave defaults out of one): there it is faster than the shared one by more
    than it costs to compile."""

    def make(cls: type) -> type:
        return dataclass(slots=True, kw_only=True, init=compiled_init, eq=False, repr=False)(cls)

    return make if cls is None else make(cls)


# --- the scale set model ---------------------------------------------------------------------


@schema_class
class ImageReference(Strict):
    """The marketplace image of the scale set model."""

    publisher: str = "Canonical"
    offer: str = "0001-com-ubuntu-server-jammy"
    sku: str = "22_04-lts-gen2"
    version: str = "latest"
    # What "latest" resolved to when instances were built; shown as `exactVersion`.
    exact_version: str = "22.04.202410020"


@schema_class
class Extension(Strict):
    """An extension in the scale set model (`virtualMachineProfile.extensionProfile`)."""

    name: str
    publisher: str
    type: str
    type_handler_version: str = "1.0"
    auto_upgrade_minor_version: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    # Never printed back (Azure does not return them); a digest, so that new ones are a change.
    protected_settings_digest: str = ""
    enable_automatic_upgrade: bool | None = None
    force_update_tag: str = ""
    provision_after_extensions: list[str] = field(default_factory=list)

    @property
    def is_app_health(self) -> bool:
        return self.type in APP_HEALTH_TYPES


# --- the simulated guest OS -------------------------------------------------------------------


@schema_class
class Service(Strict):
    """A systemd service (Windows: a service) in the guest. Fields left out (`None`) come from
    the image's definition of the service, or from defaults (active, no ports, no logs); the
    guest's effective services have them all filled (`vmsscli.guest.facts`)."""

    status: Literal["active", "inactive", "failed"] | None = None
    description: str | None = None
    ports: list[int] | None = None
    # Recent journal lines, oldest first (journalctl -u SERVICE).
    logs: list[str] | None = None


@schema_class
class Mount(Strict):
    """A mounted file system in the guest (df), sizes in GB."""

    size_gb: Annotated[float, Gt(0)] = 30.0
    used_gb: Annotated[float, Ge(0)] = 6.0
    device: str = ""


@schema_class
class CannedOutput(Strict):
    """A scenario's answer for scripts the interpreter does not model: the first entry whose
    regular expression matches the script wins."""

    pattern: Pattern
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


@schema_class(compiled_init=True)
class Guest(Strict):
    """Facts about the guest OS. On a scale set model: what the image provides to every
    instance; on an instance: what differs on that instance (a reimage clears it). Anything
    not given is derived from the instance (see vmsscli.guest.facts)."""

    hostname: str = ""
    memory_mb: Annotated[int, Ge(0)] = 0
    memory_used_mb: Annotated[int, Ge(0)] = 0
    # The service that answers the health probe; its status decides the instance's health.
    app_service: str = ""
    services: dict[str, Service] = field(default_factory=dict)
    mounts: dict[str, Mount] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    removed_files: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    canned: list[CannedOutput] = field(default_factory=list)
    # Spool folders -> the host their files are forwarded to: the files stay while that host
    # cannot be reached (a network-blocked fault) and are gone (forwarded) once it can.
    queues: dict[str, str] = field(default_factory=dict)


@schema_class
class VmModel(Strict):
    """The virtual machine profile every instance is built from."""

    version: Annotated[int, Ge(1)] = 1
    image: ImageReference = field(default_factory=ImageReference)
    os_type: Literal["Linux", "Windows"] = "Linux"
    computer_name_prefix: str = ""
    admin_username: str = "azureuser"
    os_disk_size_gb: Annotated[int, Ge(1)] = 30
    storage_account_type: str = "Premium_LRS"
    # Name of the load balancer health probe used for instance health, if any.
    health_probe: str = ""
    extensions: list[Extension] = field(default_factory=list)
    # What the image puts in every guest (services, files, canned answers).
    guest: Guest = field(default_factory=Guest)

    @property
    def app_health_extension(self) -> Extension | None:
        return next((e for e in self.extensions if e.is_app_health), None)

    @property
    def has_health_monitoring(self) -> bool:
        return bool(self.health_probe) or self.app_health_extension is not None


@schema_class
class RollingPolicy(Strict):
    """Azure's rolling upgrade policy; `None` flags are not sent and so not printed."""

    max_batch_instance_percent: Annotated[int, Ge(5), Le(100)] = 20
    max_unhealthy_instance_percent: Annotated[int, Ge(5), Le(100)] = 20
    max_unhealthy_upgraded_instance_percent: Annotated[int, Ge(0), Le(100)] = 20
    pause_time_between_batches: str = "PT0S"
    prioritize_unhealthy_instances: bool | None = None
    enable_cross_zone_upgrade: bool | None = None
    max_surge: bool | None = None
    rollback_failed_instances_on_policy_breach: bool | None = None


@schema_class
class UpgradePolicy(Strict):
    """How model changes reach the instances: Manual, Automatic or Rolling."""

    mode: UpgradeMode = "Manual"
    rolling: RollingPolicy | None = None


# --- instances -------------------------------------------------------------------------------


@schema_class
class Protection(Strict):
    """An instance's protection policy (both flags as Azure names them)."""

    scale_in: bool = False
    scale_set_actions: bool = False


@schema_class
class ExtensionState(Strict):
    """The state of one model extension on one instance; absent means it succeeded."""

    status: Literal["succeeded", "failed", "transitioning"] = "succeeded"
    message: str = ""
    # For a custom script's failure: the digest of the configuration that failed (an
    # unchanged one is not run again when the instance is upgraded); empty for a fault.
    applied: str = ""


@schema_class
class Fault(Strict):
    """A fault on an instance, repaired by the action that would repair it in Azure.

    `stale-process`: the application hangs (unhealthy); a restart, stop/start or reimage clears it.
    `disk-full`: the OS disk is full (unhealthy); only a reimage (fresh OS disk) clears it.
    `network-blocked`: `host` cannot be reached from the instance; it is outside the guest, so
    it survives restart and reimage until it is cleared. Extensions that download (any but the
    application health extension) fail when they run while it holds.
    `bad-model`: the model version the instance runs fails its health check (see
    `ScaleSet.failing_images`); only moving the instance to another model clears it.
    `stuck-provisioning`: the instance stays in provisioning state Updating (takes no traffic)
    whatever completes on it, until a reimage (or deleting it).
    """

    kind: Literal[
        "stale-process", "disk-full", "network-blocked", "bad-model", "stuck-provisioning"
    ]
    host: str = ""
    message: str = ""

    @property
    def external(self) -> bool:
        return self.kind == "network-blocked"


OperationName = Literal[
    "start",
    "stop",
    "deallocate",
    "restart",
    "reimage",
    "delete",
    "upgrade",
    "create",
    "maintenance",
]


@schema_class
class PendingOperation(Strict):
    """An operation in flight on an instance; it completes when the clock reaches `completes`."""

    name: OperationName
    started: Moment
    completes: Moment
    correlation_id: str


@schema_class
class RunCommandRecord(Strict):
    """One run-command invocation on an instance, with what it printed."""

    name: str
    command_id: str
    script: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    started: Moment
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    # Of its activity-log events: the endpoint's operation status finds the result by it.
    correlation_id: str = ""


@schema_class
class Maintenance(Strict):
    """Platform maintenance announced for an instance, as Azure's `maintenanceRedeployStatus`
    shows it. While `pending`, the customer may start it (`vmss perform-maintenance`): the VM
    reboots onto the updated host, and the record stays with `last_result` set. The windows
    are what Azure announces; the twin never starts the maintenance by itself."""

    pending: bool = True
    pre_window_start: Moment
    pre_window_end: Moment
    window_start: Moment
    window_end: Moment
    # How the last customer-initiated maintenance ended ("" for none yet: printed "None").
    last_result: Literal["", "MaintenanceCompleted", "MaintenanceAborted", "RetryLater"] = ""
    last_message: str = ""


@schema_class
class Instance(Strict):
    """One VM of a Uniform scale set, with the facts its views are rendered from."""

    id: Annotated[int, Ge(0)]
    zone: str = ""
    fault_domain: Annotated[int, Ge(0)] | None = None
    update_domain: Annotated[int, Ge(0)] | None = None
    power_state: PowerState = "running"
    provisioning_state: ProvisioningState = "Succeeded"
    # What the application reports to the health extension or probe while the VM runs.
    health: Health = "healthy"
    # 0 means "the scale set's current model version"; filled in on load.
    model_version: Annotated[int, Ge(0)] = 0
    # Image version the instance was built from when it is not on the current model.
    image_version: str = ""
    # "VirtualMachine" after an instance-level PUT (e.g. setting protection), as in Azure.
    model_definition_applied: Literal["VirtualMachineScaleSet", "VirtualMachine"] = (
        "VirtualMachineScaleSet"
    )
    protection: Protection | None = None
    extensions: dict[str, ExtensionState] = field(default_factory=dict)
    vm_agent: Literal["ready", "not_ready"] = "ready"
    created: Moment | None = None
    # When the provisioning or power state last changed.
    updated: Moment | None = None
    # When the guest OS last started (uptime); defaults to `created`.
    booted: Moment | None = None
    faults: list[Fault] = field(default_factory=list)
    operation: PendingOperation | None = None
    # How this guest differs from what the image provides (run-command reads and changes it).
    guest: Guest = field(default_factory=Guest)
    # The latest run-command invocations, newest last (`vmss run-command list`).
    run_commands: list[RunCommandRecord] = field(default_factory=list)
    # Platform maintenance announced for the instance (absent: none).
    maintenance: Maintenance | None = None
    # Since when the automatic repairs service has seen the instance unhealthy (None: it has
    # not, or the set has no repairs policy).
    unhealthy_since: Moment | None = None


@schema_class
class FailingImage(Strict):
    """A model whose image version fails its health check after an upgrade, on every instance
    or only on the given zones or instances (for rehearsing a rolling upgrade that must stop)."""

    version: str
    zones: list[str] = field(default_factory=list)
    instance_ids: list[int] = field(default_factory=list)
    message: str = ""


@schema_class
class PreviousModel(Strict):
    """What an instance ran before a rolling upgrade moved it (for rollback)."""

    model_version: int
    image_version: str = ""


@schema_class
class RollingUpgrade(Strict):
    """The latest rolling upgrade of a scale set, advanced batch by batch as time passes."""

    status: Literal["RollingForward", "Cancelled", "Completed", "Faulted"] = "RollingForward"
    started: Moment
    last_action: Literal["Start", "Cancel"] = "Start"
    last_action_time: Moment
    correlation_id: str = ""
    target_version: Annotated[int, Ge(1)] = 1
    batches: list[list[int]] = field(default_factory=list)
    # Index of the batch in flight, or of the next one.
    batch: int = 0
    phase: Literal["waiting", "upgrading", "surging", "replacing"] = "waiting"
    next_batch_at: Moment | None = None
    surge_ids: list[int] = field(default_factory=list)
    succeeded: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    previous: dict[str, PreviousModel] = field(default_factory=dict)
    cancel_requested: bool = False
    error_code: str = ""
    error_message: str = ""


@schema_class
class AutomaticRepairs(Strict):
    """The automatic repairs policy (`automaticRepairsPolicy`) and the state of the service that
    carries it out (`orchestrationServices` of the set's instance view)."""

    enabled: bool = True
    # ISO 8601, 10 to 90 minutes: how long after an instance's last state change it may be
    # repaired (Azure's default: PT10M).
    grace_period: str = "PT10M"
    repair_action: Literal["Replace", "Restart", "Reimage"] = "Replace"
    # `vmss set-orchestration-service-state --service-name AutomaticRepairs --action Suspend`.
    suspended: bool = False
    # The correlation ids of the repairs under way (at most 5% of the set at a time).
    under_way: list[str] = field(default_factory=list)


@schema_class
class ScaleSet(Strict):
    """A Uniform scale set: its model, policies and instances."""

    location: str = ""
    created: Moment = DEFAULT_CREATED
    vm_sku: str = "Standard_D2s_v3"
    zones: Zones = field(default_factory=list)
    orchestration_mode: Literal["Uniform", "Flexible"] = "Uniform"
    fault_domain_count: Annotated[int, Ge(1), Le(5)] = 5
    overprovision: bool = True
    single_placement_group: bool = True
    upgrade_policy: UpgradePolicy = field(default_factory=UpgradePolicy)
    scale_in_policy: list[Literal["Default", "OldestVM", "NewestVM"]] = field(default_factory=list)
    # scaleInPolicy.forceDeletion: kept and printed (a scale-in deletes as fast either way).
    force_deletion: bool = False
    automatic_repairs: AutomaticRepairs | None = None
    model: VmModel = field(default_factory=VmModel)
    tags: dict[str, str] = field(default_factory=dict)
    # Model image versions that fail their health check (rehearsing a bad rollout).
    failing_images: list[FailingImage] = field(default_factory=list)
    rolling_upgrade: RollingUpgrade | None = None
    # Ids grow and are never reused: the next new instance gets this id.
    next_instance_id: Annotated[int, Ge(0)] | None = None
    instances: list[Instance] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Fill in the defaults that depend on other fields (after validation, and when the
        domain builds a scale set), and check the rules across instances."""
        seen: set[int] = set()
        for position, inst in enumerate(self.instances):
            if inst.id in seen:
                raise ValueError(f"instance id {inst.id} appears twice (instances[{position}])")
            seen.add(inst.id)
            if self.zones:
                if not inst.zone:
                    inst.zone = self.zones[inst.id % len(self.zones)]
                elif inst.zone not in self.zones:
                    raise ValueError(
                        f"instances[{position}] (id {inst.id}) is in zone {inst.zone!r}, "
                        f"which is not one of the scale set's zones {self.zones}"
                    )
            elif inst.zone:
                raise ValueError(
                    f"instances[{position}] (id {inst.id}) has zone {inst.zone!r} but the "
                    "scale set is not zonal"
                )
            if inst.fault_domain is None:
                inst.fault_domain = inst.id % self.fault_domain_count
            if inst.update_domain is None:
                inst.update_domain = inst.id % 5
            if inst.model_version == 0 or inst.model_version > self.model.version:
                if inst.model_version > self.model.version:
                    raise ValueError(
                        f"instances[{position}] (id {inst.id}) is on model version "
                        f"{inst.model_version}, newer than the scale set's {self.model.version}"
                    )
                inst.model_version = self.model.version
            if inst.created is None:
                inst.created = self.created
            if inst.updated is None:
                inst.updated = inst.created
            if inst.booted is None:
                inst.booted = inst.created
        top = max(seen) + 1 if seen else 0
        if self.next_instance_id is None:
            self.next_instance_id = top
        elif self.next_instance_id < top:
            raise ValueError(
                f"next_instance_id {self.next_instance_id} is not above the highest instance id "
                f"{top - 1} (instance ids are never reused)"
            )

    @property
    def capacity(self) -> int:
        """Instances that count towards `sku.capacity` (those being deleted do not)."""
        return sum(1 for inst in self.instances if inst.provisioning_state != "Deleting")

    def instance(self, instance_id: int) -> Instance | None:
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        return None


@schema_class
class ResourceGroup(Strict):
    """A resource group and the scale sets in it."""

    location: str = DEFAULT_LOCATION
    tags: dict[str, str] = field(default_factory=dict)
    scale_sets: dict[str, ScaleSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for scale_set in self.scale_sets.values():
            if not scale_set.location:
                scale_set.location = self.location


# --- the subscription as a whole -------------------------------------------------------------


@schema_class
class ClockSettings(Strict):
    """`wall`: simulated time follows real time; `manual`: time moves only when told."""

    mode: Literal["wall", "manual"] = "wall"
    # The simulated "now" in manual mode.
    now: Moment = DEFAULT_CREATED
    # In wall mode, operations take 1/speed of their durations (`vmss serve` runs them faster
    # so that a client waiting on one returns in seconds); manual mode ignores it.
    speed: Annotated[float, Gt(0), Le(10000)] = 1.0


@schema_class
class Durations(Strict):
    """How long each operation takes in simulated time (per state file)."""

    start: Duration = "PT30S"
    stop: Duration = "PT30S"
    deallocate: Duration = "PT1M"
    restart: Duration = "PT1M"
    reimage: Duration = "PT3M"
    delete: Duration = "PT1M"
    upgrade: Duration = "PT2M"
    create: Duration = "PT2M"

    def of(self, name: str):
        from vmsscli.durations import parse_duration

        return parse_duration(getattr(self, name))


@schema_class
class SkippedInstance(Strict):
    """An instance a whole-set request left alone, and why."""

    instance_id: str
    reason: str


@schema_class
class UpgradeRecord(Strict):
    """How a rolling upgrade ended, kept with its last event: `get-os-upgrade-history`."""

    code: Literal["RollingForward", "Completed", "Cancelled", "Faulted"]
    started: Moment
    successful: Annotated[int, Ge(0)] = 0
    failed: Annotated[int, Ge(0)] = 0
    in_progress: Annotated[int, Ge(0)] = 0
    pending: Annotated[int, Ge(0)] = 0
    rolled_back: Annotated[int, Ge(0)] = 0
    image: ImageReference = field(default_factory=ImageReference)
    error_code: str = ""
    error_message: str = ""


@schema_class
class ActivityEntry(Strict):
    """One event of the activity log (Started, Succeeded or Failed)."""

    time: Moment
    operation: str
    resource_id: str
    status: Literal["Started", "Succeeded", "Failed"] = "Succeeded"
    instance_ids: list[str] = field(default_factory=list)
    skipped: list[SkippedInstance] = field(default_factory=list)
    error: str = ""
    command: str = ""
    # What was sent with the request, e.g. a run-command script.
    detail: str = ""
    correlation_id: str = ""
    # The instance ids the request named ([] for none: the whole set; "*" as given); absent
    # in entries written before it was recorded, which name them in `command`.
    requested: list[str] | None = None
    # On the last event of a rolling upgrade: how it ended.
    upgrade: UpgradeRecord | None = None
    # Who asked (Azure's `caller`): the operator named by VMSSCLI_CALLER, or the object id of
    # the endpoint's client; empty for the twin's default operator.
    caller: str = ""


def time_key(moment: datetime) -> str:
    """A time as text that sorts as the times do (UTC, microseconds): how the history database
    orders and compares event times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ActivityLog:
    """The activity log as the domain appends and reads it, by position (the order events were
    recorded in: 0, 1, ...), correlation id or time.

    A new state's log is held in memory. A state loaded from a file gets the log kept in its
    history database (`vmsscli.history.StoredActivityLog`), which holds in memory only the
    events this unit of work records: a command reads only what it asks for.
    """

    # Who this unit of work's events name as their caller (set by the session).
    caller: str = ""

    def __init__(self, entries: Any = ()) -> None:
        # Events recorded since the log was loaded (all of them, in memory).
        self.pending: list[ActivityEntry] = list(entries)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.any_schema()

    # What is kept elsewhere (none in memory): the position after it, and reads of it.
    def _kept_end(self) -> int:
        return 0

    def _kept(self, where: str, values: tuple[Any, ...]) -> list[ActivityEntry]:
        return []

    @property
    def end(self) -> int:
        """The position the next event takes (positions are never reused, even once retention
        has dropped old events)."""
        return self._kept_end() + len(self.pending)

    def append(self, entry: ActivityEntry) -> None:
        self.pending.append(entry)

    def since(self, position: int) -> list[ActivityEntry]:
        """The events from `position` on, in the order they were recorded."""
        kept_end = self._kept_end()
        kept = self._kept("position >= ?", (position,)) if position < kept_end else []
        return kept + self.pending[max(0, position - kept_end) :]

    def with_correlation(self, correlation_id: str) -> list[ActivityEntry]:
        kept = self._kept("correlation_id = ?", (correlation_id,))
        return kept + list(self._pending_by_correlation().get(correlation_id, ()))

    def _pending_by_correlation(self) -> dict[str, list[ActivityEntry]]:
        """The recorded events by correlation id, kept up to date as events are appended: a
        long simulated day completes thousands of operations, each looking up its own."""
        pending = self.pending
        index = getattr(self, "_index", None)
        if index is None or index[0] is not pending or index[1] > len(pending):
            index = (pending, 0, {})
        _same, done, by = index
        for entry in pending[done:]:
            by.setdefault(entry.correlation_id, []).append(entry)
        self._index = (pending, len(pending), by)
        return by

    def for_resource(self, resource_id: str) -> list[ActivityEntry]:
        """The events of one resource (its id matched case-insensitively, as Azure does)."""
        key = resource_id.casefold()
        kept = self._kept("resource_id = ?", (key,))
        return kept + [e for e in self.pending if e.resource_id.casefold() == key]

    def between(self, start: datetime | None, end: datetime | None) -> list[ActivityEntry]:
        """The events whose time is in [start, end] (either end open), in recorded order."""
        low = time_key(start) if start else ""
        high = time_key(end) if end else "~"
        kept = self._kept("time >= ? AND time <= ?", (low, high))
        return kept + [e for e in self.pending if low <= time_key(e.time) <= high]

    def count(self) -> int:
        """How many events there are (fewer than `end` once retention has dropped some)."""
        return self._kept_count() + len(self.pending)

    def _kept_count(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return iter(self.since(0))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ActivityLog):
            return self.since(0) == other.since(0)
        if isinstance(other, list):
            return self.since(0) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(end={self.end}, pending={len(self.pending)})"

    def __reduce__(self) -> Any:
        # A pickled state (the read cache) carries no log: the store attaches one on load.
        return (ActivityLog, ())


@schema_class
class HistoryDocument(Strict):
    """What the state document says about its activity log, which is kept beside it (see
    `vmsscli.history`)."""

    # The generation of the history database this document agrees with: events written under
    # a later one belong to a write that never completed.
    generation: Annotated[int, Ge(0)] = 0
    # Events of earlier generations are from a state this one replaced (a reset or a copy).
    first_generation: Annotated[int, Ge(0)] = 0
    # Events older than this many days before the newest are dropped (Azure keeps 90).
    retention_days: Annotated[int, Ge(1)] = 90
    # Events carried in the document itself: a file written by `vmss state export`, or one
    # from before the history database. The next write moves them into the database.
    events: list[ActivityEntry] = field(default_factory=list)


@schema_class
class Baseline(Strict):
    """A scale set as an exercise found it: what was serving, on which image."""

    serving: list[int] = field(default_factory=list)
    instances: list[int] = field(default_factory=list)
    image_version: str = ""


@schema_class
class ExerciseRun(Strict):
    """The exercise under way in this state file (`vmss exercise start`)."""

    name: str
    started: Moment
    # Activity-log entries before this index were there before the exercise began.
    log_start: Annotated[int, Ge(0)] = 0
    hints_shown: Annotated[int, Ge(0)] = 0
    # Keyed "resource-group/scale-set".
    baseline: dict[str, Baseline] = field(default_factory=dict)


@schema_class
class State(Strict):
    """Everything vmsscli simulates for one subscription: the whole state file."""

    schema_version: int = SCHEMA_VERSION
    subscription_id: str = DEFAULT_SUBSCRIPTION
    clock: ClockSettings = field(default_factory=ClockSettings)
    durations: Durations = field(default_factory=Durations)
    resource_groups: dict[str, ResourceGroup] = field(default_factory=dict)
    history: HistoryDocument = field(default_factory=HistoryDocument)
    exercise: ExerciseRun | None = None
    activity_log: Annotated[ActivityLog, NotInDocument] = field(
        init=False, default_factory=ActivityLog
    )

    def scale_sets(self):
        """Every (resource group name, scale set name, scale set), in file order."""
        for rg_name, group in self.resource_groups.items():
            for name, scale_set in group.scale_sets.items():
                yield rg_name, name, scale_set
