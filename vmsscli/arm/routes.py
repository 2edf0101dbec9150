"""The endpoint's routes: Resource Manager's own (metadata, tokens, subscriptions, tenants,
providers, resource groups), the scale-set operations az uses, and operation status.

Each route parses the request, calls `vmsscli.service`, and renders the wire shape with
`vmsscli.rest`; the rules live below the door.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from vmsscli import rest
from vmsscli.arm import operations
from vmsscli.arm.app import Call, Endpoint, Reply, valid_name
from vmsscli.arm.errors import ArmError, bad_request
from vmsscli.arm.tokens import TENANT_ID

SUB = "subscriptions/{sub}"
GROUP = f"{SUB}/resourcegroups/{{rg}}"
VMSS = f"{GROUP}/providers/microsoft.compute/virtualmachinescalesets/{{vmss}}"
VM = f"{VMSS}/virtualmachines/{{vm}}"
# Actions on the set (with an `instanceIds` body) and on one instance, by ARM's name.
SET_ACTIONS = {
    "start": "start",
    "poweroff": "stop",
    "restart": "restart",
    "deallocate": "deallocate",
    "reimage": "reimage",
    "reimageall": "reimage",
    "delete": "delete",
    "manualupgrade": "upgrade",
}
VM_ACTIONS = {
    "start": "start",
    "poweroff": "stop",
    "restart": "restart",
    "deallocate": "deallocate",
    "reimage": "reimage",
    "reimageall": "reimage",
}
PROVIDERS = {
    "Microsoft.Compute": [
        "virtualMachineScaleSets",
        "virtualMachineScaleSets/virtualMachines",
        "virtualMachines",
        "locations/operations",
    ],
    "Microsoft.Resources": ["resourceGroups", "deployments"],
    "Microsoft.Network": ["virtualNetworks", "loadBalancers", "publicIPAddresses"],
    "Microsoft.Insights": ["autoscalesettings", "eventtypes"],
}
LOCATIONS = ("westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth")


def register(endpoint: Endpoint) -> None:  # noqa: C901 - the route table is one list
    route = endpoint.route

    # --- Resource Manager's own -------------------------------------------------------------

    @route("GET", "metadata/endpoints")
    def metadata(call: Call) -> Reply:
        base = call.endpoint.base_url
        return Reply(
            body={
                "name": "vmsscli",
                "portal": base,
                "authentication": {
                    "loginEndpoint": base,
                    "audiences": [base],
                    "tenant": "common",
                    "identityProvider": "AAD",
                },
                "resourceManager": base,
                "graph": base,
                "graphAudience": base,
                "microsoftGraphResourceId": base,
                "activeDirectoryDataLake": base,
                "batch": base,
                "media": base,
                "sqlManagement": base,
                "vmImageAliasDoc": f"{base}metadata/vm-image-aliases",
                "suffixes": {},
            }
        )

    def openid(call: Call) -> Reply:
        base = call.endpoint.base_url
        tenant = call.params["tenant"]
        return Reply(
            body={
                "issuer": f"{base}{tenant}/v2.0",
                "authorization_endpoint": f"{base}{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}{tenant}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}{tenant}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["HS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "WW",
            }
        )

    route("GET", "{tenant}/v2.0/.well-known/openid-configuration")(openid)
    route("GET", "{tenant}/.well-known/openid-configuration")(openid)

    @route("GET", "common/discovery/instance")
    def discovery(call: Call) -> Reply:
        base = call.endpoint.base_url
        host = urllib.parse.urlsplit(base).netloc
        return Reply(
            body={
                "tenant_discovery_endpoint": f"{base}{TENANT_ID}/v2.0/.well-known/"
                "openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                ],
            }
        )

    def token(call: Call) -> Reply:
        form = urllib.parse.parse_qs(call.body_bytes.decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        client = (form.get("client_id") or [""])[0]
        if grant != "client_credentials" or not client:
            raise ArmError(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type; the endpoint "
                "issues tokens for a client-credentials request (az login --service-principal).",
            )
        lifetime = 24 * 3600
        return Reply(
            body={
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": call.endpoint.signer.issue(client, call.params["tenant"]),
            }
        )

    route("POST", "{tenant}/oauth2/v2.0/token")(token)
    route("POST", "{tenant}/oauth2/token")(token)

    @route("GET", "subscriptions")
    def subscriptions(call: Call) -> Reply:
        return Reply(body={"value": [_subscription(call)]})

    @route("GET", SUB)
    def subscription(call: Call) -> Reply:
        return Reply(body=_subscription(call))

    @route("GET", "tenants")
    def tenants(call: Call) -> Reply:
        return Reply(
            body={
                "value": [
                    {
                        "id": f"/tenants/{TENANT_ID}",
                        "tenantId": TENANT_ID,
                        "tenantCategory": "Home",
                        "displayName": "vmsscli",
                        "defaultDomain": "vmsscli.local",
                    }
                ]
            }
        )

    @route("GET", f"{SUB}/locations")
    def locations(call: Call) -> Reply:
        sub = call.endpoint.current().subscription_id
        return Reply(
            body={
                "value": [
                    {
                        "id": f"/subscriptions/{sub}/locations/{name}",
                        "name": name,
                        "displayName": name,
                        "regionalDisplayName": name,
                        "type": "Region",
                    }
                    for name in LOCATIONS
                ]
            }
        )

    @route("GET", f"{SUB}/providers")
    def providers(call: Call) -> Reply:
        sub = call.endpoint.current().subscription_id
        return Reply(body={"value": [_provider(sub, ns) for ns in PROVIDERS]})

    @route("GET", f"{SUB}/providers/{{namespace}}")
    def provider(call: Call) -> Reply:
        return Reply(body=_provider_named(call))

    @route("POST", f"{SUB}/providers/{{namespace}}/register")
    def register_provider(call: Call) -> Reply:
        return Reply(body=_provider_named(call))

    # --- resource groups --------------------------------------------------------------------

    @route("GET", f"{SUB}/resourcegroups")
    def groups(call: Call) -> Reply:
        from vmsscli.service.groups import group_view

        state = call.endpoint.current()
        items = [group_view(state.subscription_id, n, g) for n, g in state.resource_groups.items()]
        return Reply(body={"value": [_no_nulls(i) for i in items]})

    @route("GET", GROUP)
    def group(call: Call) -> Reply:
        from vmsscli.domain.fleet import find_group
        from vmsscli.service.groups import group_view

        state = call.endpoint.current()
        key, found = find_group(state, call.params["rg"])
        if call.method == "HEAD":
            return Reply(204)
        return Reply(body=_no_nulls(group_view(state.subscription_id, key, found)))

    @route("PUT", GROUP)
    def put_group(call: Call) -> Reply:
        from vmsscli.service.groups import create_group

        name = valid_name("resource group", call.params["rg"])
        body = call.json_object()
        location = body.get("location", "")
        tags = body.get("tags")
        if not isinstance(location, str):
            raise bad_request("The location property must be a string.", target="location")
        if tags is not None and (
            not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())
        ):
            raise bad_request("The tags property must map names to strings.", target="tags")
        view, created = create_group(call.session(), name, location, tags)
        call.endpoint.forget()
        return Reply(201 if created else 200, _no_nulls(view))

    @route("PATCH", GROUP)
    def patch_group(call: Call) -> Reply:
        from vmsscli.domain.fleet import find_group
        from vmsscli.service.groups import create_group

        body = call.json_object()
        tags = body.get("tags")
        if tags is not None and not isinstance(tags, dict):
            raise bad_request("The tags property must map names to strings.", target="tags")
        _key, found = find_group(call.endpoint.current(), call.params["rg"])
        view, _created = create_group(call.session(), call.params["rg"], found.location, tags)
        call.endpoint.forget()
        return Reply(200, _no_nulls(view))

    @route("DELETE", GROUP)
    def delete_group(call: Call) -> Reply:
        from vmsscli.domain.fleet import find_group
        from vmsscli.service.groups import delete_group as delete

        state = call.endpoint.current()
        _key, found = find_group(state, call.params["rg"])
        correlation = delete(call.session(), call.params["rg"])
        call.endpoint.forget()
        return _accepted(call, correlation, found.location)

    # --- scale sets -------------------------------------------------------------------------

    @route("GET", f"{SUB}/providers/microsoft.compute/virtualmachinescalesets")
    def all_scale_sets(call: Call) -> Reply:
        from vmsscli.service.compute import scale_set_views

        return call.endpoint.cached_reply(
            _key(call), lambda state: Reply(body=rest.listing(scale_set_views(state), rest.VMSS))
        )

    @route("GET", f"{GROUP}/providers/microsoft.compute/virtualmachinescalesets")
    def group_scale_sets(call: Call) -> Reply:
        from vmsscli.service.compute import scale_set_views

        rg = call.params["rg"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(body=rest.listing(scale_set_views(state, rg), rest.VMSS)),
        )

    @route("GET", VMSS)
    def get_scale_set(call: Call) -> Reply:
        from vmsscli.service.compute import scale_set_view

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(body=rest.to_rest(scale_set_view(state, rg, name), rest.VMSS)),
        )

    @route("PUT", VMSS)
    def put_scale_set(call: Call) -> Reply:
        return _write_scale_set(call, create=True)

    @route("PATCH", VMSS)
    def patch_scale_set(call: Call) -> Reply:
        return _write_scale_set(call, create=False)

    @route("DELETE", VMSS)
    def delete_scale_set(call: Call) -> Reply:
        from vmsscli.service.compute import delete_scale_set as delete

        delete(call.session(), [(call.params["rg"], call.params["vmss"])])
        call.endpoint.forget()
        return Reply(200)

    @route("GET", f"{VMSS}/instanceview")
    def scale_set_instance_view(call: Call) -> Reply:
        from vmsscli.service.compute import scale_set_instance_view as render

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call), lambda state: Reply(body=rest.to_rest(render(state, rg, name)))
        )

    def set_action(action: str):
        def handler(call: Call) -> Reply:
            return _act(call, action, _instance_ids(call))

        return handler

    for verb, action in SET_ACTIONS.items():
        route("POST", f"{VMSS}/{verb}")(set_action(action))

    # --- instances --------------------------------------------------------------------------

    @route("GET", f"{VMSS}/virtualmachines")
    def list_vms(call: Call) -> Reply:
        from vmsscli.service.compute import instance_views

        rg, name, q = call.params["rg"], call.params["vmss"], call.query

        def render(state) -> Reply:
            items = instance_views(
                state,
                rg,
                name,
                expand=q.get("$expand"),
                select=q.get("$select"),
                filter_=q.get("$filter"),
            )
            return Reply(body=rest.listing(items, rest.VMSS_VM))

        return call.endpoint.cached_reply(_key(call), render)

    @route("GET", f"{VMSS}/networkinterfaces")
    def list_scale_set_nics(call: Call) -> Reply:
        from vmsscli.service.compute import nic_views

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call), lambda state: Reply(body=rest.listing(nic_views(state, rg, name), rest.NIC))
        )

    @route("GET", f"{VM}/networkinterfaces")
    def list_vm_nics(call: Call) -> Reply:
        from vmsscli.service.compute import nic_views

        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(body=rest.listing(nic_views(state, rg, name, vm), rest.NIC)),
        )

    @route("GET", f"{VM}/networkinterfaces/{{nic}}")
    def get_vm_nic(call: Call) -> Reply:
        from vmsscli.service.compute import nic_view

        rg, name, vm, nic = (call.params[k] for k in ("rg", "vmss", "vm", "nic"))
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(body=rest.to_rest(nic_view(state, rg, name, vm, nic), rest.NIC)),
        )

    @route("GET", VM)
    def get_vm(call: Call) -> Reply:
        from vmsscli.service.compute import instance_view

        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        expand = (call.query.get("$expand") or "").lower() == "instanceview"

        def render(state) -> Reply:
            item = instance_view(state, rg, name, vm)
            if expand:
                from vmsscli.service.compute import vm_instance_view

                item = {**item, "instanceView": vm_instance_view(state, rg, name, vm)}
            return Reply(body=rest.to_rest(item, rest.VMSS_VM))

        return call.endpoint.cached_reply(_key(call), render)

    def update_vm(call: Call) -> Reply:
        from vmsscli.service.compute import instance_view, set_protection

        body = call.json_object()
        printed = rest.flatten(body, rest.VMSS_VM)
        policy = printed.get("protectionPolicy")
        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        if policy is None:
            current = instance_view(call.endpoint.current(), rg, name, vm)
            return Reply(body=rest.to_rest(current, rest.VMSS_VM))
        if not isinstance(policy, dict):
            raise bad_request("protectionPolicy must be an object.", target="protectionPolicy")
        flags = {}
        for key in ("protectFromScaleIn", "protectFromScaleSetActions"):
            value = policy.get(key)
            if value is not None and not isinstance(value, bool):
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"The value {value!r} of parameter 'protectionPolicy.{key}' is not valid: "
                    "it must be true or false.",
                    target=f"protectionPolicy.{key}",
                )
            flags[key] = value
        unknown = sorted(set(policy) - set(flags))
        if unknown:
            raise bad_request(
                f"Could not find member '{unknown[0]}' on object of type 'ProtectionPolicy'.",
                target=f"protectionPolicy.{unknown[0]}",
            )
        view = set_protection(
            call.session(),
            rg,
            name,
            vm,
            flags["protectFromScaleIn"],
            flags["protectFromScaleSetActions"],
        )
        call.endpoint.forget()
        return Reply(body=rest.to_rest(view, rest.VMSS_VM))

    route("PUT", VM)(update_vm)
    route("PATCH", VM)(update_vm)

    @route("DELETE", VM)
    def delete_vm(call: Call) -> Reply:
        return _act(call, "delete", [call.params["vm"]])

    @route("GET", f"{VM}/instanceview")
    def vm_instance_view(call: Call) -> Reply:
        from vmsscli.service.compute import vm_instance_view as render

        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        if vm == "*":
            raise ArmError(
                404, "ResourceNotFound", f"The instance '{vm}' of '{name}' was not found."
            )
        return call.endpoint.cached_reply(
            _key(call), lambda state: Reply(body=rest.to_rest(render(state, rg, name, vm)))
        )

    def vm_action(action: str):
        def handler(call: Call) -> Reply:
            return _act(call, action, [call.params["vm"]])

        return handler

    for verb, action in VM_ACTIONS.items():
        route("POST", f"{VM}/{verb}")(vm_action(action))

    @route("POST", f"{VM}/runcommand")
    def run_command(call: Call) -> Reply:
        from vmsscli.service.compute import run_command as invoke

        body = call.json_object()
        command_id = body.get("commandId")
        script = body.get("script") or []
        parameters = body.get("parameters") or []
        if not isinstance(command_id, str) or not command_id:
            raise ArmError(
                400,
                "InvalidParameter",
                "Required parameter 'commandId' is missing (null).",
                target="commandId",
            )
        if not isinstance(script, list) or not all(isinstance(line, str) for line in script):
            raise bad_request("script must be a list of strings.", target="script")
        if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
            raise bad_request("parameters must be a list of name/value objects.", "parameters")
        values = []
        for parameter in parameters:
            name, value = parameter.get("name"), parameter.get("value")
            if not isinstance(value, str) or (name is not None and not isinstance(name, str)):
                raise bad_request("Each parameter needs a string value.", target="parameters")
            positional = name is None or re.fullmatch(r"arg\d+", name)
            values.append(value if positional else f"{name}={value}")
        rg, vmss, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        invoke(call.session(), [(rg, vmss, vm)], command_id, script, values)
        call.endpoint.forget()
        state = call.endpoint.current()
        inst = _instance(state, rg, vmss, vm)
        record = inst.run_commands[-1]
        return _accepted(call, record.correlation_id, _location(state, rg, vmss))

    @route("GET", f"{VM}/runcommands")
    def run_commands(call: Call) -> Reply:
        from vmsscli.service.compute import run_command_views

        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        expand = (call.query.get("$expand") or "").lower() == "instanceview"
        items = run_command_views(call.endpoint.current(), rg, name, vm, expand=expand)
        return Reply(body=rest.listing(items, rest.RUN_COMMAND))

    @route("GET", f"{VM}/runcommands/{{command}}")
    def run_command_record(call: Call) -> Reply:
        from vmsscli.service.compute import run_command_record_view

        rg, name, vm = call.params["rg"], call.params["vmss"], call.params["vm"]
        expand = (call.query.get("$expand") or "").lower() == "instanceview"
        item = run_command_record_view(
            call.endpoint.current(), rg, name, vm, call.params["command"], expand=expand
        )
        return Reply(body=rest.to_rest(item, rest.RUN_COMMAND))

    # --- rolling upgrades -------------------------------------------------------------------

    @route("GET", f"{VMSS}/rollingupgrades/latest")
    def rolling_latest(call: Call) -> Reply:
        from vmsscli.service.compute import rolling_upgrade_status

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(
                body=rest.to_rest(
                    rolling_upgrade_status(state, rg, name), rest.ROLLING_UPGRADE_STATUS
                )
            ),
        )

    @route("POST", f"{VMSS}/osrollingupgrade")
    def rolling_start(call: Call) -> Reply:
        from vmsscli.service.compute import start_rolling_upgrade

        rg, name = call.params["rg"], call.params["vmss"]
        started = start_rolling_upgrade(call.session(), rg, name, wait=False)
        call.endpoint.forget()
        return _accepted(call, started.correlation_id, _location(call.endpoint.current(), rg, name))

    @route("GET", f"{VMSS}/extensions")
    def list_extensions(call: Call) -> Reply:
        from vmsscli.service.compute import extension_views

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(
                body={
                    "value": [
                        _extension(state, rg, name, e) for e in extension_views(state, rg, name)
                    ]
                }  # fmt: skip
            ),
        )

    @route("GET", f"{VMSS}/extensions/{{extension}}")
    def get_extension(call: Call) -> Reply:
        from vmsscli.errors import ServiceError
        from vmsscli.service.compute import extension_views

        rg, name, wanted = call.params["rg"], call.params["vmss"], call.params["extension"]

        def render(state) -> Reply:
            found = [e for e in extension_views(state, rg, name) if e["name"] == wanted]
            if not found:
                raise ServiceError(
                    "NotFound",
                    "The entity was not found in this Azure location.",
                    status=404,
                )
            return Reply(body=_extension(state, rg, name, found[0]))

        return call.endpoint.cached_reply(_key(call), render)

    # The extension image catalogue az reads for `vmss extension set` without --version.
    IMAGES = f"{SUB}/providers/microsoft.compute/locations/{{location}}/publishers"

    @route("GET", IMAGES)
    def extension_publishers(call: Call) -> Reply:
        from vmsscli.domain.extensions import CATALOGUE

        names = dict.fromkeys(pub for pub, _, _ in CATALOGUE)
        return Reply(body=[_catalogue_item(call, [p]) for p in names])

    @route("GET", f"{IMAGES}/{{publisher}}/artifacttypes/vmextension/types")
    def extension_types(call: Call) -> Reply:
        from vmsscli.domain.extensions import CATALOGUE

        wanted = call.params["publisher"].casefold()
        kinds = [(pub, kind) for pub, kind, _ in CATALOGUE if pub.casefold() == wanted]
        if not kinds:
            raise ArmError(404, "NotFound", f"Artifact: publisher {call.params['publisher']} "
                           "was not found.")  # fmt: skip
        return Reply(body=[_catalogue_item(call, [pub, kind]) for pub, kind in kinds])

    @route("GET", f"{IMAGES}/{{publisher}}/artifacttypes/vmextension/types/{{type}}/versions")
    def extension_versions(call: Call) -> Reply:
        from vmsscli.domain.extensions import LATEST

        pub, kind = call.params["publisher"], call.params["type"]
        latest = LATEST.get((pub.casefold(), kind.casefold()))
        if latest is None:
            raise ArmError(404, "NotFound", f"Artifact: type {kind} was not found.")
        major, minor = latest.split(".")
        names = [f"{major}.{m}.0" for m in range(max(0, int(minor) - 2), int(minor) + 1)]
        return Reply(body=[_catalogue_item(call, [pub, kind, v]) for v in names])

    @route("POST", f"{VMSS}/extensionrollingupgrade")
    def extension_upgrade(call: Call) -> Reply:
        from vmsscli.service.compute import change_extensions

        rg, name = call.params["rg"], call.params["vmss"]
        started = change_extensions(call.session(), rg, name, "upgrade", wait=False)
        call.endpoint.forget()
        if not started.correlation_id:
            return Reply(200)  # nothing for the instances to do: done at once
        return _accepted(call, started.correlation_id, _location(call.endpoint.current(), rg, name))

    @route("GET", f"{VMSS}/osupgradehistory")
    def os_upgrade_history(call: Call) -> Reply:
        from vmsscli.service.compute import os_upgrade_history as history

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call),
            lambda state: Reply(
                body={"value": history(state, rg, name, call.session().now(state))}
            ),
        )

    @route("GET", f"{VMSS}/skus")
    def list_skus(call: Call) -> Reply:
        from vmsscli.service.maintenance import PAGE_SIZE, sku_views

        rg, name = call.params["rg"], call.params["vmss"]
        return call.endpoint.cached_reply(
            _key(call), lambda state: _paged(call, sku_views(state, rg, name), PAGE_SIZE)
        )

    @route("POST", f"{VMSS}/performmaintenance")
    def perform_maintenance(call: Call) -> Reply:
        from vmsscli.service.maintenance import perform_maintenance as perform

        rg, name = call.params["rg"], call.params["vmss"]
        started = perform(call.session(), rg, name, _instance_ids(call), wait=False)
        call.endpoint.forget()
        return _accepted(call, started.correlation_id, _location(call.endpoint.current(), rg, name))

    @route("POST", f"{VM}/simulateeviction")
    def simulate_eviction(call: Call) -> Reply:
        from vmsscli.service.maintenance import simulate_eviction as evict

        evict(call.session(), call.params["rg"], call.params["vmss"], call.params["vm"])
        call.endpoint.forget()
        return Reply(204)

    @route("GET", f"{SUB}/providers/microsoft.insights/eventtypes/management/values")
    def activity_log(call: Call) -> Reply:
        from vmsscli.service.monitor import PAGE_SIZE, activity_events

        def render(state) -> Reply:
            found = activity_events(
                state,
                call.query.get("$filter"),
                call.query.get("$select"),
                call.session().now(state),
            )
            return _paged(call, found, PAGE_SIZE)

        return call.endpoint.cached_reply(_key(call), render)

    @route("POST", f"{VMSS}/setorchestrationservicestate")
    def set_orchestration_service_state(call: Call) -> Reply:
        from vmsscli.service.compute import set_orchestration_service_state as change

        rg, name = call.params["rg"], call.params["vmss"]
        body = call.json_object()
        service, action = body.get("serviceName"), body.get("action")
        if not isinstance(service, str) or not isinstance(action, str):
            raise bad_request(
                "The request body must name the orchestration service (serviceName) and the "
                "action (Suspend or Resume)."
            )
        correlation_id = change(call.session(), rg, name, service, action)
        call.endpoint.forget()
        return _accepted(call, correlation_id, _location(call.endpoint.current(), rg, name))

    @route("POST", f"{VMSS}/rollingupgrades/cancel")
    def rolling_cancel(call: Call) -> Reply:
        from vmsscli.service.compute import cancel_rolling_upgrade

        rg, name = call.params["rg"], call.params["vmss"]
        started = cancel_rolling_upgrade(call.session(), rg, name, wait=False)
        call.endpoint.forget()
        location = _location(call.endpoint.current(), rg, name)
        return _accepted(call, started.correlation_id + operations.CANCEL, location)

    # --- operation status -------------------------------------------------------------------

    @route("GET", f"{SUB}/providers/microsoft.compute/locations/{{location}}/operations/{{op}}")
    def operation_status(call: Call) -> Reply:
        op = call.params["op"]
        state = call.endpoint.current()
        found = operations.status(state, op)
        waiting = found.status == "InProgress" and state.clock.mode == "manual"
        if waiting and call.endpoint.advance_on_poll:
            from vmsscli.service.compute import finish

            finish(call.session(), op.removesuffix(operations.CANCEL))
            call.endpoint.forget()
            found = operations.status(call.endpoint.current(), op)
        if call.query.get("monitor", "").lower() != "true":
            busy = {"Retry-After": "1"} if found.status == "InProgress" else {}
            return Reply(body=operations.status_body(op, found), headers=busy)
        if found.status == "InProgress":
            sub = call.endpoint.current().subscription_id
            return Reply(
                202,
                headers=operations.headers(
                    call.endpoint.base_url, sub, call.params["location"], op
                ),
            )
        if found.status == "Failed":
            error = found.error or {}
            raise ArmError(400, error.get("code", "OperationFailed"), error.get("message", ""))
        if found.record is not None:
            return Reply(body=operations.run_command_result(found))
        return Reply(204)


# --- helpers ------------------------------------------------------------------------------------


def _instance_ids(call: Call) -> list[str] | None:
    """The `instanceIds` of an action's body (None: none named, the whole set)."""
    ids = call.json_object(required=False).get("instanceIds")
    if ids is not None and (
        not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids)
    ):
        raise bad_request(
            "The request content was invalid and could not be deserialized: "
            "'instanceIds' must be a list of instance ids.",
            target="instanceIds",
        )
    return [str(i) for i in ids] if ids else None


def _paged(call: Call, items: list[Any], size: int) -> Reply:
    """One page of a list answer, from the request's `$skiptoken`, with the `nextLink` to the
    next page when there is one."""
    skip = _skip_token(call.query.get("$skiptoken"))
    following = skip + size if skip + size < len(items) else None
    next_link = _next_link(call, following) if following is not None else None
    return Reply(body=rest.listing(items[skip : skip + size], rest.PLAIN, next_link))


def _skip_token(text: str | None) -> int:
    if text is None:
        return 0
    if not text.isdigit():
        raise bad_request(f"The $skiptoken '{text}' is not one this endpoint issued.")
    return int(text)


def _next_link(call: Call, skip: int) -> str:
    query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
    query["$skiptoken"] = str(skip)
    return f"{call.endpoint.base_url}{call.path.lstrip('/')}?{urllib.parse.urlencode(query)}"


def _key(call: Call) -> str:
    return (
        call.method
        + " "
        + call.path.lower()
        + "?"
        + "&".join(f"{k}={v}" for k, v in sorted(call.query.items()))
    )


def _no_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _subscription(call: Call) -> dict[str, Any]:
    sub = call.endpoint.current().subscription_id
    return {
        "id": f"/subscriptions/{sub}",
        "subscriptionId": sub,
        "tenantId": TENANT_ID,
        "displayName": "vmsscli simulated subscription",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "authorizationSource": "RoleBased",
    }


def _provider(sub: str, namespace: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {"resourceType": kind, "locations": list(LOCATIONS), "apiVersions": ["2024-11-01"]}
            for kind in PROVIDERS[namespace]
        ],
    }


def _provider_named(call: Call) -> dict[str, Any]:
    wanted = call.params["namespace"].lower()
    for namespace in PROVIDERS:
        if namespace.lower() == wanted:
            return _provider(call.endpoint.current().subscription_id, namespace)
    raise ArmError(
        404,
        "InvalidResourceNamespace",
        f"The resource namespace '{call.params['namespace']}' is invalid.",
    )


def _instance(state, rg: str, name: str, vm: str):
    from vmsscli.domain.fleet import find_instance, find_scale_set

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    return find_instance(scale_set, key, rg_key, vm)


def _catalogue_item(call: Call, parts: list[str]) -> dict[str, Any]:
    """One entry of the extension image catalogue: a publisher, a type, or a version."""
    location = call.params["location"]
    sub = call.endpoint.current().subscription_id
    path = f"/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/{location}/Publishers/"
    path += parts[0]
    if len(parts) > 1:
        path += f"/ArtifactTypes/VMExtension/Types/{parts[1]}"
    if len(parts) > 2:
        path += f"/Versions/{parts[2]}"
    return {"id": path, "location": location, "name": parts[-1]}


def _extension(state, rg: str, name: str, printed: dict[str, Any]) -> dict[str, Any]:
    """A model extension as its own resource (VirtualMachineScaleSetExtensions_Get)."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.resource_ids import vmss_id

    rg_key, key, _ = find_scale_set(state, rg, name)
    body = rest.to_rest(printed, rest.VMSS_EXTENSION)
    body["properties"]["provisioningState"] = "Succeeded"
    return {
        "id": f"{vmss_id(state.subscription_id, rg_key, key)}/extensions/{printed['name']}",
        "type": "Microsoft.Compute/virtualMachineScaleSets/extensions",
        **body,
    }


def _location(state, rg: str, name: str) -> str:
    from vmsscli.domain.fleet import find_scale_set

    return find_scale_set(state, rg, name)[2].location


def _accepted(call: Call, correlation_id: str, location: str, status: int = 202) -> Reply:
    sub = call.endpoint.current().subscription_id
    return Reply(
        status, headers=operations.headers(call.endpoint.base_url, sub, location, correlation_id)
    )


def _act(call: Call, action: str, ids: list[str] | None) -> Reply:
    from vmsscli.service.compute import run_action

    rg, name = call.params["rg"], call.params["vmss"]
    started = run_action(call.session(), rg, name, action, ids, wait=False)
    call.endpoint.forget()
    return _accepted(call, started.correlation_id, _location(call.endpoint.current(), rg, name))


def _write_scale_set(call: Call, *, create: bool) -> Reply:
    """PUT (create or update) and PATCH (update) of a scale set."""
    from vmsscli.domain.creation import spec_from_document
    from vmsscli.domain.fleet import find_group, find_scale_set
    from vmsscli.errors import ServiceError
    from vmsscli.service.compute import create_scale_set, update_scale_set

    rg = call.params["rg"]
    name = valid_name("virtual machine scale set", call.params["vmss"])
    body = call.json_object()
    document = rest.flatten(body, rest.VMSS)
    state = call.endpoint.current()
    try:
        find_scale_set(state, rg, name)
        exists = True
    except ServiceError as exc:
        if exc.status != 404 or not create:
            raise
        exists = False
    if exists:
        started = update_scale_set(call.session(), rg, name, document=document, wait=False)
        status = 200
    else:
        _key, group = find_group(state, rg)
        spec = spec_from_document(document, group.location)
        started = create_scale_set(call.session(), rg, name, spec, wait=False)
        status = 201
    call.endpoint.forget()
    reply = Reply(status, rest.to_rest(started.result, rest.VMSS))
    if started.correlation_id:
        sub = call.endpoint.current().subscription_id
        location = started.result.get("location", "")
        reply.headers = operations.headers(
            call.endpoint.base_url, sub, location, started.correlation_id
        )
        del reply.headers["Location"]
    return reply
