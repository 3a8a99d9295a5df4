"""Inbound traffic: channel ingress, receipts and replies into threads, reply actions, agent actions."""
