"""Listening: one module per network reads what the audience says to a character; the cycle stores it."""
