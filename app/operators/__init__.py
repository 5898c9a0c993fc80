"""Operator accounts: the people who sign in to the console, the API's browser sessions and the
desk (models.py: accounts and failed logins; users.py: passwords, sessions, who is signed in).

Below every package that asks who is signed in, so the API, the console, the desk and the
simulator's softphone each read it without importing one another.
"""
