"""Token buckets per caller and kind, limits by role."""

from __future__ import annotations

from service.security.access import Role
from service.security.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_minutes_allowance_then_429_with_the_wait_then_refill() -> None:
    clock = Clock()
    limiter = RateLimiter({"public": {"search": 6}}, clock=clock)
    assert [limiter.check("addr:1.2.3.4", Role.public, "search") for _ in range(6)] == [None] * 6
    wait = limiter.check("addr:1.2.3.4", Role.public, "search")
    assert wait is not None and 9.9 < wait <= 10.0  # 6 a minute: one every 10 s
    assert limiter.check("addr:5.6.7.8", Role.public, "search") is None  # another caller
    assert limiter.check("addr:1.2.3.4", Role.public, "upload") is None  # another kind
    clock.now += 10.0
    assert limiter.check("addr:1.2.3.4", Role.public, "search") is None
    assert limiter.check("addr:1.2.3.4", Role.public, "search") is not None


def test_limits_follow_the_role_and_zero_means_none() -> None:
    limiter = RateLimiter({"examiner": {"search": 2}, "admin": {"search": 0}}, clock=Clock())
    assert limiter.per_minute(Role.public, "search") == 120  # a default kept
    assert [limiter.check("key:e", Role.examiner, "search") is None for _ in range(3)] == [
        True, True, False]
    assert all(limiter.check("key:a", Role.admin, "search") is None for _ in range(1000))
