"""The built-in demo fleet: what a fresh checkout (or a missing state file) starts from.

Realistic on purpose: a zonal Rolling web tier with an application health extension, a Manual
batch tier and a small Automatic tools tier, with a few instances in the states an operator
meets in an incident (unhealthy with a failed extension, stopped, behind the model, protected).
"""

from __future__ import annotations

from datetime import UTC, datetime

from vmsscli.domain.fleet import app_health_extension
from vmsscli.model import (
    ClockSettings,
    Extension,
    ExtensionState,
    ImageReference,
    Instance,
    Protection,
    ResourceGroup,
    RollingPolicy,
    ScaleSet,
    State,
    UpgradePolicy,
    VmModel,
)

CREATED = datetime(2026, 11, 2, 8, 14, 5, 120000, tzinfo=UTC)


def demo_state() -> State:
    web_image = ImageReference(
        publisher="Canonical",
        offer="0001-com-ubuntu-server-jammy",
        sku="22_04-lts-gen2",
        version="latest",
        exact_version="22.04.202411010",
    )
    custom_script = Extension(
        name="configure-web",
        publisher="Microsoft.Azure.Extensions",
        type="CustomScript",
        type_handler_version="2.1",
        settings={"commandToExecute": "bash /opt/deploy/configure-web.sh"},
    )
    # Ids as Azure hands them out with overprovisioning on: gaps where extra VMs were dropped.
    web_ids = [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13]
    web_instances = [Instance(id=i) for i in web_ids]
    by_id = {inst.id: inst for inst in web_instances}
    by_id[5].health = "unhealthy"
    by_id[5].extensions = {
        "configure-web": ExtensionState(
            status="failed",
            message="Command execution finished, but failed because it returned a non-zero "
            "exit code of: '1'. The command had an error output of: 'nginx: [emerg] "
            "bind() to 0.0.0.0:80 failed (98: Address already in use)'",
        )
    }
    by_id[9].protection = Protection(scale_in=True)
    by_id[9].model_definition_applied = "VirtualMachine"
    by_id[12].model_version = 2
    by_id[12].image_version = "22.04.202410020"
    web = ScaleSet(
        created=CREATED,
        vm_sku="Standard_D2s_v5",
        zones=["1", "2", "3"],
        single_placement_group=False,
        upgrade_policy=UpgradePolicy(
            mode="Rolling",
            rolling=RollingPolicy(
                max_batch_instance_percent=20,
                max_unhealthy_instance_percent=20,
                max_unhealthy_upgraded_instance_percent=20,
                pause_time_between_batches="PT30S",
            ),
        ),
        model=VmModel(
            version=3,
            image=web_image,
            computer_name_prefix="webvm",
            extensions=[app_health_extension("Linux", 80, "/healthz"), custom_script],
        ),
        tags={"tier": "web", "env": "demo"},
        next_instance_id=14,
        instances=web_instances,
    )

    batch_instances = [Instance(id=i) for i in range(5)]
    batch_instances[3].power_state = "stopped"
    batch = ScaleSet(
        created=CREATED,
        vm_sku="Standard_F4s_v2",
        model=VmModel(computer_name_prefix="batchvm", health_probe="batch-probe"),
        tags={"tier": "batch", "env": "demo"},
        instances=batch_instances,
    )

    tools = ScaleSet(
        created=CREATED,
        vm_sku="Standard_B2s",
        upgrade_policy=UpgradePolicy(mode="Automatic"),
        model=VmModel(computer_name_prefix="toolsvm"),
        instances=[Instance(id=0), Instance(id=1)],
    )
    return State(
        clock=ClockSettings(mode="wall", now=CREATED),
        resource_groups={
            "rg-web": ResourceGroup(location="westeurope", scale_sets={"web-vmss": web}),
            "rg-batch": ResourceGroup(
                location="northeurope", scale_sets={"batch-vmss": batch, "tools-vmss": tools}
            ),
        },
    )
