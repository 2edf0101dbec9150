"""ARM resource ids (and the ids and names derived from them by hashing), shared by the views
that print them and the activity log that records them."""

try:
    from _sha1 import sha1 as _new_sha1  # CPython's own: hashlib loads OpenSSL first (~3 ms)
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha1 as _new_sha1

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
# The simulated subscription's tenant (its tokens, its activity log's events).
TENANT_ID = "7e57ab1e-0000-4000-8000-00000000feed"


def sha1(data: bytes) -> bytes:
    """The SHA-1 digest of `data` (names and ids derived from names, not security)."""
    return _new_sha1(data).digest()


def name_uuid(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(UUID(bytes=namespace), name))`, computed directly: the uuid
    module imports `platform` (several milliseconds) and its objects cost more than the hash
    when a thousand instances are listed."""
    digest = bytearray(sha1(namespace + name.encode())[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def vmss_id(subscription: str, rg: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/{VMSS_TYPE}/{name}"


def vm_id(subscription: str, rg: str, name: str, instance_id: int | str) -> str:
    return f"{vmss_id(subscription, rg, name)}/virtualMachines/{instance_id}"


def scale_set_key(resource_id: str) -> str:
    """ "resource-group/name" of the scale set an id names (itself or one of its instances),
    or "" when it names none; the activity log's entries are grouped by it."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        rg = parts[lowered.index("resourcegroups") + 1]
        name = parts[lowered.index("virtualmachinescalesets") + 1]
    except (ValueError, IndexError):
        return ""
    return f"{rg}/{name}"
