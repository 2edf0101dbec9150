"""The run-command ids Azure documents, with their OS and what they do."""

COMMAND_IDS: dict[str, tuple[str, str]] = {
    "RunShellScript": ("Linux", "Run a Linux shell script"),
    "ifconfig": ("Linux", "List network configuration"),
    "RunPowerShellScript": ("Windows", "Run a PowerShell script"),
    "IPConfig": ("Windows", "List IP configuration"),
    "EnableAdminAccount": ("Windows", "Enable administrator account"),
    "EnableEMS": ("Windows", "Enable EMS"),
    "EnableRemotePS": ("Windows", "Enable remote PowerShell"),
    "RDPSettings": ("Windows", "Verify RDP Listener Settings"),
    "ResetRDPCert": ("Windows", "Restore RDP Authentication mode to defaults"),
    "SetRDPPort": ("Windows", "Set Remote Desktop port"),
}
