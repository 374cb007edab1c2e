"""Card payments: a B2B2C buy that Minted charges to the customer's stored card (contract 11).

A card buy is an order like any other (the same ledger, exactly once per external_id, the same
limits); what is its own lives here: the payment a partner sends (``requests``) and what Minted
reports of it (``outcome``). The CVV passes through to Minted and is kept nowhere.
"""
