"""`vmss nic list / list-vm-nics / show`: Azure's network interface shape (az's flattened print),
addresses stable per instance and new for an instance that replaces a deleted one."""

from __future__ import annotations

import json

BATCH = ["-g", "rg-batch", "--vmss-name", "batch-vmss"]
NIC_KEYS = {
    "auxiliaryMode",
    "auxiliarySku",
    "disableTcpStateTracking",
    "dnsSettings",
    "enableAcceleratedNetworking",
    "enableIPForwarding",
    "hostedWorkloads",
    "id",
    "ipConfigurations",
    "macAddress",
    "name",
    "networkSecurityGroup",
    "nicType",
    "primary",
    "provisioningState",
    "resourceGroup",
    "resourceGuid",
    "tapConfigurations",
    "type",
    "virtualMachine",
    "vnetEncryptionSupported",
}


def _nics(cli, *argv: str) -> list[dict]:
    done = cli("nic", *argv)
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_list_has_one_nic_per_instance_in_azure_shape(cli):
    nics = _nics(cli, "list", *BATCH)
    instances = json.loads(cli("list-instances", "-g", "rg-batch", "-n", "batch-vmss").stdout)
    assert [n["virtualMachine"]["id"] for n in nics] == [i["id"] for i in instances]
    for nic, inst in zip(nics, instances, strict=True):
        assert set(nic) == NIC_KEYS
        assert nic["type"] == "Microsoft.Network/networkInterfaces"
        # The instance's own reference to its NIC is this NIC.
        assert inst["networkProfile"]["networkInterfaces"][0]["id"] == nic["id"]
        (ip,) = nic["ipConfigurations"]
        assert ip["id"] == f"{nic['id']}/ipConfigurations/{ip['name']}"
        assert ip["primary"] is True and ip["privateIPAllocationMethod"] == "Dynamic"
        assert ip["subnet"]["id"].endswith("/subnets/batch-vmssSubnet")
        assert ip["loadBalancerBackendAddressPools"][0]["id"].endswith(
            "/backendAddressPools/batch-vmssLBBEPool"
        )
        assert nic["macAddress"].startswith("00-0D-3A-") and len(nic["macAddress"]) == 17
    addresses = [n["ipConfigurations"][0]["privateIPAddress"] for n in nics]
    assert addresses == ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"]
    assert len({n["macAddress"] for n in nics}) == len(nics)


def test_list_vm_nics_and_show_answer_for_one_instance(cli):
    (one,) = _nics(cli, "list-vm-nics", *BATCH, "--instance-id", "3")
    assert one["virtualMachine"]["id"].endswith("/virtualMachines/3")
    shown = json.loads(cli("nic", "show", *BATCH, "--instance-id", "3", "-n", one["name"]).stdout)
    assert shown == one


def test_addresses_are_stable_and_a_replacement_instance_gets_a_new_one(cli):
    before = {n["virtualMachine"]["id"]: n for n in _nics(cli, "list", *BATCH)}
    assert (
        cli("reimage", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "1").exit_code == 0
    )
    assert (
        cli(
            "delete-instances", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "4"
        ).exit_code
        == 0
    )
    assert cli("scale", "-g", "rg-batch", "-n", "batch-vmss", "--new-capacity", "5").exit_code == 0
    after = {n["virtualMachine"]["id"]: n for n in _nics(cli, "list", *BATCH)}
    kept = set(before) & set(after)
    assert len(kept) == 4
    for vm in kept:  # a reimage keeps the NIC
        assert after[vm] == before[vm]
    (new,) = set(after) - set(before)
    new_ip = after[new]["ipConfigurations"][0]["privateIPAddress"]
    gone = next(iter(set(before) - set(after)))
    assert new_ip != before[gone]["ipConfigurations"][0]["privateIPAddress"]
    assert new_ip not in {after[vm]["ipConfigurations"][0]["privateIPAddress"] for vm in kept}


def test_errors(cli):
    wrong = cli("nic", "show", *BATCH, "--instance-id", "0", "-n", "nope")
    assert wrong.exit_code == 3
    assert wrong.stderr.startswith("ERROR: (ResourceNotFound) ")
    assert "networkInterfaces/nope" in wrong.stderr
    no_instance = cli("nic", "list-vm-nics", *BATCH, "--instance-id", "77")
    assert no_instance.exit_code == 3
    no_set = cli("nic", "list", "-g", "rg-batch", "--vmss-name", "nope")
    assert (no_set.exit_code, no_set.stderr.startswith("ERROR: (ResourceNotFound)")) == (3, True)
    missing = cli("nic", "list", "-g", "rg-batch")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("ERROR: the following arguments are required: --vmss-name")


def test_nat_pool_reaches_each_instance_through_its_own_rule(cli):
    shown = json.loads(cli("show", "-g", "rg-batch", "-n", "batch-vmss").stdout)
    config = shown["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"]
    (pool,) = config[0]["ipConfigurations"][0]["loadBalancerInboundNatPools"]
    assert pool["id"].endswith("/loadBalancers/batch-vmssLB/inboundNatPools/batch-vmssLBNatPool")
    for nic in _nics(cli, "list", *BATCH):
        instance = nic["virtualMachine"]["id"].rsplit("/", 1)[1]
        (rule,) = nic["ipConfigurations"][0]["loadBalancerInboundNatRules"]
        assert rule["id"] == pool["id"].replace("inboundNatPools", "inboundNatRules") + (
            f".{instance}"
        )


def test_connection_info_maps_each_instance_to_the_balancer_address_and_its_nat_port(cli):
    done = cli("list-instance-connection-info", "-g", "rg-batch", "-n", "batch-vmss")
    assert done.exit_code == 0, done.stderr
    info = json.loads(done.stdout)
    assert list(info) == [f"instance {i}" for i in range(5)]
    addresses = {value.rsplit(":", 1)[0] for value in info.values()}
    assert len(addresses) == 1
    (address,) = addresses
    assert all(0 <= int(part) <= 255 for part in address.split("."))
    assert [value.rsplit(":", 1)[1] for value in info.values()] == [
        str(50000 + i) for i in range(5)
    ]
    assert cli("scale", "-g", "rg-batch", "-n", "batch-vmss", "--new-capacity", "6").exit_code == 0
    grown = json.loads(
        cli("list-instance-connection-info", "-g", "rg-batch", "-n", "batch-vmss").stdout
    )
    assert grown["instance 5"] == f"{address}:50005"


def test_public_ips_are_empty_without_per_instance_public_ips(cli):
    done = cli("list-instance-public-ips", "-g", "rg-batch", "-n", "batch-vmss")
    assert (done.exit_code, json.loads(done.stdout)) == (0, [])


def test_network_commands_refuse_flexible_sets_as_az_does(cli):
    made = cli("create", "-g", "rg-flex", "-n", "flex", "--orchestration-mode", "Flexible")
    assert made.exit_code == 0, made.stderr
    for command in ("list-instance-connection-info", "list-instance-public-ips"):
        done = cli(command, "-g", "rg-flex", "-n", "flex")
        assert done.exit_code == 1
        assert done.stderr == (
            "ERROR: This command is not available for VMSS in Flex mode. Please use the "
            '"az network public-ip list/show" to retrieve networking information.\n'
        )
