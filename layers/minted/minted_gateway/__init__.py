"""Shared code of the Minted Connect partner gateway: the Minted client, use cases, ports and adapters."""
