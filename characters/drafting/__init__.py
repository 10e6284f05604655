"""Drafting with a model, in character: the prompt built from a bible within a token budget, and drafting jobs
(variants from a brief, rewrites, replies) that stream their progress and check and repair every variant."""
