"""What happened and who must know: the audit trail of every change and each member's notifications (failed,
held and rejected posts, approvals). Other parts write here; nothing here calls back into them."""
