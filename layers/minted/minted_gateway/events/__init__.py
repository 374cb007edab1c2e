"""Events the gateway publishes about orders (docs/order-events.md)."""
