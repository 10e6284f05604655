"""Getting an approved post out exactly once: channels (where a character publishes) with their encrypted
credentials, and deliveries, one per post and channel, that the scheduler claims, sends and settles."""
