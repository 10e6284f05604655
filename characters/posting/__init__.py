"""Everything about a post before it leaves: its content and history, the review workflow with the two-person
rule, threads, scenes, recurring rules, campaigns, the posting rhythm (slots, the next free slot, the queue and its
gaps), CSV/JSON import and export, and the calendar feed."""
