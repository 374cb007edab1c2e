"""Legal documents a customer must see or accept, from Minted, cached with a lifetime."""
