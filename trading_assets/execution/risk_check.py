"""The execution core's view of its risk check and its accounting, as protocols, and the permissive
risk check it uses when none is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from trading_assets.trading.orders import Fill, Order


class RiskVerdict(Protocol):
    """What a risk check answers: whether the order may go, and the rule that decided."""

    @property
    def allowed(self) -> bool: ...
    @property
    def rule(self) -> str | None: ...


class RiskCheck(Protocol):
    """The risk engine as the core sees it (``trading_assets.trading.risk.RiskEngine`` fits)."""

    def check(
        self,
        order: Order,
        portfolio: Any,
        *,
        now_us: int,
        last_tick_us: int | None,
        model_loaded_us: int | None,
    ) -> RiskVerdict: ...


class PortfolioLike(Protocol):
    """Accounting that takes fills as they happen (``trading_assets.trading.portfolio.Portfolio`` fits)."""

    def apply(self, fill: Fill) -> object: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Allowed:
    """The permissive stub's verdict: every order may go."""

    allowed: bool = True
    """Always True."""
    rule: str | None = None
    """No rule fired."""


class PermissiveRisk:
    """A risk check that allows every order (until the risk engine is wired in)."""

    def check(
        self,
        order: Order,
        portfolio: Any,
        *,
        now_us: int,
        last_tick_us: int | None,
        model_loaded_us: int | None,
    ) -> Allowed:
        """Allow ``order``."""
        return Allowed()
