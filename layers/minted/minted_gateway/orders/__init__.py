"""Orders: what a partner asks to buy, the ledger that records it exactly once, and the use cases."""
