"""vmsscli: a local, offline twin of the Azure CLI's `az vmss` instance-level commands."""

__version__ = "0.1.0"
