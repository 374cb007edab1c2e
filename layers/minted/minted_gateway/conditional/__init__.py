"""Target-price orders and price alerts: triggers on Minted's prices, checked by every price refresh.

A trigger waits in the triggers table, indexed by its price (``waiting_by_price``), so a refresh
asks only for the crossed ones. A conditional order that crosses is marked FIRED and handed to the
fired-orders queue, whose consumer places it through ``PlaceOrder`` under ``cond-<id>`` (at most once,
whatever is retried); a price alert that crosses is an event on the order-events bus.
"""
