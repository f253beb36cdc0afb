"""Per-tenant, per-address and per-account rate limits, counted by the `limits` library.

Counts live in this process's memory (moving windows: the times of the requests still inside
the window, at most the limit's amount per key, expired by the library), so they are per
gateway replica and start afresh on restart; a shared store (Redis) would make them global, at
the price of another service to run. A moving window is exact: a fixed or approximated window
lets a burst through twice around a window's edge.
"""

from __future__ import annotations

import math
import time
from enum import Enum

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from portico_gateway.config import Settings
from portico_gateway.errors import RateLimitedError


class Rule(Enum):
    """What is limited, and how it reads in a 429's message."""

    RUN = "runs for this account"
    LOGIN_IP = "login attempts from this address"
    LOGIN_ACCOUNT = "login attempts for this account"
    SIGNUP_IP = "signups from this address"
    SIGNUP_ACCOUNT = "signups for this email address"
    WS_CONNECT = "WebSocket connections from this address"
    AI_GENERATE = "generated configs for this account"
    WEBHOOK = "webhook requests for this account"


def _rules(settings: Settings) -> dict[Rule, list[RateLimitItem]]:
    configured = {
        Rule.RUN: settings.rate_limit_runs_per_tenant,
        Rule.LOGIN_IP: settings.rate_limit_login_per_ip,
        Rule.LOGIN_ACCOUNT: settings.rate_limit_login_per_account,
        Rule.SIGNUP_IP: settings.rate_limit_signup_per_ip,
        Rule.SIGNUP_ACCOUNT: settings.rate_limit_signup_per_account,
        Rule.WS_CONNECT: settings.rate_limit_ws_connect_per_ip,
        Rule.AI_GENERATE: settings.rate_limit_ai_generate_per_tenant,
        Rule.WEBHOOK: settings.rate_limit_webhooks_per_tenant,
    }
    return {rule: parse_many(text) if text else [] for rule, text in configured.items()}


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._rules = _rules(settings)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, rule: Rule, key: str) -> None:
        """Count one request against every limit of `rule` for `key`; RateLimitedError when
        one is used up (that request is not counted against the limits after it)."""
        for item in self._rules[rule]:
            if not await self._limiter.hit(item, rule.name, key):
                raise await self._refusal(rule, item, key)

    async def _refusal(self, rule: Rule, item: RateLimitItem, key: str) -> RateLimitedError:
        stats = await self._limiter.get_window_stats(item, rule.name, key)
        window = item.get_expiry()
        wait = min(window, max(1, math.ceil(stats.reset_time - time.time())))
        return RateLimitedError(
            f"too many {rule.value} (at most {item}); try again in {wait} s",
            details={"limit": str(item), "retry_after_s": wait},
            retry_after_s=wait,
        )
