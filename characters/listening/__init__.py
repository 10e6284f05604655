"""Listening: the audience's mentions, replies and quotes of each character, and answering them in character."""
