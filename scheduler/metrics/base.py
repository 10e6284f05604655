"""What every network reader implements; errors are the publishers' PublishError (with Retry-After when given)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from characters.analytics.collect import Counts
from scheduler.publishers.base import SessionSlot


@dataclass(frozen=True)
class Account:
    """A channel's account as a reader reaches it: settings, decrypted credentials and the shared session."""

    channel_id: int
    settings: dict[str, Any]
    secrets: dict[str, Any]
    session: SessionSlot | None = None


class MetricsReader(Protocol):
    """Reads one network's numbers; raises PublishError when the network cannot be asked."""

    kind: str
    batch_size: int

    def read_posts(self, account: Account, ids: Sequence[str]) -> dict[str, Counts | None]:
        """Return the counts per post id (at most `batch_size`); None for a post deleted on the network.

        An id left out could not be read this time (e.g. not indexed yet) and is asked again later.
        """
        ...

    def read_followers(self, account: Account) -> int:
        """Return the account's follower count."""
        ...
