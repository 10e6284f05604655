"""Engagement analytics: what the collected numbers say, per post, character, campaign, network and hour."""
