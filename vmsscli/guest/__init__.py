"""The simulated guest OS: its facts, and interpreters for the scripts run-command sends.

Nothing here runs anything on the host: scripts are parsed and answered from the guest facts.
"""
