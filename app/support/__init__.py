"""Inbound support: tickets, warranty claims, orders and delivery, FAQ knowledge, operator hours.

Flow actions live in actions.py (registered with the flow engine); everything else is plain
services callable from the CLI, the console and tests.
"""
