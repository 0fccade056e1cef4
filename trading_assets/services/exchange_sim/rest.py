"""Binance REST on its own port (Binance serves REST and streams from different hosts), plus /sim control.

Binance endpoints: ``GET /api/v3/ping``, ``/api/v3/time``, ``/api/v3/exchangeInfo``, ``/api/v3/trades``
and ``/api/v3/historicalTrades``, with Binance's error bodies (``{"code":-1121,"msg":"Invalid symbol."}``,
HTTP 400). ``historicalTrades`` serves every released trade, including those the websockets skipped.
Simulator endpoints: ``GET /sim/stats``, ``POST /sim/drop-connections``, ``GET``/``POST /sim/faults``.
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from trading_assets.services.exchange_sim import wire
from trading_assets.services.exchange_sim.engine import Engine
from trading_assets.services.exchange_sim.history import TradeRows

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
ENGINE_KEY = web.AppKey("engine", Engine)


class BinanceError(Exception):
    """A request Binance would refuse: HTTP status, Binance code and message."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _trades_response(rows: TradeRows) -> web.Response:
    body = wire.rest_trades(rows.trade_id, rows.price, rows.qty, rows.time_us, rows.buyer_maker)
    return web.Response(body=body, content_type="application/json")


def _symbol(request: web.Request) -> str:
    symbol = request.query.get("symbol", "")
    if not symbol:
        raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    if symbol not in request.app[ENGINE_KEY].history.by_symbol:
        raise BinanceError(-1121, "Invalid symbol.")
    return symbol


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19:
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        )
    return int(raw)


def _limit(request: web.Request) -> int:
    limit = _int_param(request, "limit", DEFAULT_LIMIT)
    assert limit is not None
    if limit < 1:
        raise BinanceError(-1130, "Invalid data sent for a parameter.")
    return min(limit, MAX_LIMIT)  # Binance caps the page at 1000


@web.middleware
async def _binance_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except BinanceError as error:
        return _json({"code": error.code, "msg": error.msg}, status=error.status)
    # Binance reports the request weight used; connectors may read it.
    response.headers["X-MBX-USED-WEIGHT-1M"] = "1"
    return response


async def ping(request: web.Request) -> web.Response:
    """``GET /api/v3/ping``."""
    return _json({})


async def server_time(request: web.Request) -> web.Response:
    """``GET /api/v3/time``: the exchange clock (accelerated), in ms."""
    return _json({"serverTime": request.app[ENGINE_KEY].clock_us // 1000})


async def exchange_info(request: web.Request) -> web.Response:
    """``GET /api/v3/exchangeInfo``: the traded symbols."""
    engine = request.app[ENGINE_KEY]
    symbols = [
        {
            "symbol": s,
            "status": "TRADING",
            "baseAsset": s.removesuffix("USDT") or s,
            "quoteAsset": "USDT" if s.endswith("USDT") else "",
        }
        for s in engine.symbols
    ]
    return _json({"timezone": "UTC", "serverTime": engine.clock_us // 1000, "symbols": symbols})


async def recent_trades(request: web.Request) -> web.Response:
    """``GET /api/v3/trades?symbol=&limit=``: the most recent trades, oldest first."""
    symbol, limit = _symbol(request), _limit(request)
    return _trades_response(request.app[ENGINE_KEY].history.by_symbol[symbol].recent(limit))


async def historical_trades(request: web.Request) -> web.Response:
    """``GET /api/v3/historicalTrades?symbol=&fromId=&limit=``: trades from ``fromId`` on (or the newest)."""
    symbol, limit = _symbol(request), _limit(request)
    from_id = _int_param(request, "fromId", None)
    held = request.app[ENGINE_KEY].history.by_symbol[symbol]
    rows = held.recent(limit) if from_id is None else held.from_id(from_id, limit)
    if from_id is not None and held.first_id is not None and from_id < held.first_id:
        log.warning(
            "historicalTrades %s fromId=%d is older than the history kept (from %d)",
            symbol,
            from_id,
            held.first_id,
        )
    return _trades_response(rows)


async def sim_stats(request: web.Request) -> web.Response:
    """``GET /sim/stats``."""
    return _json(request.app[ENGINE_KEY].stats())


async def sim_drop(request: web.Request) -> web.Response:
    """``POST /sim/drop-connections``: abort every websocket now."""
    return _json({"dropped": request.app[ENGINE_KEY].hub.drop_all()})


async def sim_get_faults(request: web.Request) -> web.Response:
    """``GET /sim/faults``: the fault settings in force."""
    return _json(request.app[ENGINE_KEY].faults.config.to_json())


async def sim_set_faults(request: web.Request) -> web.Response:
    """``POST /sim/faults`` with a JSON object of settings to change; answers the settings in force."""
    engine = request.app[ENGINE_KEY]
    try:
        changes = orjson.loads(await request.read())
        if not isinstance(changes, dict):
            raise TypeError("the body must be a JSON object of fault settings")
        engine.faults.config = engine.faults.config.updated(changes)
    except (TypeError, ValueError) as exc:  # bad JSON (orjson's error is a ValueError) or settings
        return _json({"error": str(exc)}, status=400)
    log.info("fault settings changed: %s", engine.faults.config)
    return _json(engine.faults.config.to_json())


def build_app(engine: Engine) -> web.Application:
    """The REST application over ``engine``."""
    app = web.Application(middlewares=[_binance_errors])
    app[ENGINE_KEY] = engine
    app.router.add_get("/api/v3/ping", ping)
    app.router.add_get("/api/v3/time", server_time)
    app.router.add_get("/api/v3/exchangeInfo", exchange_info)
    app.router.add_get("/api/v3/trades", recent_trades)
    app.router.add_get("/api/v3/historicalTrades", historical_trades)
    app.router.add_get("/sim/stats", sim_stats)
    app.router.add_post("/sim/drop-connections", sim_drop)
    app.router.add_get("/sim/faults", sim_get_faults)
    app.router.add_post("/sim/faults", sim_set_faults)
    return app
