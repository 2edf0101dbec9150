#!/bin/bash
# What not to do: reimage the whole tier, then log in to "check".
az vmss reimage -g rg-search -n search-vmss -o none
az account show
