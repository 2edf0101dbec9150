#!/bin/sh
# Roll a configuration script out to the web tier and keep the audit trail:
# NICs first (what will the change touch), then the Custom Script extension (a model change:
# web-vmss is Rolling, so a rolling upgrade applies it batch by batch), wait until every
# instance has the latest model, check the extension on an instance, and read the activity
# log for the change record.
set -e
RG=rg-web
VMSS=web-vmss

az vmss nic list -g $RG --vmss-name $VMSS \
  --query "[].{nic: name, ip: ipConfigurations[0].privateIPAddress}" -o table

az vmss extension set -g $RG --vmss-name $VMSS -n CustomScript \
  --publisher Microsoft.Azure.Extensions --version 2.1 \
  --settings '{"commandToExecute": "echo configured by change 4711 > /etc/motd"}' -o none

for id in $(az vmss list-instances -g $RG -n $VMSS --query "[].instanceId" -o tsv); do
  az vmss wait -g $RG -n $VMSS --instance-id "$id" --custom "latestModelApplied" \
    --interval 60 --timeout 1800
done

az vmss extension list -g $RG --vmss-name $VMSS \
  --query "[].{name: name, version: typeHandlerVersion}" -o table
az vmss get-instance-view -g $RG -n $VMSS --instance-id 0 \
  --query "extensions[?name=='CustomScript'].statuses[0].code" -o tsv

az monitor activity-log list -g $RG --offset 2h \
  --query "[].{at: eventTimestamp, operation: operationName.value, status: status.value}" -o table
