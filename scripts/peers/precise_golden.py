#!/usr/bin/env python3
"""Reference fills for Qraft's precise (event-driven) engine (src/qraft/engines/precise/) from two
event-driven peers, backtrader and NautilusTrader, and from a plain-Python reference loop.

How to regenerate (from the repository root):

    .venv-peers/nautilus/bin/python scripts/peers/precise_golden.py [--data CSV] [--out JSON]

The interpreter must have backtrader 1.9.78.123 and nautilus_trader 1.221.0. NautilusTrader (every
release up to 1.221.0) requires pandas < 3 while vectorbt 1.2.0 of .venv-peers requires pandas >= 3.0.3,
so the two cannot share one environment: NautilusTrader lives in a venv of its own nested in the
(git-ignored) .venv-peers, made with

    python3 -m venv .venv-peers/nautilus
    .venv-peers/nautilus/bin/pip install nautilus_trader==1.221.0 backtrader==1.9.78.123 \
        pandas==2.3.3 numpy==2.4.6

(see scripts/peers/requirements.txt). Everything is deterministic: a rerun with the same peers
writes the same bytes.

Input: src/qraft/engines/precise/testdata/aapl_daily.csv: AAPL's 1,259 daily bars, 2013-02-08 ..
2018-02-07, copied verbatim (columns date,open,high,low,close,volume; the Name column dropped) from
the shared S&P 500 sample (../shared/data/sp500-5yr/stock_data/individual_stocks_5yr/AAPL_data.csv,
unadjusted; prices have up to 4 decimals).

Output: src/qraft/engines/precise/testdata/peers_golden.json:
  * "settings": the common settings below; "versions": the peers' versions;
  * "semantics": per implementation, the fill rules (read in the peer's source and checked against
    its fills), and what was used where a peer cannot express a rule exactly;
  * "semantics_observed": per implementation, the rules as read off its fills against the bars
    (market fills at the signal bar's close or the next bar's open; limit and stop fills on a bar
    that opened through the level: at the open or at the level; commission rounding), and
    "intrabar_probe": a 3-bar series with a buy limit and a buy stop that both fill on one bar,
    showing which extreme each peer visits first (NautilusTrader with and without
    bar_adaptive_high_low_ordering, also on a bar whose extremes are equally far from the open);
  * "results": per implementation and strategy: "fills" (in order: date of the bar the fill
    happened on, side, order type, quantity, price, commission), "final_cash", "final_position",
    "last_close", "final_equity" (cash + position x last close) and "signals" (the dates of the
    crosses up and down the implementation saw). Implementations: "reference" (the plain loop with
    the rules below), "reference_at_close" (the same loop with NautilusTrader's rules as observed),
    "backtrader", "nautilus";
  * "agreement": backtrader vs reference, nautilus vs reference and nautilus vs
    reference_at_close, per strategy: whether the fills are identical (same dates, sides and
    quantities, prices to 1e-9, commissions to 1e-6; nautilus vs reference: commissions to half a
    cent, as NautilusTrader rounds them), the fill counts, both final equities to the cent, and the
    first differing fill.

Common settings: initial cash 100,000 USD; commission 0.1% of the traded value per fill, no
minimum; no slippage; whole shares; long only; SMA(10) and SMA(30) of the close.
Signals at bar t's close (t >= 30): cross up: SMA10[t] > SMA30[t] and SMA10[t-1] <= SMA30[t-1];
cross down: SMA10[t] < SMA30[t] and SMA10[t-1] >= SMA30[t-1].
  * market_sma: cross up while flat (and no entry pending): market buy floor(0.95 x cash /
    close[t]) shares; cross down while long: market sell the whole position.
  * limit_entry: the same, but the entry is a buy limit at floor(close[t] x 0.99, to the cent)
    that lives for one bar: it may fill on the next bar and is cancelled after it otherwise.
    Exits are market sells.
  * stop_exit: entries as market_sma; once the entry has filled, a GTC stop-market sell of the
    whole position at round(entry fill price x 0.95, to the cent, half up); on a cross down while
    long: cancel the stop and market sell.
Each peer runs with its own default for *when* orders fill (backtrader: decided at bar t's close,
filled on bar t+1; NautilusTrader with bars: market orders at once at bar t's close; see
"semantics"). The reference loop: orders decided at bar t's close fill on bar t+1: market at the
open; buy limit L at the open if open <= L, else at L if low <= L; sell stop S at the open if
open <= S, else at S if low <= S; commission = 0.001 x value, not rounded. The stop of stop_exit is
sent at the close of the bar its entry filled on (it can trigger from the bar after).

Findings (backtrader 1.9.78.123, NautilusTrader 1.221.0): every implementation sees the same 26
crosses up and 26 down (AAPL has no exact SMA10 == SMA30 tie: the smallest |3 x sum10 - sum30| is
0.025, far above float noise). backtrader's fills equal the reference's on all three strategies.
NautilusTrader's differ from the reference (market orders at the signal bar's close; limits and
stops at their level even through a gapped open; commissions and cash in whole cents) and equal
reference_at_close's on all three, final equity to the cent.
"""
import argparse
import csv
import json
import math
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "src" / "qraft" / "engines" / "precise" / "testdata"
DEFAULT_DATA = TESTDATA / "aapl_daily.csv"
DEFAULT_OUT = TESTDATA / "peers_golden.json"

STRATEGIES = ["market_sma", "limit_entry", "stop_exit"]
INITIAL_CASH = 100_000.0
COMMISSION = 0.001
FAST, SLOW = 10, 30
SIZE_FRACTION = 0.95
LIMIT_FACTOR = Decimal("0.99")
STOP_FACTOR = Decimal("0.95")
CENT = Decimal("0.01")


def load_bars(path):
    """The CSV as a list of dicts; prices kept as the file's decimal strings (and as floats)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("open", "high", "low", "close"):
            r[k + "_s"] = r[k]
            r[k] = float(r[k])
        r["volume"] = int(r["volume"])
    return rows


def limit_price(close):
    """floor(close x 0.99) to the cent, computed on the decimal value of the close."""
    return float((Decimal(repr(close)) * LIMIT_FACTOR).quantize(CENT, rounding=ROUND_FLOOR))


def stop_price(fill_price):
    """round(fill price x 0.95) to the cent, half up, on the decimal value of the fill price."""
    return float((Decimal(repr(fill_price)) * STOP_FACTOR).quantize(CENT, rounding=ROUND_HALF_UP))


def entry_size(cash, close):
    return int(math.floor(SIZE_FRACTION * cash / close))


def cross(f_now, s_now, f_prev, s_prev):
    """+1 cross up, -1 cross down, 0 otherwise (None inputs: 0)."""
    if None in (f_now, s_now, f_prev, s_prev) or any(map(math.isnan, (f_now, s_now, f_prev, s_prev))):
        return 0
    if f_now > s_now and f_prev <= s_prev:
        return 1
    if f_now < s_now and f_prev >= s_prev:
        return -1
    return 0


def fill_record(date, side, otype, qty, price, comm):
    return {"date": date, "side": side, "type": otype, "quantity": int(qty), "price": price,
            "commission": comm}


def summary(fills, cash, position, last_close, signals):
    return {"fills": fills, "final_cash": cash, "final_position": position, "last_close": last_close,
            "final_equity": cash + position * last_close, "signals": signals}


# ---- the reference loop ----------------------------------------------------------------------

def sma(close, n):
    return [None if t < n - 1 else math.fsum(close[t - n + 1:t + 1]) / n for t in range(len(close))]


def cent_half_up(x):
    """NautilusTrader's Money(x, USD) as observed: half away from zero on x's shortest decimal."""
    return float(Decimal(repr(x)).quantize(CENT, rounding=ROUND_HALF_UP))


# The reference's two rule sets. "next_open" is the brief's reference (and backtrader's rules);
# "at_close" is the same loop with NautilusTrader's rules as observed (see SEMANTICS).
RULES = {
    "next_open": {"market_at_close": False, "gap_at_open": True, "round_cents": False},
    "at_close": {"market_at_close": True, "gap_at_open": False, "round_cents": True},
}


def run_reference(bars, strategy, rules="next_open"):
    """The plain loop. next_open: orders decided at bar t's close meet bar t+1: market at the open;
    buy limit L at the open if open <= L, else at L if low <= L; sell stop S at the open if
    open <= S, else at S if low <= S; commission 0.001 x value. at_close: market orders fill at
    once at bar t's close; from bar t+1 a buy limit fills at L if low <= L and a sell stop at S if
    low <= S (never at a gapped open); the commission and the cash moved by each fill (quantity x
    price) rounded to the cent, half up."""
    rule = RULES[rules]
    close = [b["close"] for b in bars]
    fast, slow = sma(close, FAST), sma(close, SLOW)
    cash, pos = INITIAL_CASH, 0
    fills, signals = [], {"up": [], "down": []}
    orders = []  # dicts: side, type (market | limit | stop), qty, price, expires (bar index or None)

    def fill(o, b, px):
        nonlocal cash, pos
        if rule["round_cents"]:
            # NautilusTrader: notional = Money(quantity x price) (exact fixed-point product, to the
            # cent), commission = Money(notional x 0.001); the account moves these whole cents.
            value = float((o["qty"] * Decimal(repr(px))).quantize(CENT, rounding=ROUND_HALF_UP))
            comm = cent_half_up(COMMISSION * value)
        else:
            value = o["qty"] * px
            comm = COMMISSION * value
        if o["side"] == "buy":
            cash -= value + comm
            pos += o["qty"]
        else:
            cash += value - comm
            pos -= o["qty"]
        fills.append(fill_record(b["date"], o["side"], o["type"], o["qty"], px, comm))

    def send(o, b):
        if o["type"] == "market" and rule["market_at_close"]:
            fill(o, b, b["close"])
        else:
            orders.append(o)

    for t, b in enumerate(bars):
        # 1. orders resting from earlier closes meet bar t.
        still = []
        for o in orders:
            px = None
            if o["type"] == "market":
                px = b["open"]
            elif o["type"] in ("limit", "stop"):  # buy limits and sell stops only: both fill downwards
                if rule["gap_at_open"] and b["open"] <= o["price"]:
                    px = b["open"]
                elif b["low"] <= o["price"]:
                    px = o["price"]
            if px is None:
                if o["expires"] is None or o["expires"] > t:
                    still.append(o)
                continue
            fill(o, b, px)
        orders = still
        # 2. decisions at bar t's close.
        sig = cross(fast[t], slow[t], fast[t - 1] if t else None, slow[t - 1] if t else None)
        if sig > 0:
            signals["up"].append(b["date"])
        elif sig < 0:
            signals["down"].append(b["date"])
        entry_pending = any(o["side"] == "buy" for o in orders)
        if sig > 0 and pos == 0 and not entry_pending:
            q = entry_size(cash, b["close"])
            if q > 0:
                if strategy == "limit_entry":
                    send({"side": "buy", "type": "limit", "qty": q, "price": limit_price(b["close"]),
                          "expires": t + 1}, b)
                else:
                    send({"side": "buy", "type": "market", "qty": q, "price": None, "expires": None}, b)
        elif sig < 0 and pos > 0:
            orders = [o for o in orders if o["type"] != "stop"]
            send({"side": "sell", "type": "market", "qty": pos, "price": None, "expires": None}, b)
        # 3. stop_exit: the stop goes out at the close of the bar its entry filled on (no other
        #    order pending: not when the same close sent the exit).
        if strategy == "stop_exit" and pos > 0 and not orders and fills[-1]["side"] == "buy" \
                and fills[-1]["date"] == b["date"]:
            orders.append({"side": "sell", "type": "stop", "qty": pos,
                           "price": stop_price(fills[-1]["price"]), "expires": None})
    return summary(fills, cash, pos, bars[-1]["close"], signals)


# ---- backtrader ------------------------------------------------------------------------------

def backtrader_feed(columns):
    """A backtrader data feed over columns in memory: "dt" (backtrader date numbers), "open",
    "high", "low", "close", "volume" (lists of the same length). No parsing by backtrader: the
    same floats as the reference."""
    import backtrader as bt

    dts, o, h, lo, c, v = (columns[k] for k in ("dt", "open", "high", "low", "close", "volume"))
    n = len(dts)

    class Feed(bt.feeds.DataBase):
        def start(self):
            super().start()
            self._i = 0

        def _load(self):
            i = self._i
            if i >= n:
                return False
            self._i = i + 1
            ls = self.lines
            ls.datetime[0] = dts[i]
            ls.open[0], ls.high[0], ls.low[0], ls.close[0] = o[i], h[i], lo[i], c[i]
            ls.volume[0] = v[i]
            ls.openinterest[0] = 0
            return True

    return Feed()


def backtrader_columns(bars):
    import datetime as dt

    import backtrader as bt

    cols = {k: [b[k] for b in bars] for k in ("open", "high", "low", "close", "volume")}
    cols["dt"] = [bt.date2num(dt.datetime.strptime(b["date"], "%Y-%m-%d")) for b in bars]
    return cols


def run_backtrader(bars, strategy):
    cerebro, _ = backtrader_cerebro(backtrader_columns(bars), strategy)
    s = cerebro.run()[0]
    pos = s.position.size
    out = summary(s.fills, cerebro.broker.getcash(), pos, bars[-1]["close"], s.signals)
    out["order_events"] = [list(e) for e in s.events if e[2] != "Canceled" or e[1] != "limit"]
    return out


def backtrader_cerebro(columns, strategy, commission=COMMISSION):
    """A Cerebro with the feed, the strategy, 100,000 cash and the commission (not run)."""
    import backtrader as bt

    def is_(o, mine):
        return mine is not None and o.ref == mine.ref

    class Strat(bt.Strategy):
        def __init__(self):
            self.fast = bt.indicators.SMA(self.data.close, period=FAST)
            self.slow = bt.indicators.SMA(self.data.close, period=SLOW)
            self.entry = self.stop_o = self.exit = self.stop_wanted = None
            self.fills, self.signals = [], {"up": [], "down": []}
            self.events = []

        def notify_order(self, o):  # o is a clone of the order sent: compare refs
            kind = {bt.Order.Market: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop"}[o.exectype]
            if o.status == o.Completed:
                for bit in o.executed.exbits:  # one a fill (o.executed.price is an average)
                    date = bt.num2date(bit.dt).date().isoformat()
                    self.fills.append(fill_record(date, "buy" if o.isbuy() else "sell", kind,
                                                  abs(bit.size), bit.price, bit.comm))
                if is_(o, self.entry):
                    self.entry = None
                    if strategy == "stop_exit":  # sent from next() of this bar (see SEMANTICS)
                        self.stop_wanted = (o.executed.size, stop_price(o.executed.exbits[-1].price))
                elif is_(o, self.stop_o):
                    self.stop_o = None
                elif is_(o, self.exit):
                    self.exit = None
            elif o.status in (o.Canceled, o.Expired, o.Margin, o.Rejected):
                self.events.append((bt.num2date(self.data.datetime[0]).date().isoformat(), kind,
                                    o.getstatusname()))
                if is_(o, self.entry):
                    self.entry = None
                elif is_(o, self.stop_o):
                    self.stop_o = None
                elif is_(o, self.exit):
                    self.exit = None

        def next(self):
            if len(self) < SLOW + 1:
                return
            # A limit entry lives for one bar: still alive after the bar after it was sent.
            if self.entry is not None and self.entry.exectype == bt.Order.Limit and self.entry.alive():
                self.cancel(self.entry)
            sig = cross(self.fast[0], self.slow[0], self.fast[-1], self.slow[-1])
            if sig:
                date = bt.num2date(self.data.datetime[0]).date().isoformat()
                self.signals["up" if sig > 0 else "down"].append(date)
            pos = self.position.size
            if sig > 0 and pos == 0 and self.entry is None:
                q = entry_size(self.broker.getcash(), self.data.close[0])
                if q > 0:
                    if strategy == "limit_entry":
                        self.entry = self.buy(exectype=bt.Order.Limit, size=q,
                                              price=limit_price(self.data.close[0]))
                    else:
                        self.entry = self.buy(size=q)
            elif sig < 0 and pos > 0 and self.exit is None:
                self.stop_wanted = None
                if self.stop_o is not None:
                    self.cancel(self.stop_o)
                self.exit = self.sell(size=pos)
            if self.stop_wanted is not None:
                size, price = self.stop_wanted
                self.stop_wanted = None
                self.stop_o = self.sell(exectype=bt.Order.Stop, size=size, price=price)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(backtrader_feed(columns))
    cerebro.addstrategy(Strat)
    cerebro.broker.setcash(INITIAL_CASH)
    cerebro.broker.setcommission(commission=commission)  # CommissionInfo: percabs, stock-like
    return cerebro, Strat


# ---- NautilusTrader --------------------------------------------------------------------------

def nautilus_instrument(symbol="AAPL", venue="XNAS", price_precision=4, fee=COMMISSION):
    """An equity in USD, 1-share increments, taker and maker fee 0.1%. The AAPL prices have 4
    decimals before 2014, so the price precision is 4 (0.0001 ticks) rather than the 2 of
    TestInstrumentProvider.equity (whose lot size is also 100). Maker and taker fee = `fee`."""
    from decimal import Decimal as D

    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import Equity
    from nautilus_trader.model.objects import Price, Quantity

    return Equity(
        instrument_id=InstrumentId(symbol=Symbol(symbol), venue=Venue(venue)),
        raw_symbol=Symbol(symbol), currency=USD, price_precision=price_precision,
        price_increment=Price(10.0 ** -price_precision, price_precision),
        lot_size=Quantity.from_int(1), maker_fee=D(repr(fee)), taker_fee=D(repr(fee)),
        ts_event=0, ts_init=0)


def nautilus_bars(instrument, rows, price_precision, ts_of):
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.objects import Price, Quantity

    bar_type = BarType.from_str(f"{instrument.id}-1-DAY-LAST-EXTERNAL")
    fmt = f"{{:.{price_precision}f}}"
    out = [Bar(bar_type, Price.from_str(fmt.format(r["open"])), Price.from_str(fmt.format(r["high"])),
               Price.from_str(fmt.format(r["low"])), Price.from_str(fmt.format(r["close"])),
               Quantity.from_int(int(r["volume"])), ts_of(r), ts_of(r)) for r in rows]
    return bar_type, out


def make_nautilus_strategy(strategy, instrument_id, bar_type, record=True):
    """The three strategies as a NautilusTrader Strategy (a subclass made here so that the module
    imports without nautilus_trader)."""
    import pandas as pd
    from nautilus_trader.indicators.averages import SimpleMovingAverage
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.enums import OrderSide, OrderType, TimeInForce
    from nautilus_trader.model.objects import Quantity
    from nautilus_trader.trading.strategy import Strategy

    def same(a, b):  # ClientOrderId.__eq__ refuses None
        return a is not None and b is not None and a == b

    kinds = {OrderType.MARKET: "market", OrderType.LIMIT: "limit", OrderType.STOP_MARKET: "stop"}

    class Strat(Strategy):
        def __init__(self):
            super().__init__()
            self.fast = SimpleMovingAverage(FAST)
            self.slow = SimpleMovingAverage(SLOW)
            self.prev = None  # (fast, slow) of the previous bar
            self.n = 0
            self.entry = self.stop_o = self.exit = None  # client order ids
            self.entry_bar = None
            self.fills, self.signals, self.events = [], {"up": [], "down": []}, []
            self.n_fills = 0

        def on_start(self):
            self.instrument = self.cache.instrument(instrument_id)
            self.register_indicator_for_bars(bar_type, self.fast)
            self.register_indicator_for_bars(bar_type, self.slow)
            self.subscribe_bars(bar_type)

        def position_size(self):
            return int(self.portfolio.net_position(instrument_id))

        def on_bar(self, bar):
            self.n += 1
            prev, now = self.prev, (self.fast.value, self.slow.value)
            self.prev = now
            if self.n < SLOW + 1:
                return
            # A limit entry lives for one bar: cancel it after the bar after it was sent.
            if self.entry is not None:
                o = self.cache.order(self.entry)
                if o.order_type == OrderType.LIMIT and o.is_open and self.n > self.entry_bar:
                    self.cancel_order(o)
            sig = cross(now[0], now[1], prev[0], prev[1])
            if sig and record:
                date = pd.Timestamp(bar.ts_event, unit="ns").date().isoformat()
                self.signals["up" if sig > 0 else "down"].append(date)
            pos = self.position_size()
            if sig > 0 and pos == 0 and self.entry is None:
                cash = self.portfolio.account(instrument_id.venue).balance_total(USD).as_double()
                q = entry_size(cash, bar.close.as_double())
                if q > 0:
                    if strategy == "limit_entry":
                        o = self.order_factory.limit(
                            instrument_id, OrderSide.BUY, Quantity.from_int(q),
                            self.instrument.make_price(limit_price(bar.close.as_double())),
                            time_in_force=TimeInForce.GTC)
                    else:
                        o = self.order_factory.market(instrument_id, OrderSide.BUY, Quantity.from_int(q))
                    self.entry, self.entry_bar = o.client_order_id, self.n
                    self.submit_order(o)
            elif sig < 0 and pos > 0 and self.exit is None:
                if self.stop_o is not None:
                    self.cancel_order(self.cache.order(self.stop_o))
                o = self.order_factory.market(instrument_id, OrderSide.SELL, Quantity.from_int(pos),
                                              reduce_only=True)
                self.exit = o.client_order_id
                self.submit_order(o)

        def on_order_filled(self, e):
            o = self.cache.order(e.client_order_id)
            self.n_fills += 1
            if record:
                date = pd.Timestamp(e.ts_event, unit="ns").date().isoformat()
                self.fills.append(fill_record(date, "buy" if e.order_side == OrderSide.BUY else "sell",
                                              kinds[o.order_type], e.last_qty.as_double(),
                                              e.last_px.as_double(), e.commission.as_double()))
            if not o.is_closed:
                return
            if same(e.client_order_id, self.entry):
                self.entry = None
                if strategy == "stop_exit":
                    s = self.order_factory.stop_market(
                        instrument_id, OrderSide.SELL, o.filled_qty,
                        self.instrument.make_price(stop_price(o.avg_px)), time_in_force=TimeInForce.GTC,
                        reduce_only=True)
                    self.stop_o = s.client_order_id
                    self.submit_order(s)
            elif same(e.client_order_id, self.stop_o):
                self.stop_o = None
            elif same(e.client_order_id, self.exit):
                self.exit = None

        def _done(self, e, what):
            if record:
                o = self.cache.order(e.client_order_id)
                self.events.append([pd.Timestamp(e.ts_event, unit="ns").date().isoformat(),
                                    kinds.get(o.order_type, "?"), what, getattr(e, "reason", "")])
            for k in ("entry", "stop_o", "exit"):
                if same(getattr(self, k), e.client_order_id):
                    setattr(self, k, None)

        def on_order_canceled(self, e):
            self._done(e, "canceled")

        def on_order_rejected(self, e):
            self._done(e, "rejected")

        def on_order_denied(self, e):
            self._done(e, "denied")

        def on_order_expired(self, e):
            self._done(e, "expired")

    return Strat()


def nautilus_engine(instrument, bar_type, bars, adaptive=False):
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import FillModel
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.model.objects import Money

    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("GOLDEN-001"),
                                                 logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(venue=instrument.id.venue, oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                     base_currency=USD, starting_balances=[Money(INITIAL_CASH, USD)],
                     fill_model=FillModel(prob_fill_on_limit=1.0, prob_slippage=0.0, random_seed=1),
                     bar_execution=True, bar_adaptive_high_low_ordering=adaptive)
    engine.add_instrument(instrument)
    engine.add_data(bars)
    return engine


def run_nautilus(rows, strategy, adaptive=False):
    import pandas as pd
    from nautilus_trader.model.currencies import USD

    inst = nautilus_instrument()
    bar_type, bars = nautilus_bars(inst, rows, 4, lambda r: pd.Timestamp(r["date"], tz="UTC").value)
    engine = nautilus_engine(inst, bar_type, bars, adaptive)
    s = make_nautilus_strategy(strategy, inst.id, bar_type)
    engine.add_strategy(s)
    engine.run()
    account = engine.portfolio.account(inst.id.venue)
    cash = account.balance_total(USD).as_double()
    pos = s.position_size()
    out = summary(s.fills, cash, pos, rows[-1]["close"], s.signals)
    out["order_events"] = [e for e in s.events if e[1:3] != ["limit", "canceled"]]
    engine.dispose()
    return out


# ---- probe: the order of the high and the low inside a bar ---------------------------------

PROBE_BARS = [  # bar 1's low is nearer its open than its high (1.5 vs 3.0)
    {"date": "2020-01-02", "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1000000},
    {"date": "2020-01-03", "open": 100.0, "high": 103.0, "low": 98.5, "close": 100.0, "volume": 1000000},
    {"date": "2020-01-06", "open": 100.0, "high": 100.5, "low": 99.5, "close": 100.0, "volume": 1000000},
]


def nautilus_probe(probe_bars, adaptive):
    import pandas as pd
    from nautilus_trader.model.enums import OrderSide, OrderType
    from nautilus_trader.model.objects import Quantity
    from nautilus_trader.trading.strategy import Strategy

    inst = nautilus_instrument()
    bar_type, bars = nautilus_bars(inst, probe_bars, 4, lambda r: pd.Timestamp(r["date"], tz="UTC").value)
    engine = nautilus_engine(inst, bar_type, bars, adaptive)

    class NtProbe(Strategy):
        def __init__(self):
            super().__init__()
            self.seq, self.n = [], 0

        def on_start(self):
            self.subscribe_bars(bar_type)

        def on_bar(self, bar):
            self.n += 1
            if self.n == 1:
                one = Quantity.from_int(1)
                self.submit_order(self.order_factory.limit(inst.id, OrderSide.BUY, one, inst.make_price(99.0)))
                self.submit_order(self.order_factory.stop_market(inst.id, OrderSide.BUY, one,
                                                                 inst.make_price(102.0)))

        def on_order_filled(self, e):
            kind = "limit" if self.cache.order(e.client_order_id).order_type == OrderType.LIMIT else "stop"
            self.seq.append(f"{kind}@{e.last_px.as_double():g}")

    st = NtProbe()
    engine.add_strategy(st)
    engine.run()
    engine.dispose()
    return st.seq


def probe_intrabar():
    """At bar 0's close: a buy limit at 99 (reached by bar 1's low) sent first, then a buy stop
    at 102 (reached by bar 1's high). The order of the two fills shows which extreme of bar 1 each
    peer visits first. One share each. NautilusTrader also on a bar 1 whose extremes are equally
    far from the open (high 102, low 98), with and without bar_adaptive_high_low_ordering."""
    import datetime as dt

    import backtrader as bt

    out = {"bars": PROBE_BARS, "orders": "at bar 0's close: buy limit 99 (sent first), buy stop 102"}

    class Feed(bt.feeds.DataBase):
        def start(self):
            super().start()
            self._i = 0

        def _load(self):
            if self._i >= len(PROBE_BARS):
                return False
            b = PROBE_BARS[self._i]
            self._i += 1
            self.lines.datetime[0] = bt.date2num(dt.datetime.strptime(b["date"], "%Y-%m-%d"))
            for k in ("open", "high", "low", "close", "volume"):
                getattr(self.lines, k)[0] = b[k]
            return True

    class BtProbe(bt.Strategy):
        def __init__(self):
            self.seq = []

        def notify_order(self, o):
            if o.status == o.Completed:
                kind = "limit" if o.exectype == bt.Order.Limit else "stop"
                self.seq.append(f"{kind}@{o.executed.exbits[-1].price:g}")

        def next(self):
            if len(self) == 1:
                self.buy(exectype=bt.Order.Limit, price=99.0, size=1)
                self.buy(exectype=bt.Order.Stop, price=102.0, size=1)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(Feed())
    cerebro.addstrategy(BtProbe)
    cerebro.broker.setcash(INITIAL_CASH)
    out["backtrader_fill_sequence"] = cerebro.run()[0].seq

    tie = [dict(b) for b in PROBE_BARS]
    tie[1].update(high=102.0, low=98.0)  # |high - open| == |low - open|
    for shape, probe_bars in (("low_nearer", PROBE_BARS), ("tie", tie)):
        for adaptive in (False, True):
            out[f"nautilus_{shape}_adaptive_{str(adaptive).lower()}"] = nautilus_probe(probe_bars, adaptive)
    return out


# ---- comparison ------------------------------------------------------------------------------

def compare(ref, got, comm_tol):
    a, b = ref["fills"], got["fills"]
    first = None
    for i, (x, y) in enumerate(zip(a, b)):
        same = (x["date"], x["side"], x["quantity"]) == (y["date"], y["side"], y["quantity"]) \
            and abs(x["price"] - y["price"]) <= 1e-9 and abs(x["commission"] - y["commission"]) <= comm_tol
        if not same:
            first = {"index": i, "reference": x, "peer": y}
            break
    if first is None and len(a) != len(b):
        i = min(len(a), len(b))
        first = {"index": i, "reference": a[i] if i < len(a) else None, "peer": b[i] if i < len(b) else None}
    return {"identical_fills": first is None, "fills_reference": len(a), "fills_peer": len(b),
            "same_signals": ref["signals"] == got["signals"],
            "final_equity_reference": round(ref["final_equity"], 2),
            "final_equity_peer": round(got["final_equity"], 2),
            "first_difference": first}


SEMANTICS = {
    "reference": {
        "decision": "at bar t's close, after bar t's fills; SMA = math.fsum of the window / n",
        "market": "bar t+1's open",
        "limit_buy": "bar t+1 only: at the open if open <= L, else at L if low <= L; else cancelled",
        "stop_sell": "from the bar after the entry's fill bar: at the open if open <= S (a gap), "
                     "else at S if low <= S",
        "intrabar_order": "not needed: each strategy has at most one resting order on a bar",
        "commission": "0.001 x quantity x price, not rounded; cash not rounded",
        "sizing": "floor(0.95 x cash / close[t]) with the cash at bar t's close",
    },
    "reference_at_close": {
        "what": "the reference loop with NautilusTrader's rules as observed, to check that the "
                "differences between NautilusTrader and the reference are only these rules",
        "market": "at once at bar t's close (the decision bar)",
        "limit_buy": "bar t+1 only: at L if low <= L (also when the open is below L)",
        "stop_sell": "from the bar after the entry's fill bar: at S if low <= S (also when the open "
                     "is below S)",
        "commission": "value = quantity x price rounded to the cent (half up, exact decimal "
                      "product); commission = 0.001 x rounded value, rounded to the cent (half up); "
                      "cash moves by these whole cents",
    },
    "backtrader": {
        "decision": "Strategy.next() at bar t's close, after the broker has processed bar t; SMA = "
                    "bt.indicators.SMA (math.fsum of the window / n); data fed from memory (the "
                    "same floats as the reference)",
        "market": "bar t+1's open (BackBroker defaults: coc = coo = False, no slippage)",
        "limit_buy": "BackBroker._try_exec_limit: at the open if open <= L (the gap), else at L if "
                     "low <= L; first tried on the bar after the one it was sent on",
        "stop_sell": "BackBroker._try_exec_stop: at the open if open <= S (the gap), else at S if "
                     "low <= S; first tried on the bar after the one it was sent on",
        "intrabar_order": "none: each order is checked against the open, then against the bar's "
                          "whole high-low range; several orders on one bar fill in the order they "
                          "were sent (intrabar_probe: a limit sent before a stop fills first even "
                          "though the bar's high came first for NautilusTrader's default)",
        "commission": "setcommission(commission=0.001) makes a CommissionInfo (percabs=True, "
                      "stock-like): 0.001 x |size| x price per fill, not rounded; cash not rounded",
        "fill_record": "per execution bit (order.executed.exbits[i].price); order.executed.price is "
                       "a running average that can differ from the fill price in the last bits",
        "valid_for_one_bar": "no 'next bar only' validity for daily bars (valid=Order.DAY means the "
                             "session of the bar sent): the strategy cancels the limit in next() of "
                             "the bar after it was sent, when the broker has already tried it on "
                             "that bar: exact",
        "stop_exit": "the stop is sent from next() of the entry's fill bar, not from notify_order: "
                     "BackBroker.cancel() only cancels orders already accepted (broker.pending); an "
                     "order sent from notify_order during bar t+1 is still in broker.submitted "
                     "when next() of bar t+1 runs, so cancelling it there on a cross down is a "
                     "silent no-op and the stop later sells short. Both ways the stop is first "
                     "tried on the bar after the entry's fill bar",
        "cash_check": "orders are checked for cash at submission (checksubmit) and at execution; "
                      "0.95 x cash leaves room, no order was refused on this data",
    },
    "nautilus": {
        "venue": "BacktestEngine, add_venue(oms_type=NETTING, account_type=CASH, base_currency=USD, "
                 "bar_execution=True, bar_adaptive_high_low_ordering=False (the default), "
                 "FillModel(prob_fill_on_limit=1, prob_slippage=0), default MakerTakerFeeModel, no "
                 "latency model); Equity AAPL.XNAS built by hand: USD, price precision 4 (the data "
                 "has 4-decimal prices before 2014, and bars must carry the instrument's precision), "
                 "size increment 1, lot size 1, maker = taker fee 0.001; 1-DAY-LAST-EXTERNAL bars, "
                 "ts_event = ts_init = the date at 00:00 UTC",
        "decision": "on_bar(bar t) runs after the matching engine has replayed bar t as trade ticks "
                    "(BacktestEngine._run: exchange.process_bar, then the data engine, then the "
                    "exchange's queued commands); SMA = nautilus SimpleMovingAverage",
        "market": "at once at bar t's close (the last trade price; the order is processed in the "
                  "same loop step as the bar), fill timestamp = bar t's",
        "limit_buy": "rests from bar t's close; each trade tick sets bid = ask = its price; a buy "
                     "limit fills when a tick <= L, always at L as a maker, also when bar t+1 opens "
                     "below L (determine_limit_price_and_volume moves a better price up to L)",
        "stop_sell": "triggers when a tick <= S and fills at S (the trigger price) as a taker, also "
                     "when the bar opens below S (determine_market_price_and_volume uses "
                     "trigger_price for L1 books): no gap fill at the open",
        "intrabar_order": "bar replayed as open -> high -> low -> close with the default "
                          "bar_adaptive_high_low_ordering=False; with True: high first iff "
                          "|high - open| < |low - open|, so a tie goes to the LOW (intrabar_probe); "
                          "a tick that does not move the price is skipped; each tick carries "
                          "volume / 4",
        "commission": "notional = Money(quantity x price) (fixed-point, to the cent); commission = "
                      "Money(notional x fee as a float): rounded to the cent, half away from zero "
                      "(0.005 -> 0.01, 2.675 -> 2.68); the USD balance moves by these whole cents",
        "valid_for_one_bar": "no bar-count validity: the strategy cancels the limit in on_bar of the "
                             "bar after it was sent (the matching engine has tried it on that bar): "
                             "exact; a GTD expiry between the two bars would be equivalent",
        "stop_exit": "the stop is sent from on_order_filled of the entry (bar t's close) and first "
                     "tried on bar t+1; it is reduce_only (the risk engine of a CASH account with a "
                     "base currency denies a plain SELL whose notional exceeds the free balance: "
                     "CUM_NOTIONAL_EXCEEDS_FREE_BALANCE); market exits are reduce_only too",
        "sizing": "floor(0.95 x balance_total(USD) / close[t])",
        "order_size_vs_volume": "each trade tick offers volume / 4; a market or stop order larger "
                                "than that fills that much at the price and the rest one tick worse "
                                "(apply_fills, 'exhausted book volume'); a resting limit fills whole "
                                "at its price. Not reached here (AAPL trades millions of shares a day)",
    },
}


def observe(rows, per_strategy):
    """The fill rules read off one implementation's fills against the bars (all three strategies):
    where market orders filled relative to the signal bar, whether limit and stop fills on a bar
    that opened through the level were at the open or at the level, and the commission's rounding."""
    idx = {r["date"]: i for i, r in enumerate(rows)}
    market = {"same_bar_close": 0, "next_bar_open": 0, "other": 0}
    levels = {k: {"fills": 0, "gapped_open": 0, "examples_gap": []} for k in ("limit", "stop")}
    comm_err, whole_cents = 0.0, True
    last_buy = {}
    for s, r in per_strategy.items():
        sig_dates = set(r["signals"]["up"]) | set(r["signals"]["down"])
        for f in r["fills"]:
            if f["side"] == "buy":
                last_buy[s] = f["price"]
            i = idx[f["date"]]
            b = rows[i]
            comm_err = max(comm_err, abs(f["commission"] - COMMISSION * f["quantity"] * f["price"]))
            whole_cents &= abs(f["commission"] * 100 - round(f["commission"] * 100)) < 1e-6
            if f["type"] == "market":
                if f["date"] in sig_dates and f["price"] == b["close"]:
                    market["same_bar_close"] += 1
                elif i > 0 and rows[i - 1]["date"] in sig_dates and f["price"] == b["open"]:
                    market["next_bar_open"] += 1
                else:
                    market["other"] += 1
                continue
            lv = levels[f["type"]]
            lv["fills"] += 1
            # the order's level: a limit was sent at the previous bar's close; a stop from the
            # strategy's last entry fill.
            if f["type"] == "limit":
                level = limit_price(rows[i - 1]["close"])
            else:
                level = stop_price(last_buy[s])
            if b["open"] <= level:
                lv["gapped_open"] += 1
                key = "gap_filled_at_open" if f["price"] == b["open"] else \
                    "gap_filled_at_level" if f["price"] == level else "gap_filled_elsewhere"
                lv[key] = lv.get(key, 0) + 1
                if len(lv["examples_gap"]) < 3:
                    lv["examples_gap"].append({"strategy": s, "date": f["date"], "level": level,
                                               "fill": f["price"], "open": b["open"], "low": b["low"]})
            elif f["price"] != level:
                lv["not_gapped_filled_off_level"] = lv.get("not_gapped_filled_off_level", 0) + 1
    return {"market": market, "limit": levels["limit"], "stop": levels["stop"],
            "max_abs_commission_minus_0.001_value": comm_err, "commissions_whole_cents": whole_cents}


def dumps(x, ind=0):
    """JSON with one fill (any short object, any list of scalars) a line."""
    flat = json.dumps(x)
    if not isinstance(x, (dict, list)):
        return flat
    values = x.values() if isinstance(x, dict) else x
    scalars = not any(isinstance(v, (dict, list)) for v in values)
    if len(flat) <= 100 or (scalars and (isinstance(x, list) or len(flat) <= 160)):
        return flat
    pad = " " * (ind + 1)
    if isinstance(x, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, ind + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * ind + "}"
    return "[\n" + ",\n".join(pad + dumps(v, ind + 1) for v in x) + "\n" + " " * ind + "]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args()

    import backtrader as bt
    import nautilus_trader

    rows = load_bars(args.data)
    impls = {"reference": lambda s: run_reference(rows, s, "next_open"),
             "reference_at_close": lambda s: run_reference(rows, s, "at_close"),
             "backtrader": lambda s: run_backtrader(rows, s),
             "nautilus": lambda s: run_nautilus(rows, s)}
    results = {name: {s: fn(s) for s in STRATEGIES} for name, fn in impls.items()}
    # (peer, reference, commission tolerance): NautilusTrader rounds commissions to the cent.
    pairs = [("backtrader", "reference", 1e-6), ("nautilus", "reference", 0.005),
             ("nautilus", "reference_at_close", 1e-9)]
    agreement = {f"{peer}_vs_{ref}": {s: compare(results[ref][s], results[peer][s], tol) for s in STRATEGIES}
                 for peer, ref, tol in pairs}
    doc = {
        "generator": "scripts/peers/precise_golden.py",
        "data": {"file": "src/qraft/engines/precise/testdata/aapl_daily.csv", "symbol": "AAPL", "bars": len(rows),
                 "first": rows[0]["date"], "last": rows[-1]["date"]},
        "versions": {"backtrader": bt.__version__, "nautilus_trader": nautilus_trader.__version__},
        "settings": {"initial_cash": INITIAL_CASH, "commission": COMMISSION, "fast": FAST, "slow": SLOW,
                     "size_fraction": SIZE_FRACTION, "limit_factor": float(LIMIT_FACTOR),
                     "stop_factor": float(STOP_FACTOR)},
        "semantics": SEMANTICS,
        "semantics_observed": {**{name: observe(rows, results[name]) for name in impls},
                               "intrabar_probe": probe_intrabar()},
        "results": results,
        "agreement": agreement,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        f.write(dumps(doc) + "\n")
    for pair, per in agreement.items():
        for s, a in per.items():
            print(f"{pair:30s} {s:12s} identical={a['identical_fills']} fills {a['fills_peer']} "
                  f"(reference {a['fills_reference']}) equity {a['final_equity_peer']:.2f} "
                  f"(reference {a['final_equity_reference']:.2f})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
