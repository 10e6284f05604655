"""The checker's output: findings with spans, an overall score and a verdict."""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["fail", "warn", "info"]
Verdict = Literal["pass", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a draft is (or may be) out of character."""

    check: str
    severity: Severity
    message: str
    start: int | None = None
    end: int | None = None
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as plain JSON types."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A scored draft: 0-100 (higher is more in character), a verdict and the findings behind it."""

    score: int
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    similarity: float | None = None
    sounds_like: str | None = None
    details: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Return True when the verdict is fail."""
        return self.verdict == "fail"

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON types."""
        return {
            "score": self.score,
            "verdict": self.verdict,
            "findings": [finding.to_dict() for finding in self.findings],
            "similarity": self.similarity,
            "sounds_like": self.sounds_like,
            "details": dict(self.details),
        }


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    """Return the verdict the findings imply: any fail fails, any warn warns."""
    severities = {finding.severity for finding in findings}
    if "fail" in severities:
        return "fail"
    if "warn" in severities:
        return "warn"
    return "pass"
