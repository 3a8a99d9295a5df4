"""Campaigns: a template (or A/B variants) to an audience at each customer's local time, throttled."""
