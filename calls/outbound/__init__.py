"""Outbound calling (issue 19): campaigns, lists, do-not-call, dialing through the switch. Tables of the calls app."""
