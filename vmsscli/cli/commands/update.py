"""`vmss update`: a scale set's model and policies, or one instance's protection."""

from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import (
    Ids,
    NoWaitFlag,
    OptName,
    OptResourceGroup,
    RepairsAction,
    RepairsGracePeriod,
    ScaleInPolicy,
    choice,
    integer,
    targets,
    three_state,
)
from vmsscli.errors import CLIError

MAX_SURGE_WARNING = (
    "Argument '--max-surge' is in preview and under development. Reference and "
    "support levels: https://aka.ms/CLI_refstatus"
)
PROTECTION_ONLY = (
    "usage error: protection policies can only be applied to VM instances within "
    "a VMSS. Please use --instance-id to specify a VM instance"
)


def _bool_option(flag: str, text: str) -> Any:
    return Annotated[
        str | None,
        typer.Option(flag, help=text + " Allowed values: false, true.", callback=three_state),
    ]


def _int_option(flag: str, text: str) -> Any:
    return Annotated[str | None, typer.Option(flag, help=text, callback=integer)]


def register(app: typer.Typer) -> None:
    @command(
        app,
        "update",
        what_if=True,
        examples=[
            (
                "Protect an instance from scale-in.",
                "vmss update -g MyResourceGroup -n MyScaleSet --instance-id 4 "
                "--protect-from-scale-in true",
            ),
            (
                "Protect an instance from scale-set actions (and so from scale-in).",
                "vmss update -g MyResourceGroup -n MyScaleSet --instance-id 4 "
                "--protect-from-scale-set-actions true",
            ),
            (
                "Roll out a new image version (a rolling upgrade starts in Rolling mode).",
                "vmss update -g MyResourceGroup -n MyScaleSet --set "
                "virtualMachineProfile.storageProfile.imageReference.version=2.0.1",
            ),
            (
                "Switch to Rolling upgrades in batches of 20% with a 30 second pause.",
                "vmss update -g MyResourceGroup -n MyScaleSet --upgrade-policy-mode Rolling "
                "--max-batch-instance-percent 20 --pause-time-between-batches PT30S",
            ),
            (
                "Restart a cancelled rolling upgrade (a no-change update re-checks instances).",
                "vmss update -g MyResourceGroup -n MyScaleSet",
            ),
        ],
        optional_value=(
            "protect_from_scale_in",
            "protect_from_scale_set_actions",
            "prioritize_unhealthy_instances",
            "enable_cross_zone_upgrade",
            "max_surge",
        ),
    )
    def update(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        instance_id: Annotated[
            str | None,
            typer.Option(
                "--instance-id",
                help="Update the VM instance with this ID. If missing, update the VMSS.",
            ),
        ] = None,
        ids: Ids = None,
        protect_from_scale_in: _bool_option(
            "--protect-from-scale-in", "Protect the VM instance from scale-in operations."
        ) = None,
        protect_from_scale_set_actions: _bool_option(
            "--protect-from-scale-set-actions",
            "Protect the VM instance from scale set actions (including scale-in).",
        ) = None,
        upgrade_policy_mode: Annotated[
            str | None,
            typer.Option(
                "--upgrade-policy-mode",
                help="Allowed values: Automatic, Manual, Rolling.",
                callback=choice("Automatic", "Manual", "Rolling"),
            ),
        ] = None,
        max_batch_instance_percent: _int_option(
            "--max-batch-instance-percent",
            "The maximum percent of total virtual machine "
            "instances that will be upgraded simultaneously by the rolling upgrade in one "
            "batch. Default: 20%",
        ) = None,
        max_unhealthy_instance_percent: _int_option(
            "--max-unhealthy-instance-percent",
            "The maximum percentage of the total virtual "
            "machine instances in the scale set that can be simultaneously unhealthy. "
            "Default: 20%",
        ) = None,
        max_unhealthy_upgraded_instance_percent: _int_option(
            "--max-unhealthy-upgraded-instance-percent",
            "The maximum percentage of upgraded "
            "virtual machine instances that can be found to be in an unhealthy state. "
            "Default: 20%",
        ) = None,
        pause_time_between_batches: Annotated[
            str | None,
            typer.Option(
                "--pause-time-between-batches",
                help="The wait time between completing the update "
                "for all virtual machines in one batch and starting the next batch, as an ISO 8601 "
                "duration (e.g. PT30S). Default: 0 seconds",
            ),
        ] = None,
        prioritize_unhealthy_instances: _bool_option(
            "--prioritize-unhealthy-instances",
            "Upgrade all unhealthy instances in a scale set before any healthy instances.",
        ) = None,
        enable_cross_zone_upgrade: _bool_option(
            "--enable-cross-zone-upgrade",
            "Allow VMSS to ignore AZ boundaries when constructing upgrade batches.",
        ) = None,
        max_surge: _bool_option(
            "--max-surge",
            "Create new virtual machines to upgrade the scale set, rather than "
            "updating the existing virtual machines. (Preview)",
        ) = None,
        scale_in_policy: ScaleInPolicy = None,
        force_deletion: Annotated[
            bool,
            typer.Option(
                "--force-deletion",
                help="This property allow you to specify if virtual machines chosen for removal "
                "have to be force deleted when a virtual machine scale set is being scaled-in.",
            ),
        ] = False,
        enable_automatic_repairs: _bool_option(
            "--enable-automatic-repairs", "Enable automatic repairs."
        ) = None,
        automatic_repairs_grace_period: RepairsGracePeriod = None,
        automatic_repairs_action: RepairsAction = None,
        set_: Annotated[
            list[str] | None,
            typer.Option(
                "--set",
                help="Update an object by specifying a property path and value to set. "
                "Example: --set property1.property2=<value>.",
            ),
        ] = None,
        add: Annotated[
            list[str] | None,
            typer.Option(
                "--add",
                help="Add an object to a list of objects by specifying a path and key value "
                "pairs. Example: --add property.listProperty <key=value, string or JSON string>.",
            ),
        ] = None,
        remove: Annotated[
            list[str] | None,
            typer.Option(
                "--remove",
                help="Remove a property or an element from a list. Example: --remove "
                "property.list <indexToRemove> OR --remove propertyToRemove.",
            ),
        ] = None,
        force_string: Annotated[
            bool,
            typer.Option(
                "--force-string",
                help="When using 'set' or 'add', preserve string literals instead "
                "of attempting to convert to JSON.",
            ),
        ] = False,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Update a VMSS, or one of its instances.

        On a scale set: --set/--add/--remove edit the scale set as it is printed (paths such as
        upgradePolicy.mode or virtualMachineProfile.storageProfile.imageReference.version), and
        the flags set the upgrade and rolling upgrade policies. Every model change bumps the
        model version; then Manual leaves instances as they are, Automatic upgrades them all at
        once, and Rolling starts a rolling upgrade. With --instance-id, only the instance's
        protection changes (as Azure does, this leaves it on an instance-level model:
        modelDefinitionApplied VirtualMachine, latestModelApplied false).
        """
        chosen = targets(resource_group, name, ids, instance_id=instance_id)
        protecting = protect_from_scale_in is not None or protect_from_scale_set_actions is not None
        rolling_flags = {
            "max_batch_instance_percent": max_batch_instance_percent,
            "max_unhealthy_instance_percent": max_unhealthy_instance_percent,
            "max_unhealthy_upgraded_instance_percent": max_unhealthy_upgraded_instance_percent,
            "pause_time_between_batches": pause_time_between_batches,
            "prioritize_unhealthy_instances": prioritize_unhealthy_instances,
            "enable_cross_zone_upgrade": enable_cross_zone_upgrade,
            "max_surge": max_surge,
        }
        if max_surge is not None:
            context.warn(MAX_SURGE_WARNING)
        properties = _policy_flags(
            scale_in_policy,
            force_deletion,
            enable_automatic_repairs,
            automatic_repairs_grace_period,
            automatic_repairs_action,
        )
        results = []
        for rg, vmss_name, inst_id in chosen:
            if inst_id is not None:
                results.append(
                    _update_instance(
                        rg,
                        vmss_name,
                        inst_id,
                        protect_from_scale_in,
                        protect_from_scale_set_actions,
                        set_ or [],
                        force_string,
                    )
                )
                continue
            if protecting:
                raise CLIError(PROTECTION_ONLY)
            from vmsscli.domain.model_update import Edits

            edits = Edits(
                sets=list(set_ or []),
                adds=[list(add)] if add else [],
                removes=[list(remove)] if remove else [],
                force_string=force_string,
                mode=upgrade_policy_mode,
                rolling={k: v for k, v in rolling_flags.items() if v is not None},
                properties=properties,
            )
            results.append(_update_scale_set(rg, vmss_name, edits, no_wait))
        if not no_wait:
            context.emit(results[0] if len(results) == 1 else results)


def _policy_flags(
    rules: list[str] | None,
    force_deletion: bool,
    enable_repairs: bool | None,
    grace: str | None,
    action: str | None,
) -> dict[str, dict[str, Any]]:
    """What the scale-in and automatic repairs flags set, after az's own checks."""
    out: dict[str, dict[str, Any]] = {}
    if rules:
        out["scaleInPolicy"] = {"rules": list(rules)}
    if force_deletion:
        out.setdefault("scaleInPolicy", {})["forceDeletion"] = True
    if enable_repairs is False and (grace is not None or action is not None):
        raise CLIError("usage error: please enable --enable-automatic-repairs")
    if enable_repairs is True and grace is None and action is None:
        raise CLIError(
            "usage error: please set --automatic-repairs-grace-period or --automatic-repairs-action"
        )
    if enable_repairs is not None or grace is not None or action is not None:
        repairs: dict[str, Any] = {}
        if enable_repairs is not None:
            repairs["enabled"] = enable_repairs
        if grace is not None:
            repairs["gracePeriod"] = f"PT{grace}M"  # az's own transform of the minutes
        if action is not None:
            repairs["repairAction"] = action
        out["automaticRepairsPolicy"] = repairs
    return out


def _update_instance(
    rg: str,
    name: str,
    instance_id: str,
    scale_in: Any,
    scale_set_actions: Any,
    sets: list[str],
    force_string: bool,
) -> Any:
    """Protection, from the flags or from `--set protectionPolicy.X=...` on the instance."""
    from vmsscli.service.compute import set_protection

    for assignment in sets:
        path, _, value = assignment.partition("=")
        flag = {
            "protectionPolicy.protectFromScaleIn": "in",
            "protectionPolicy.protectFromScaleSetActions": "actions",
        }.get(path)
        parsed = value.lower() in ("true", "1") if not force_string else value
        if flag is None or not isinstance(parsed, bool):
            raise CLIError(
                f"vmsscli does not simulate changes to '{path}' on an instance; "
                "it can set protectionPolicy.protectFromScaleIn and "
                "protectionPolicy.protectFromScaleSetActions."
            )
        if flag == "in" and scale_in is None:
            scale_in = parsed
        elif flag == "actions" and scale_set_actions is None:
            scale_set_actions = parsed
    return set_protection(context.session(), rg, name, instance_id, scale_in, scale_set_actions)


def _update_scale_set(rg: str, name: str, edits: Any, no_wait: bool) -> Any:
    from vmsscli.service.compute import update_scale_set

    done = update_scale_set(context.session(), rg, name, edits=edits, wait=not no_wait)
    return done.result
