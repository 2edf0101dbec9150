"""The wire (REST) shape of each Azure object, from the one mapping both doors share.

`vmsscli.views` renders an object as az prints it: `properties` flattened into its parent,
`resourceGroup` beside every id, no nulls. Which keys of an object travel inside `properties`
on the wire is the only thing the printed shape does not say; a `Shape` says it, per object
and for the objects nested in it. From the same shapes:

- `to_rest(printed, SHAPE)`: what the endpoint sends;
- `flatten(rest, SHAPE)`: what az prints for a response (client flatten, nulls dropped,
  `resourceGroup` added as az's global transform adds it). Requests the endpoint receives are
  read through it too, so a body is understood exactly as a response would be printed.

Keys at the wrong level are what az and the SDKs silently drop, so the tests check that every
printed object survives `flatten(to_rest(...))` and the SDK's own models.
"""

from __future__ import annotations

from typing import Any


class Shape:
    """How one kind of object travels. `envelope`: the keys that stay at the top of a
    resource-like object (everything else goes into `properties`); None for a plain object
    with no `properties` wrapper. `children`: the shapes of the values under some keys (for
    a list, of each item)."""

    __slots__ = ("envelope", "children")

    def __init__(
        self, envelope: tuple[str, ...] | None = None, children: dict[str, Shape] | None = None
    ) -> None:
        self.envelope = frozenset(envelope) if envelope is not None else None
        self.children = children or {}


PLAIN = Shape()
# A sub-resource of a model (network interface and IP configurations, extensions).
SUB_RESOURCE = ("id", "name")
RESOURCE = (
    "id",
    "name",
    "type",
    "location",
    "tags",
    "etag",
    "sku",
    "plan",
    "zones",
    "identity",
    "extendedLocation",
    "systemData",
    "managedBy",
    "kind",
)

PUBLIC_IP_CONFIGURATION = Shape((*SUB_RESOURCE, "sku"))
IP_CONFIGURATION = Shape(SUB_RESOURCE, {"publicIPAddressConfiguration": PUBLIC_IP_CONFIGURATION})
NIC_CONFIGURATION = Shape(SUB_RESOURCE, {"ipConfigurations": IP_CONFIGURATION})
NETWORK_PROFILE = Shape(children={"networkInterfaceConfigurations": NIC_CONFIGURATION})
# An extension of the scale set model: its handler's `type` is a property.
VMSS_EXTENSION = Shape(SUB_RESOURCE)
VMSS = Shape(
    RESOURCE,
    {
        "virtualMachineProfile": Shape(
            children={
                "networkProfile": NETWORK_PROFILE,
                "extensionProfile": Shape(children={"extensions": VMSS_EXTENSION}),
            }
        )
    },
)
# An extension installed on one instance (a resource of its own: `type` is its resource type).
VM_EXTENSION = Shape(("id", "name", "type", "location", "tags"))
VMSS_VM = Shape(
    (*RESOURCE, "instanceId", "resources"),
    {"networkProfileConfiguration": NETWORK_PROFILE, "resources": VM_EXTENSION},
)
# A network interface as Microsoft.Network sends it (az prints it flattened).
NIC = Shape(RESOURCE, {"ipConfigurations": Shape((*SUB_RESOURCE, "etag", "type"))})
ROLLING_UPGRADE_STATUS = Shape(RESOURCE)
RUN_COMMAND = Shape(RESOURCE)


def listing(items: list[Any], shape: Shape, next_link: str | None = None) -> dict[str, Any]:
    """A list response: `{"value": [...]}` with the items in their wire shape."""
    out: dict[str, Any] = {"value": to_rest(items, shape)}
    if next_link:
        out["nextLink"] = next_link
    return out


def to_rest(value: Any, shape: Shape = PLAIN) -> Any:
    """A printed object (or list of them) in its wire shape: the keys outside the envelope go
    into `properties`, and the `resourceGroup` az adds beside ids is left out. Objects shared
    between items (views share the parts every instance has) are converted once."""
    return _Converter().rest(value, shape)


class _Converter:
    def __init__(self) -> None:
        self.done: dict[tuple[int, int], Any] = {}
        self.keep: list[Any] = []  # the memo's keys stay valid while their objects live

    def rest(self, value: Any, shape: Shape) -> Any:
        if isinstance(value, list):
            return [self.rest(item, shape) for item in value]
        if not isinstance(value, dict):
            return value
        memo = (id(value), id(shape))
        found = self.done.get(memo)
        if found is not None:
            return found
        envelope = shape.envelope
        children = shape.children
        top: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        has_id = "id" in value
        for key, item in value.items():
            if key == "resourceGroup" and has_id:
                continue
            if isinstance(item, dict | list):
                item = self.rest(item, children.get(key, PLAIN))
            if envelope is None or key in envelope:
                top[key] = item
            else:
                properties[key] = item
        if envelope is not None and properties:
            top["properties"] = properties
        self.done[memo] = top
        self.keep.append(value)
        return top


def flatten(value: Any, shape: Shape = PLAIN) -> Any:
    """What az prints for a wire object: `properties` merged into its parent where the shape
    says so (a key in both is an error, as it is in az), null values dropped, and
    `resourceGroup` added beside every resource-group-scoped id."""
    out = _flat(value, shape)
    add_resource_groups(out)
    return out


def _flat(value: Any, shape: Shape) -> Any:
    if isinstance(value, list):
        return [_flat(item, shape) for item in value if item is not None]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    children = shape.children
    wrapped = shape.envelope is not None
    for key, item in value.items():
        if key == "properties" and wrapped and isinstance(item, dict):
            for inner, inner_item in item.items():
                if inner_item is None:
                    continue
                if inner in out:
                    raise ValueError(f"Conflict key when apply client flatten: {inner}")
                out[inner] = _flat(inner_item, children.get(inner, PLAIN))
            continue
        if item is None:
            continue
        if key in out:
            raise ValueError(f"Conflict key when apply client flatten: {key}")
        out[key] = _flat(item, children.get(key, PLAIN))
    return out


def add_resource_groups(value: Any) -> None:
    """az's global transform: every object with a resource-group-scoped `id` gets the group's
    name as `resourceGroup`, unless it has one (any casing); `sourceVault` is left alone."""
    if isinstance(value, list):
        for item in value:
            add_resource_groups(item)
        return
    if not isinstance(value, dict):
        return
    identifier = value.get("id")
    if isinstance(identifier, str) and identifier:
        parts = identifier.split("/")
        if (
            len(parts) > 8
            and parts[3].lower() == "resourcegroups"
            and not any(key.lower() == "resourcegroup" for key in value)
        ):
            value["resourceGroup"] = parts[4]
    for key, item in value.items():
        if key != "sourceVault" and isinstance(item, dict | list):
            add_resource_groups(item)
