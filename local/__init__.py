"""Local tooling for people and tests: the Minted sandbox and the dev stack. Never shipped in the layer."""
