"""A tally of engagement: how many measured posts, and their likes, reposts, replies and quotes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tally:
    """Measured posts (one post on one network each) and the sums of their latest numbers."""

    posts: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0

    @property
    def engagement(self) -> int:
        """Return likes + reposts + replies + quotes."""
        return self.likes + self.reposts + self.replies + self.quotes

    @property
    def per_post(self) -> float:
        """Return the average engagement per post (0 without posts)."""
        return self.engagement / self.posts if self.posts else 0.0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.posts + other.posts, self.likes + other.likes, self.reposts + other.reposts,
                     self.replies + other.replies, self.quotes + other.quotes)


def tally_of(posts: object, likes: object, reposts: object, replies: object, quotes: object) -> Tally:
    """Return a Tally from a row of SQL aggregates (sums of no rows are NULL)."""
    return Tally(*(int(value or 0) for value in (posts, likes, reposts, replies, quotes)))  # type: ignore[call-overload]
