"""A Minted Connect stand-in for development and tests (contract sections 3 to 10)."""
