"""ARM resource ids, shared by the views that print them and the activity log that records them."""

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"


def vmss_id(subscription: str, rg: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/{VMSS_TYPE}/{name}"


def vm_id(subscription: str, rg: str, name: str, instance_id: int | str) -> str:
    return f"{vmss_id(subscription, rg, name)}/virtualMachines/{instance_id}"
