"""Best hours: the local hours of day whose posts drew the most engagement per post, from a character's history.

An hour only counts with at least MIN_POSTS_PER_HOUR measured posts, "best" needs at least two such hours to
compare, and a best hour does better than the average post: with thinner data the answer says so instead of
guessing. Replies to audience conversations are left out: they go out when someone writes, not when the character
chooses to post.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from characters.analytics.local_time import day_and_hour, local_seconds
from characters.analytics.tally import Tally, tally_of
from characters.core.models import Delivery, Post

MIN_POSTS_PER_HOUR = 5
BEST_HOURS = 3
# How far back the queue looks for a character's best hours.
HISTORY = timedelta(days=180)


@dataclass(frozen=True)
class BestHours:
    """The best local hours (best first), how many posts were measured, and how many hours had enough of them."""

    hours: tuple[int, ...]
    measured: int
    qualified: int

    @property
    def enough(self) -> bool:
        """Return True when there was enough data to name best hours."""
        return bool(self.hours)

    def describe(self) -> str:
        """Return a sentence for people: the hours, or why there are none yet."""
        if self.enough:
            listed = ", ".join(f"{hour:02d}:00" for hour in self.hours)
            return (f"Best hours: {listed} (the most engagement per post, above the average, among hours with "
                    f"at least {MIN_POSTS_PER_HOUR} measured posts).")
        return (f"Not enough data for best hours yet: {self.measured} measured posts, {self.qualified} hours with "
                f"at least {MIN_POSTS_PER_HOUR} of them (2 are needed to compare).")


def best_hours(by_hour: Sequence[Tally]) -> BestHours:
    """Return the best hours from 24 tallies, one per local hour of day."""
    qualified = [(hour, tally) for hour, tally in enumerate(by_hour) if tally.posts >= MIN_POSTS_PER_HOUR]
    measured = sum(tally.posts for tally in by_hour)
    if len(qualified) < 2:
        return BestHours((), measured, len(qualified))
    # Best means above the average post, so a flat history names every hour and prefers none.
    average = sum((tally for tally in by_hour), Tally()).per_post
    ranked = sorted((item for item in qualified if item[1].per_post >= average),
                    key=lambda item: (-item[1].per_post, item[0]))
    return BestHours(tuple(hour for hour, _ in ranked[:BEST_HOURS]), measured, len(qualified))


def measured_in(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Return the conditions for deliveries published in [start, end) whose numbers have been read."""
    return [col(Delivery.metrics_at).is_not(None), col(Delivery.published_at) >= start,
            col(Delivery.published_at) < end]


def best_hours_of(session: Session, zones: Mapping[int, ZoneInfo], now: datetime) -> dict[int, BestHours]:
    """Return each character's best hours over the HISTORY before `now`, in its zone, in one query."""
    if not zones:
        return {}
    start = now - HISTORY
    dialect = session.get_bind().dialect.name
    local = local_seconds(col(Delivery.published_at), col(Post.character_id), zones, start, now, dialect)
    _, hour = day_and_hour(local)
    rows = session.execute(
        select(col(Post.character_id), hour, func.count(), func.sum(Delivery.likes), func.sum(Delivery.reposts),
               func.sum(Delivery.replies), func.sum(Delivery.quotes))
        .select_from(Delivery).join(Post, col(Post.id) == col(Delivery.post_id))
        .where(col(Post.character_id).in_(list(zones)), col(Post.conversation_id).is_(None),
               *measured_in(start, now))
        .group_by(col(Post.character_id), hour)).all()
    tallies: dict[int, list[Tally]] = {character_id: [Tally()] * 24 for character_id in zones}
    for character_id, at, *numbers in rows:
        tallies[character_id][int(at)] = tally_of(*numbers)
    return {character_id: best_hours(by_hour) for character_id, by_hour in tallies.items()}
