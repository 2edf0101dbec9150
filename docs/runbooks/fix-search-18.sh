#!/bin/bash
# Field case 1: find the unhealthy backend, restart it, then reimage it.
set -euo pipefail
RG=rg-search; VMSS=search-vmss
bad=$(az vmss list-instances -g $RG -n $VMSS --expand instanceView \
  --query "[?instanceView.vmHealth.status.code!='HealthState/healthy'].instanceId" -o tsv)
az vmss restart -g $RG -n $VMSS --instance-ids $bad -o none
az vmss reimage -g $RG -n $VMSS --instance-ids $bad -o none
