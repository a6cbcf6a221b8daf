"""Caps and pacing: token buckets for calls per second (the calling window is
gateway.domain.window)."""

from __future__ import annotations


class TokenBucket:
    """At most `rate` new calls a second, with a burst of `burst` (1: never two at once
    above the rate). Time is passed in, so the rule is testable without a clock."""

    __slots__ = ("burst", "last_write", "next_write", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float = 1.0, now: float = 0.0) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.stamp = now
        self.next_write = float("-inf")  # the earliest moment the next call may go out
        self.last_write = float("-inf")  # when the last call really went out

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def set_rate(self, rate: float) -> None:
        self.rate = rate
