"""Prices: the cache of Minted's latest prices, its refresh, and quotes that lock a price."""
