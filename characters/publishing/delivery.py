"""Deliveries: claim due deliveries atomically, publish each exactly once, and settle every outcome.

A delivery (Delivery) moves pending → publishing (claimed under a lease) → published | failed | unconfirmed |
missed, or back to pending (a retry, or a lease that expired before anything was sent). The rules that make
"exactly once" hold, whatever process dies when:

- A claim is one atomic statement: SQLite `BEGIN IMMEDIATE` + `UPDATE … RETURNING`; PostgreSQL a
  `FOR NO KEY UPDATE SKIP LOCKED` subquery with the status re-checked in the outer WHERE.
- `sending_started_at` is committed before the publisher is called. A lease that expires without it goes back to
  pending; one with it may have reached the network, so it is looked up there or held as unconfirmed for a person.
- Every write after the claim is fenced on `lease_owner = me AND status = 'publishing'`: a worker that lost its
  lease changes nothing.

Functions here take an engine (each is its own short transaction, owned by the scheduler job that calls it) or,
for people resolving held deliveries, a session (the web request owns that transaction). Times are injected.

This module is the interface the scheduler and the web app use; the code is in `claims` (leases and heartbeats),
`loading` (what a claimed delivery publishes), `settling` (the sending marker and every outcome), `post_status`
(a post follows its deliveries), `recovery` (expired leases, missed posts), `resolving` (people deciding on held
deliveries) and `checks` (connection tests), over the SQL pieces in `sql`.
"""

from characters.publishing.checks import ChannelCheck, record_connection_check, take_connection_checks
from characters.publishing.claims import ClaimedDelivery, claim_due_deliveries, heartbeat, next_due_time
from characters.publishing.loading import ChannelData, OutgoingDelivery, PartData, claim_and_load, load_deliveries
from characters.publishing.post_status import post_status_for
from characters.publishing.recovery import ReapResult, missed_reason, reap_expired_leases, sweep_missed
from characters.publishing.resolving import requeue_missed, resolve_unconfirmed
from characters.publishing.sessions import save_channel_session
from characters.publishing.settling import (
    MAX_ATTEMPTS,
    BatchResult,
    Failure,
    LookupLater,
    Missed,
    Published,
    Released,
    Resend,
    Settlement,
    Unconfirmed,
    complete_delivery,
    fail_delivery,
    mark_unconfirmed,
    release_unsent,
    retry_delay,
    settle,
    start_sending,
    write_batch,
)

__all__ = [
    "MAX_ATTEMPTS",
    "BatchResult",
    "ChannelCheck",
    "ChannelData",
    "ClaimedDelivery",
    "Failure",
    "LookupLater",
    "Missed",
    "OutgoingDelivery",
    "PartData",
    "Published",
    "ReapResult",
    "Released",
    "Resend",
    "Settlement",
    "Unconfirmed",
    "claim_and_load",
    "claim_due_deliveries",
    "complete_delivery",
    "fail_delivery",
    "heartbeat",
    "load_deliveries",
    "mark_unconfirmed",
    "missed_reason",
    "next_due_time",
    "post_status_for",
    "reap_expired_leases",
    "record_connection_check",
    "release_unsent",
    "requeue_missed",
    "resolve_unconfirmed",
    "retry_delay",
    "save_channel_session",
    "settle",
    "start_sending",
    "sweep_missed",
    "take_connection_checks",
    "write_batch",
]
