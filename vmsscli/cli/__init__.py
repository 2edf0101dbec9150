"""The `vmss` command line: az-style parsing, commands, and error reporting."""
