"""Customers and their balances: registered with Minted, read from Minted, never stored here."""
