"""The checker's output: findings with spans, an overall score and a verdict."""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["fail", "warn", "info"]
Verdict = Literal["pass", "warn", "fail"]
Confidence = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a draft is (or may be) out of character."""

    check: str
    severity: Severity
    message: str
    start: int | None = None
    end: int | None = None
    suggestion: str | None = None
    # Concrete texts that can replace text[start:end] with one click ("" deletes the span); best first, no repeats.
    replacements: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as plain JSON types."""
        data = asdict(self)
        data["replacements"] = list(self.replacements)
        return data


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A scored draft: 0-100 (higher is more in character), a verdict and the findings behind it."""

    score: int
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    similarity: float | None = None
    sounds_like: str | None = None
    details: dict[str, float] = field(default_factory=dict)
    # How far the voice evidence can be trusted (canon size, draft length) and why, in words an editor reads.
    confidence: Confidence = "high"
    confidence_note: str | None = None

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
            "confidence": self.confidence,
            "confidence_note": self.confidence_note,
        }


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    """Return the verdict the findings imply: any fail fails, any warn warns."""
    severities = {finding.severity for finding in findings}
    if "fail" in severities:
        return "fail"
    if "warn" in severities:
        return "warn"
    return "pass"
