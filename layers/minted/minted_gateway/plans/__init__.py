"""Savings plans: a customer's recurring buy, run once per period through the ordinary order path."""
