"""Scale set commands: create, delete, list, show, wait, list-instances, get-instance-view,
triage."""

from collections import OrderedDict
from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import (
    Ids,
    Name,
    NoWaitBool,
    NoWaitFlag,
    OptName,
    OptResourceGroup,
    RepairsAction,
    RepairsGracePeriod,
    ResourceGroup,
    ScaleInPolicy,
    choice,
    integer,
    targets,
    three_state,
)
from vmsscli.errors import CLIError, VmssError
from vmsscli.resource_ids import vm_id, vmss_id

VMSS_TABLE = (
    "{Name:name, ResourceGroup:resourceGroup, Location:location, "
    "Zones: (!zones && ' ') || join(' ', zones), Capacity:sku.capacity, "
    "Overprovision:overprovision, UpgradePolicy:upgradePolicy.mode}"
)
INSTANCE_VIEW_TABLE = (
    "{ProvisioningState:statuses[0].displayStatus, PowerState:statuses[1].displayStatus}"
)


def register(app: typer.Typer) -> None:  # noqa: C901 - one place that lists the commands
    @command(
        app,
        "create",
        what_if=True,
        examples=[
            (
                "Create a zonal scale set of 6 instances with Rolling upgrades and the application "
                "health extension.",
                "vmss create -g rg-shop -n shop-vmss --image Ubuntu2204 --instance-count 6 "
                "--zones 1 2 3 --upgrade-policy-mode Rolling --app-health-extension",
            ),
            (
                "Create a scale set with two instances and Manual upgrades.",
                "vmss create -g MyResourceGroup -n MyScaleSet --image Ubuntu2204",
            ),
        ],
        optional_value=("app_health_extension",),
    )
    def create(
        resource_group: ResourceGroup,
        name: Name,
        instance_count: Annotated[
            str,
            typer.Option(
                "--instance-count", help="Number of VMs in the scale set.", callback=integer
            ),
        ] = "2",
        zones: Annotated[
            list[str] | None,
            typer.Option(
                "--zones", "-z", help="Space-separated list of availability zones, e.g. 1 2 3."
            ),
        ] = None,
        upgrade_policy_mode: Annotated[
            str,
            typer.Option(
                "--upgrade-policy-mode",
                help="Allowed values: Automatic, Manual, Rolling.",
                callback=choice("Automatic", "Manual", "Rolling"),
            ),
        ] = "Manual",
        orchestration_mode: Annotated[
            str,
            typer.Option(
                "--orchestration-mode",
                help="Allowed values: Uniform, Flexible.",
                callback=choice("Uniform", "Flexible"),
            ),
        ] = "Uniform",
        vm_sku: Annotated[
            str, typer.Option("--vm-sku", help="Size of VMs in the scale set.")
        ] = "Standard_DS1_v2",
        image: Annotated[
            str,
            typer.Option(
                "--image",
                help="An image URN (publisher:offer:sku:version) or alias, e.g. Ubuntu2204.",
            ),
        ] = "Ubuntu2204",
        location: Annotated[
            str | None,
            typer.Option("--location", "-l", help="Location. Defaults to the resource group's."),
        ] = None,
        admin_username: Annotated[
            str, typer.Option("--admin-username", help="Username for the VMs.")
        ] = "azureuser",
        computer_name_prefix: Annotated[
            str | None,
            typer.Option("--computer-name-prefix", help="Computer name prefix for the VMs."),
        ] = None,
        health_probe: Annotated[
            str | None,
            typer.Option(
                "--health-probe",
                help="Name of the load balancer health probe that reports "
                "instance health (enables Rolling upgrades).",
            ),
        ] = None,
        app_health_extension: Annotated[
            str | None,
            typer.Option(
                "--app-health-extension",
                help="Add the Application Health extension "
                "(http, port 80, /health), which reports instance health. Bare flag means true. "
                "vmsscli's own flag: az adds the extension with `az vmss extension set`.",
                callback=three_state,
            ),
        ] = None,
        platform_fault_domain_count: Annotated[
            str | None,
            typer.Option(
                "--platform-fault-domain-count",
                help="Fault domain count for each placement group in the availability zone.",
                callback=integer,
            ),
        ] = None,
        os_disk_size_gb: Annotated[
            str | None,
            typer.Option("--os-disk-size-gb", help="OS disk size in GB.", callback=integer),
        ] = None,
        storage_sku: Annotated[
            str | None,
            typer.Option("--storage-sku", help="The SKU of the storage account for the OS disk."),
        ] = None,
        tags: Annotated[
            list[str] | None,
            typer.Option("--tags", help="Space-separated tags: key[=value] [key[=value] ...]."),
        ] = None,
        generate_ssh_keys: Annotated[
            bool, typer.Option("--generate-ssh-keys", help="Accepted for compatibility; no effect.")
        ] = False,
        authentication_type: Annotated[
            str | None,
            typer.Option("--authentication-type", help="Accepted for compatibility; no effect."),
        ] = None,
        admin_password: Annotated[
            str | None,
            typer.Option("--admin-password", help="Accepted for compatibility; not stored."),
        ] = None,
        ssh_key_values: Annotated[
            list[str] | None,
            typer.Option("--ssh-key-values", help="Accepted for compatibility; no effect."),
        ] = None,
        lb: Annotated[
            str | None,
            typer.Option("--load-balancer", "--lb", help="Accepted for compatibility; no effect."),
        ] = None,
        vnet_name: Annotated[
            str | None, typer.Option("--vnet-name", help="Accepted for compatibility; no effect.")
        ] = None,
        subnet: Annotated[
            str | None, typer.Option("--subnet", help="Accepted for compatibility; no effect.")
        ] = None,
        scale_in_policy: ScaleInPolicy = None,
        enable_automatic_repairs: Annotated[
            str | None,
            typer.Option(
                "--enable-automatic-repairs",
                "--enable-auto-repairs",
                help="Enable automatic repairs. Allowed values: false, true.",
                callback=three_state,
            ),
        ] = None,
        automatic_repairs_grace_period: RepairsGracePeriod = None,
        automatic_repairs_action: RepairsAction = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Create an Azure Virtual Machine Scale Set.

        Resource groups are created implicitly (in --location, or westeurope). Rolling upgrades
        need a health source: --health-probe or --app-health-extension.
        """
        from vmsscli.domain.creation import CreateSpec
        from vmsscli.service.compute import create_scale_set

        repairs = _create_repairs(
            enable_automatic_repairs,
            automatic_repairs_grace_period,
            automatic_repairs_action,
            has_balancer_probe=bool(lb and health_probe),
        )
        spec = CreateSpec(
            instance_count=instance_count,  # type: ignore[arg-type]
            zones=list(zones or []),
            upgrade_policy_mode=upgrade_policy_mode,
            orchestration_mode=orchestration_mode,
            vm_sku=vm_sku,
            image=image,
            location=location or "",
            admin_username=admin_username,
            computer_name_prefix=computer_name_prefix or "",
            health_probe=health_probe or "",
            app_health_extension=bool(app_health_extension),
            platform_fault_domain_count=platform_fault_domain_count,  # type: ignore[arg-type]
            tags=_parse_tags(tags),
            os_disk_size_gb=os_disk_size_gb,  # type: ignore[arg-type]
            storage_sku=storage_sku or "",
            scale_in_policy=list(scale_in_policy or []),
            automatic_repairs=repairs,
        )
        done = create_scale_set(context.session(), resource_group, name, spec, wait=not no_wait)
        if not no_wait:
            context.emit({"vmss": done.result})

    @command(
        app,
        "delete",
        what_if=True,
        examples=[
            (
                "Delete a scale set and all its instances.",
                "vmss delete -g MyResourceGroup -n MyScaleSet",
            ),
        ],
        optional_value=("no_wait",),
    )
    def delete(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        force_deletion: Annotated[
            str | None,
            typer.Option(
                "--force-deletion", help="Accepted for compatibility.", callback=three_state
            ),
        ] = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Delete a VM scale set."""
        from vmsscli.service.compute import delete_scale_set

        chosen = targets(resource_group, name, ids)
        delete_scale_set(context.session(), [(rg, vmss_name) for rg, vmss_name, _ in chosen])

    @command(
        app,
        "list",
        examples=[
            ("List all scale sets as a table.", "vmss list -o table"),
            ("List the scale sets of one resource group.", "vmss list -g MyResourceGroup"),
        ],
        missing="aaz",
    )
    def list_(
        resource_group: OptResourceGroup = None,
    ) -> None:
        """List all VMSS in a resource group, or in the subscription when none is given."""
        from vmsscli.service.compute import scale_set_views

        state = context.read_state()
        context.emit(scale_set_views(state, resource_group), transformer="[]." + VMSS_TABLE)

    @command(
        app,
        "show",
        examples=[
            ("Show a scale set.", "vmss show -g MyResourceGroup -n MyScaleSet"),
            (
                "Show one instance of a scale set.",
                "vmss show -g MyResourceGroup -n MyScaleSet --instance-id 0",
            ),
            (
                "Show the capacity only.",
                "vmss show -g MyResourceGroup -n MyScaleSet --query sku.capacity -o tsv",
            ),
        ],
    )
    def show(
        resource_group: ResourceGroup,
        name: Name,
        instance_id: Annotated[
            str | None,
            typer.Option("--instance-id", help="VM instance ID. If missing, show the VMSS."),
        ] = None,
        include_user_data: Annotated[
            bool,
            typer.Option(
                "--include-user-data",
                "-u",
                help="Include the user data properties in the query result.",
            ),
        ] = False,
    ) -> None:
        """Get details on VMs within a VMSS."""
        from vmsscli.service.compute import instance_view, scale_set_view

        state = context.read_state((resource_group, name))
        if instance_id is None:
            result = scale_set_view(state, resource_group, name)
        else:
            result = instance_view(state, resource_group, name, instance_id)
        context.emit(result, transformer=VMSS_TABLE)

    @command(
        app,
        "wait",
        examples=[
            (
                "Wait until a scale set is created and its provisioning has succeeded.",
                "vmss wait -g MyResourceGroup -n MyScaleSet --created",
            ),
            (
                "Wait until instance 0 runs the latest model, polling every 10 seconds for at "
                "most 10 minutes.",
                "vmss wait -g MyResourceGroup -n MyScaleSet --instance-id 0 --interval 10 "
                '--timeout 600 --custom "latestModelApplied"',
            ),
            (
                "Wait until an instance is gone.",
                "vmss wait -g MyResourceGroup -n MyScaleSet --instance-id 3 --deleted",
            ),
        ],
    )
    def wait_(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        instance_id: Annotated[
            str | None,
            typer.Option("--instance-id", help="VM instance ID. If missing, wait on the VMSS."),
        ] = None,
        created: Annotated[
            bool,
            typer.Option(
                "--created", help="Wait until created with 'provisioningState' at 'Succeeded'."
            ),
        ] = False,
        custom: Annotated[
            str | None,
            typer.Option(
                "--custom",
                help="Wait until the condition satisfies a custom JMESPath query over the "
                "resource as `show` prints it. E.g. provisioningState!='InProgress', "
                "latestModelApplied.",
            ),
        ] = None,
        deleted: Annotated[bool, typer.Option("--deleted", help="Wait until deleted.")] = False,
        exists: Annotated[
            bool, typer.Option("--exists", help="Wait until the resource exists.")
        ] = False,
        interval: Annotated[
            str,
            typer.Option("--interval", help="Polling interval in seconds.", callback=integer),
        ] = "30",
        timeout: Annotated[
            str,
            typer.Option("--timeout", help="Maximum wait in seconds.", callback=integer),
        ] = "3600",
        updated: Annotated[
            bool,
            typer.Option(
                "--updated",
                help="Wait until updated with provisioningState at 'Succeeded'.",
            ),
        ] = False,
    ) -> None:
        """Place the CLI in a waiting state until a condition of the scale set (or of one
        instance) is met.

        Each poll reads the state afresh, so operations due by then have completed (in a
        rehearsal, the pause between polls moves the simulated clock instead of sleeping). On
        time-out az prints {} and exits 0 (it returns its time-out error instead of raising
        it); so does vmss.
        """
        import os
        import time

        from vmsscli.cli.rehearsal_shim import JOURNAL
        from vmsscli.service.compute import instance_view, scale_set_view
        from vmsscli.service.waiting import Condition, wait

        # Names first, then the condition (inside wait): az validates its arguments in that order.
        ((rg, vmss_name, inst_id),) = targets(resource_group, name, ids, instance_id=instance_id)
        condition = Condition(
            created=created, updated=updated, deleted=deleted, exists=exists, custom=custom
        )

        def get() -> dict[str, Any]:
            state = context.read_state((rg, vmss_name))
            if inst_id is None:
                return scale_set_view(state, rg, vmss_name)
            return instance_view(state, rg, vmss_name, inst_id)

        result = wait(
            get,
            condition,
            timeout=timeout,  # type: ignore[arg-type]
            interval=interval,  # type: ignore[arg-type]
            # In a rehearsal a poll's pause is simulated time: the runbook does not sleep.
            sleep=_move_clock if os.environ.get(JOURNAL) else time.sleep,
        )
        context.emit(result)

    @command(
        app,
        "list-instance-connection-info",
        examples=[
            (
                "Get the IP address and port for SSH to each instance.",
                "vmss list-instance-connection-info -g MyResourceGroup -n MyScaleSet",
            )
        ],
    )
    def list_instance_connection_info(resource_group: ResourceGroup, name: Name) -> None:
        """Get the IP address and port number used to connect to individual VM instances
        within a set."""
        from vmsscli.service.compute import instance_connection_info

        state = context.read_state((resource_group, name))
        context.emit(instance_connection_info(state, resource_group, name))

    @command(
        app,
        "list-instance-public-ips",
        examples=[
            (
                "List the public IP addresses of the instances.",
                "vmss list-instance-public-ips -g MyResourceGroup -n MyScaleSet",
            )
        ],
    )
    def list_instance_public_ips(resource_group: ResourceGroup, name: Name) -> None:
        """List public IP addresses of VM instances within a set."""
        from vmsscli.service.compute import instance_public_ips

        state = context.read_state((resource_group, name))
        context.emit(instance_public_ips(state, resource_group, name))

    @command(
        app,
        "list-instances",
        examples=[
            (
                "List all instances of a scale set as a table.",
                "vmss list-instances -g MyResourceGroup -n MyScaleSet -o table",
            ),
            (
                "List the ids of the instances that are not on the latest model.",
                "vmss list-instances -g MyResourceGroup -n MyScaleSet --query "
                '"[?!latestModelApplied].instanceId" -o tsv',
            ),
            (
                "List instances with their instance views.",
                "vmss list-instances -g MyResourceGroup -n MyScaleSet --expand instanceView",
            ),
        ],
    )
    def list_instances(
        resource_group: ResourceGroup,
        name: Annotated[
            str,
            typer.Option(
                "--name", "-n", "--virtual-machine-scale-set-name", help="Scale set name."
            ),
        ],
        expand: Annotated[
            str | None,
            typer.Option(
                "--expand",
                help="The expand expression to apply to the operation. Allowed "
                "values: instanceView.",
            ),
        ] = None,
        filter_: Annotated[
            str | None,
            typer.Option(
                "--filter",
                help="The filter to apply to the operation. Allowed values are "
                "'startswith(instanceView/statuses/code, 'PowerState') eq true', "
                "'properties/latestModelApplied eq true', "
                "'properties/latestModelApplied eq false'.",
            ),
        ] = None,
        select: Annotated[
            str | None,
            typer.Option(
                "--select",
                help="The list parameters. Allowed values are 'instanceView', "
                "'instanceView/statuses'.",
            ),
        ] = None,
    ) -> None:
        """Get a list of all virtual machine instances in a scale set."""
        from vmsscli.service.compute import instance_views

        state = context.read_state((resource_group, name))
        context.emit(
            instance_views(
                state, resource_group, name, expand=expand, select=select, filter_=filter_
            )
        )

    @command(
        app,
        "get-instance-view",
        examples=[
            (
                "Get the instance view of one instance.",
                "vmss get-instance-view -g MyResourceGroup -n MyScaleSet --instance-id 0",
            ),
            (
                "Get the instance views of all instances.",
                "vmss get-instance-view -g MyResourceGroup -n MyScaleSet --instance-id '*'",
            ),
            (
                "The health of every instance, in list order.",
                "vmss get-instance-view -g MyResourceGroup -n MyScaleSet --instance-id '*' "
                '--query "[].vmHealth.status.code" -o tsv',
            ),
        ],
    )
    def get_instance_view(
        resource_group: OptResourceGroup = None,
        name: Annotated[
            str | None,
            typer.Option(
                "--name", "-n", "--virtual-machine-scale-set-name", help="Scale set name."
            ),
        ] = None,
        instance_id: Annotated[
            str | None,
            typer.Option(
                "--instance-id",
                help="A VM instance ID or '*' for all instances. If missing, the "
                "scale set's aggregate view is shown.",
            ),
        ] = None,
        ids: Ids = None,
    ) -> None:
        """View an instance of a VMSS."""
        from vmsscli.service.compute import scale_set_instance_view, vm_instance_view

        results: list[Any] = []
        errors: list[tuple[str, VmssError]] = []
        chosen = targets(
            resource_group, name, ids, instance_id=instance_id, need_instance=bool(ids)
        )
        state = context.read_state(_focus(chosen))
        for rg_in, vmss_name, inst_id in chosen:
            try:
                if inst_id is None:
                    results.append(scale_set_instance_view(state, rg_in, vmss_name))
                else:
                    results.append(vm_instance_view(state, rg_in, vmss_name, inst_id))
            except VmssError as exc:
                if len(chosen) == 1:
                    raise
                errors.append(
                    (
                        vm_id(state.subscription_id, rg_in, vmss_name, inst_id)
                        if inst_id
                        else vmss_id(state.subscription_id, rg_in, vmss_name),
                        exc,
                    )
                )
        context.emit(context.combine_jobs(results, errors), transformer=INSTANCE_VIEW_TABLE)

    @command(
        app,
        "triage",
        examples=[
            (
                "See what is wrong with which instance, worst first.",
                "vmss triage -g MyResourceGroup -n MyScaleSet",
            ),
            (
                "The ids of the instances that are not serving, for a script.",
                'vmss triage -g MyResourceGroup -n MyScaleSet --query "[?!serving].instanceId" '
                "-o tsv",
            ),
        ],
    )
    def triage_(
        resource_group: ResourceGroup,
        name: Name,
    ) -> None:
        """Show every instance's zone, domains, power, health, model and protection, problems
        first (vmsscli's own command; az has no equivalent).

        On a terminal: a one-line summary over a table. Piped or with -o json: the rows as
        JSON for scripts; -o table: the summary line over az's plain table.
        """
        import sys

        from vmsscli.domain.fleet import find_scale_set
        from vmsscli.domain.triage import triage

        state = context.read_state((resource_group, name))
        _rg, _key, scale_set = find_scale_set(state, resource_group, name)
        report = triage(scale_set)
        rows = [
            {
                "failedExtensions": r.failed_extensions,
                "faultDomain": r.fault_domain,
                "health": r.health,
                "instanceId": str(r.instance_id),
                "latestModelApplied": r.latest_model,
                "powerState": r.power_state,
                "problems": r.problems,
                "protectFromScaleIn": r.protect_from_scale_in,
                "protectFromScaleSetActions": r.protect_from_scale_set_actions,
                "provisioningState": r.provisioning_state,
                "serving": r.serving,
                "updateDomain": r.update_domain,
                "zone": r.zone,
            }
            for r in report.rows
        ]
        if context.current.output == "table" and context.current.query is None:
            sys.stdout.write(report.summary + "\n")
        context.report(
            rows,
            "triage",
            transformer=_triage_table,
            drawn={"summary": report.summary, "rows": rows},
        )


def _triage_table(rows: list[dict[str, Any]]) -> list[OrderedDict]:
    out = []
    for row in rows:
        protection = ", ".join(
            label
            for label, on in (
                ("scale-in", row["protectFromScaleIn"]),
                ("scale-set actions", row["protectFromScaleSetActions"]),
            )
            if on
        )
        out.append(
            OrderedDict(
                [
                    ("InstanceId", row["instanceId"]),
                    ("Zone", row["zone"] or "-"),
                    ("FaultDomain", row["faultDomain"]),
                    ("UpdateDomain", row["updateDomain"]),
                    ("PowerState", row["powerState"]),
                    ("Health", row["health"]),
                    ("LatestModel", row["latestModelApplied"]),
                    ("Protection", protection or "-"),
                    ("FailedExtensions", ", ".join(row["failedExtensions"]) or "-"),
                    ("Problems", "; ".join(row["problems"]) or "-"),
                ]
            )
        )
    return out


def _move_clock(seconds: float) -> None:
    from datetime import timedelta

    from vmsscli.domain.clock import move_to

    with context.write_state() as state:
        now = context.now(state)
        move_to(state, now, now + timedelta(seconds=seconds))


def _focus(chosen: list[tuple[str, str, Any]]) -> tuple[str, str] | None:
    """The one scale set a command works on, if it names exactly one."""
    return (chosen[0][0], chosen[0][1]) if len(chosen) == 1 else None


def _parse_tags(tags: list[str] | None) -> dict[str, str]:
    out = {}
    for tag in tags or []:
        key, _, value = tag.partition("=")
        if key:
            out[key] = value
    return out


def _create_repairs(
    enabled: bool | None, grace: str | None, action: str | None, *, has_balancer_probe: bool
) -> dict[str, Any] | None:
    """`automaticRepairsPolicy` from `vmss create`'s flags, as az 2.91 builds it: a policy only
    with a grace period or an action (then enabled, PT10M and Replace unless given);
    `--enable-automatic-repairs` alone sets nothing (az sends it only with zone balancing)."""
    if grace is None and action is None:
        return None
    if not has_balancer_probe:
        raise CLIError(
            "usage error: --load-balancer and --health-probe are required when creating "
            "vmss with automatic repairs"
        )
    if enabled is False:
        raise CLIError(
            "usage error: --enable-automatic-repairs cannot be false when "
            "--automatic-repairs-action or --automatic-repairs-grace-period are used"
        )
    return {
        "enabled": True,
        "gracePeriod": f"PT{grace}M" if grace is not None else "PT10M",
        "repairAction": action or "Replace",
    }
