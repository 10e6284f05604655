"""Real servers the publisher tests talk to, started on 127.0.0.1 by session fixtures and stopped afterwards."""
