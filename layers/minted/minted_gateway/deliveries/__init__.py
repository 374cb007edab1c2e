"""Physical delivery: a customer's grams sent to them as bars or coins (contract 12).

A delivery is an order of Minted's type ``Delivery`` in the same ledger, placed exactly once per
external_id by the same machinery as a buy (``PlaceOrder``); what is its own lives here: the
request a partner sends (``requests``), the use case that completes its customer block
(``create``), and the cargo tracking Minted reports (``tracking``). Addresses go to Minted and
are kept nowhere.
"""
