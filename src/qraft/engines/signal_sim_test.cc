// Tests of the per-symbol signal simulator (signal_sim.h):
//  * golden values, written by scripts/peers/vectorbt_golden.py with vectorbt's
//    Portfolio.from_signals:
//    - base set (testdata/vectorbt_golden.json, vectorbt_close.csv; long-only, sl_stop): final
//      value, cash, position, total fees, closed-trade pnl and the sum of the equity curve within
//      1e-9 relative; order, trade and closed-trade counts exactly;
//    - extended set (vectorbt_golden_ext.json, vectorbt_close_ext.csv; long-only, short-only,
//      both, long/short signals; stop loss, trailing stop, take profit and their combinations):
//      the same values within 1e-9 relative, the counts exactly, and every exit-trade record
//      (direction, status, entry and exit bar, exit reason exactly; size, prices, fees, pnl and
//      return bit for bit);
//  * hand-made cases for the conventions: conflicts, stop fills, fees, NaN prices, short sales,
//    reversals, partial covers, stop priority, the trade log;
//  * invariants: no signals and no fees give flat equity; cash + position x price = equity on
//    every bar; doubling fees never increases the final value; the trade records' pnl sums to
//    the profit; determinism; option checks.
#include "qraft/engines/signal_sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace qraft::engines {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

fs::path TestData(const char* name) {
  return fs::path(__FILE__).parent_path() / "testdata" / name;
}

json ReadJson(const char* name) {
  std::ifstream in(TestData(name));
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  return json::parse(in);
}

const json& Golden() {
  static const json kGolden = ReadJson("vectorbt_golden.json");
  return kGolden;
}

const json& GoldenExt() {
  static const json kGolden = ReadJson("vectorbt_golden_ext.json");
  return kGolden;
}

using CloseTable = std::map<std::string, std::vector<double>>;

// Column name -> closes, parsed with strtod (correctly rounded, like Python's float()).
CloseTable ReadCloses(const char* name) {
  CloseTable out;
  std::ifstream in(TestData(name));
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  {
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');  // date
    while (std::getline(ss, cell, ','))
      names.push_back(cell);
  }
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');
    for (const std::string& column : names) {
      std::getline(ss, cell, ',');
      out[column].push_back(std::strtod(cell.c_str(), nullptr));
    }
  }
  return out;
}

const CloseTable& Closes() {
  static const CloseTable kCloses = ReadCloses("vectorbt_close.csv");
  return kCloses;
}

const CloseTable& ClosesExt() {
  static const CloseTable kCloses = ReadCloses("vectorbt_close_ext.csv");
  return kCloses;
}

struct Case {
  std::vector<double> price;
  std::vector<std::uint8_t> entries, exits;
  std::vector<std::uint8_t> short_entries, short_exits;  // empty: none
  SignalSimOptions options;

  SignalSimInputs Inputs() const {
    return {.price = price,
            .entries = entries,
            .exits = exits,
            .short_entries = short_entries,
            .short_exits = short_exits};
  }
};

double StopOrNaN(const json& v) {
  return v.is_null() ? kNaN : v.get<double>();
}

std::vector<std::uint8_t> Mask(std::size_t n, const json& bars) {
  std::vector<std::uint8_t> out(n, 0);
  for (int i : bars)
    out[static_cast<std::size_t>(i)] = 1;
  return out;
}

Case MakeCase(const json& c) {
  Case k;
  k.price = Closes().at(c["symbol"].get<std::string>());
  for (int i : c["nan_bars"])
    k.price[static_cast<std::size_t>(i)] = kNaN;
  k.entries.assign(k.price.size(), 0);
  k.exits.assign(k.price.size(), 0);
  for (int i : c["entries"])
    k.entries[static_cast<std::size_t>(i)] = 1;
  for (int i : c["exits"])
    k.exits[static_cast<std::size_t>(i)] = 1;
  k.options.init_cash = c["init_cash"];
  k.options.fees = c["fees"];
  k.options.fixed_fees = c["fixed_fees"];
  k.options.slippage = c["slippage"];
  k.options.sl_stop = c["sl_stop"].is_null() ? kNaN : c["sl_stop"].get<double>();
  return k;
}

SignalSimResult RunSim(const Case& k, std::span<double> equity = {},
                       MetricsAccumulator* metrics = nullptr) {
  SignalSimResult r;
  const Status s = SimulateSignals(k.price, k.entries, k.exits, k.options, &r, equity, metrics);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return r;
}

// A case of the extended set: mode longonly / shortonly / both map to the direction, ls is
// direction both with short signals.
Case MakeExtCase(const json& c) {
  Case k;
  k.price = ClosesExt().at(c["symbol"].get<std::string>());
  for (int i : c["nan_bars"])
    k.price[static_cast<std::size_t>(i)] = kNaN;
  const std::size_t n = k.price.size();
  k.entries = Mask(n, c["entries"]);
  k.exits = Mask(n, c["exits"]);
  const std::string mode = c["mode"];
  if (mode == "longonly") {
    k.options.direction = SignalDirection::kLongOnly;
  } else if (mode == "shortonly") {
    k.options.direction = SignalDirection::kShortOnly;
  } else {
    EXPECT_TRUE(mode == "both" || mode == "ls") << mode;
    k.options.direction = SignalDirection::kBoth;
  }
  if (mode == "ls") {
    k.short_entries = Mask(n, c["short_entries"]);
    k.short_exits = Mask(n, c["short_exits"]);
  }
  k.options.init_cash = c["init_cash"];
  k.options.fees = c["fees"];
  k.options.fixed_fees = c["fixed_fees"];
  k.options.slippage = c["slippage"];
  k.options.sl_stop = StopOrNaN(c["sl_stop"]);
  k.options.tsl_stop = StopOrNaN(c["tsl_stop"]);
  k.options.tp_stop = StopOrNaN(c["tp_stop"]);
  return k;
}

SignalSimResult RunExt(const Case& k, std::span<double> equity = {},
                       MetricsAccumulator* metrics = nullptr,
                       const SignalSimTrace* trace = nullptr) {
  SignalSimResult r;
  const Status s = SimulateSignals(k.Inputs(), k.options, &r, equity, metrics, trace);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return r;
}

// |a - b| <= 1e-9 * max(|b|, floor).
void ExpectRel(double a, double b, double floor, const std::string& what) {
  EXPECT_LE(std::abs(a - b), 1e-9 * std::max(std::abs(b), floor))
      << what << ": got " << a << ", expected " << b;
}

TEST(SignalSimGolden, MatchesVectorbt) {
  const json& cases = Golden()["cases"];
  ASSERT_GE(cases.size(), 100u);
  int with_stop = 0, stop_exits = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const json& e = c["expected"];
    const Case k = MakeCase(c);
    std::vector<double> equity(k.price.size());
    MetricsOptions mo;
    mo.initial_capital = k.options.init_cash;
    MetricsAccumulator acc(mo);
    const SignalSimResult r = RunSim(k, equity, &acc);
    const std::string what = "case " + std::to_string(i) + " (" + c["symbol"].get<std::string>() +
                             " " + std::to_string(c["fast"].get<int>()) + "/" +
                             std::to_string(c["slow"].get<int>()) + ")";
    const double cash0 = k.options.init_cash;
    ExpectRel(r.final_value, e["final_value"], 1e-6 * cash0, what + " final_value");
    ExpectRel(r.cash, e["cash"], 1e-6 * cash0, what + " cash");
    ExpectRel(r.position, e["position"], 1e-12, what + " position");
    ExpectRel(r.total_fees, e["total_fees"], 1e-6 * cash0, what + " total_fees");
    EXPECT_EQ(r.orders, e["orders"].get<std::int64_t>()) << what << " orders";
    EXPECT_EQ(r.trades, e["trades"].get<std::int64_t>()) << what << " trades";
    EXPECT_EQ(r.closed_trades, e["closed_trades"].get<std::int64_t>()) << what << " closed";
    double equity_sum = 0;
    for (double v : equity)
      equity_sum += v;
    ExpectRel(equity_sum, e["equity_sum"], 1e-6 * cash0, what + " equity_sum");
    const Metrics m = acc.Finish();
    EXPECT_EQ(m.trades, r.closed_trades) << what;
    EXPECT_EQ(m.bars, static_cast<std::int64_t>(k.price.size())) << what;
    const double closed_pnl = m.trades > 0 ? m.expectancy * static_cast<double>(m.trades) : 0.0;
    // The mean is taken and multiplied back: allow a few ulps of the pnl magnitudes.
    EXPECT_LE(std::abs(closed_pnl - e["closed_pnl"].get<double>()), 1e-9 * cash0)
        << what << " closed_pnl";
    ExpectRel(m.fees, r.total_fees, 1e-6 * cash0, what + " metrics fees");
    ExpectRel(1 + m.total_return, r.final_value / cash0, 1e-12, what + " total_return");
    if (!std::isnan(k.options.sl_stop)) ++with_stop;
    stop_exits += static_cast<int>(r.stop_exits);
  }
  EXPECT_GT(with_stop, 20);
  EXPECT_GT(stop_exits, 20);  // the stop path is exercised, not only configured
}

TEST(SignalSimGolden, MatchesVectorbtShortsStopsAndTradeRecords) {
  const json& golden = GoldenExt();
  const json& cases = golden["cases"];
  ASSERT_GE(cases.size(), 100u);
  const std::vector<std::string> fields = golden["trade_fields"];
  ASSERT_EQ(fields, (std::vector<std::string>{"direction", "status", "entry_idx", "exit_idx",
                                              "size", "entry_price", "entry_fees", "exit_price",
                                              "exit_fees", "pnl", "return", "reason"}));
  std::map<std::string, int> modes, reasons;
  int short_records = 0, partial_exits = 0, reversals = 0, open_at_end = 0, negative_equity = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const json& e = c["expected"];
    const Case k = MakeExtCase(c);
    const std::size_t n = k.price.size();
    std::vector<double> equity(n), traded(n), fees(n), exposure(n);
    std::vector<TradeRecord> records;
    std::vector<SignalTrade> log;
    const SignalSimTrace trace{.traded = traded,
                               .fees = fees,
                               .exposure = exposure,
                               .trades = &records,
                               .trade_log = &log};
    MetricsOptions mo;
    mo.initial_capital = k.options.init_cash;
    MetricsAccumulator acc(mo);
    const SignalSimResult r = RunExt(k, equity, &acc, &trace);
    const std::string what = "ext case " + std::to_string(i) + " (" +
                             c["symbol"].get<std::string>() + " " + c["mode"].get<std::string>() +
                             " " + c["signals"].get<std::string>() + ")";
    const double cash0 = k.options.init_cash;
    ExpectRel(r.final_value, e["final_value"], 1e-6 * cash0, what + " final_value");
    ExpectRel(r.cash, e["cash"], 1e-6 * cash0, what + " cash");
    ExpectRel(r.position, e["position"], 1e-12, what + " position");
    ExpectRel(r.total_fees, e["total_fees"], 1e-6 * cash0, what + " total_fees");
    EXPECT_EQ(r.orders, e["orders"].get<std::int64_t>()) << what << " orders";
    EXPECT_EQ(r.trades, e["trades"].get<std::int64_t>()) << what << " trades";
    EXPECT_EQ(r.closed_trades, e["closed_trades"].get<std::int64_t>()) << what << " closed";
    double equity_sum = 0;
    for (double v : equity) {
      equity_sum += v;
      negative_equity += v < 0;
    }
    ExpectRel(equity_sum, e["equity_sum"], 1e-6 * cash0, what + " equity_sum");

    // Every exit-trade record, in vectorbt's order.
    const json& expected = e["trades_records"];
    ASSERT_EQ(log.size(), expected.size()) << what;
    double pnl_sum = 0;
    std::int64_t stop_loss = 0, take_profit = 0, trailing = 0;
    for (std::size_t j = 0; j < log.size(); ++j) {
      const SignalTrade& got = log[j];
      const json& x = expected[j];
      const std::string where = what + " record " + std::to_string(j);
      const bool open = x[1].get<int>() == 0;
      EXPECT_EQ(static_cast<int>(got.direction), x[0].get<int>()) << where;
      EXPECT_EQ(got.reason == ExitReason::kEnd, open) << where;
      EXPECT_EQ(got.entry_bar, x[2].get<std::int64_t>()) << where;
      EXPECT_EQ(got.exit_bar, open ? -1 : x[3].get<std::int64_t>()) << where;
      EXPECT_EQ(got.size, x[4].get<double>()) << where << " size";
      EXPECT_EQ(got.entry_price, x[5].get<double>()) << where << " entry_price";
      EXPECT_EQ(got.entry_fees, x[6].get<double>()) << where << " entry_fees";
      EXPECT_EQ(got.exit_price, x[7].get<double>()) << where << " exit_price";
      EXPECT_EQ(got.exit_fees, x[8].get<double>()) << where << " exit_fees";
      EXPECT_EQ(got.pnl, x[9].get<double>()) << where << " pnl";
      EXPECT_EQ(got.ret, x[10].get<double>()) << where << " return";
      EXPECT_EQ(ExitReasonName(got.reason), x[11].get<std::string>()) << where << " reason";
      pnl_sum += got.pnl;
      ++reasons[std::string(ExitReasonName(got.reason))];
      short_records += got.direction == TradeDirection::kShort;
      open_at_end += open;
      stop_loss += got.reason == ExitReason::kStopLoss;
      take_profit += got.reason == ExitReason::kTakeProfit;
      trailing += got.reason == ExitReason::kTrailingStop;
      if (j > 0 && log[j - 1].exit_bar >= 0) {
        const SignalTrade& prev = log[j - 1];
        partial_exits += prev.entry_bar == got.entry_bar && prev.direction == got.direction;
        reversals += prev.exit_bar == got.entry_bar && prev.direction != got.direction;
      }
    }
    EXPECT_EQ(r.stop_exits, stop_loss) << what;
    EXPECT_EQ(r.take_profit_exits, take_profit) << what;
    EXPECT_EQ(r.trailing_stop_exits, trailing) << what;
    // The records' pnl (the open one valued at the last price) is the whole profit.
    EXPECT_LE(std::abs(pnl_sum - (r.final_value - cash0)), 1e-9 * cash0) << what << " pnl sum";

    // The TradeRecord feed: one per closed record, the same trade up to the last bits of pnl.
    ASSERT_EQ(records.size(), static_cast<std::size_t>(r.closed_trades)) << what;
    for (std::size_t j = 0; j < records.size(); ++j) {
      EXPECT_LE(std::abs(records[j].pnl - log[j].pnl), 1e-12 * (log[j].size * log[j].entry_price))
          << what << " TradeRecord " << j;
      EXPECT_EQ(records[j].holding_bars, log[j].exit_bar - log[j].entry_bar) << what;
    }
    const Metrics m = acc.Finish();
    EXPECT_EQ(m.trades, r.closed_trades) << what;
    ExpectRel(1 + m.total_return, r.final_value / cash0, 1e-12, what + " total_return");
    ExpectRel(m.fees, r.total_fees, 1e-6 * cash0, what + " metrics fees");
    // Traces: fees per bar sum to the total; exposure is |position value| (short or long).
    double fee_sum = 0, last = kNaN;
    for (std::size_t t = 0; t < n; ++t) {
      fee_sum += fees[t];
      if (!std::isnan(k.price[t])) last = k.price[t];
    }
    EXPECT_EQ(fee_sum, r.total_fees) << what;
    EXPECT_EQ(exposure[n - 1], r.position != 0 ? std::abs(r.position * last) : 0.0) << what;
    ++modes[c["mode"].get<std::string>()];
  }
  // What the set exercises, not only configures.
  for (const char* mode : {"longonly", "shortonly", "both", "ls"}) {
    EXPECT_GE(modes[mode], 15) << mode;
  }
  for (const char* reason : {"signal", "stop_loss", "take_profit", "trailing_stop", "end"}) {
    EXPECT_GE(reasons[reason], 20) << reason;
  }
  EXPECT_GE(short_records, 500);
  EXPECT_GE(reversals, 100);
  EXPECT_GE(partial_exits, 2);
  EXPECT_GE(open_at_end, 20);
  EXPECT_GT(negative_equity, 0);  // a short through a rally
}

Case Small(std::vector<double> price, std::vector<std::uint8_t> en, std::vector<std::uint8_t> ex) {
  Case k;
  k.price = std::move(price);
  k.entries = std::move(en);
  k.exits = std::move(ex);
  return k;
}

TEST(SignalSim, ConflictIsIgnoredAndExitWhenFlatDoesNothing) {
  Case k = Small({10, 11, 12, 13, 14}, {1, 0, 1, 0, 0}, {1, 1, 1, 0, 1});
  const SignalSimResult r = RunSim(k);
  EXPECT_EQ(r.orders, 0);  // bar 0 and 2: conflict; bar 1, 4: exit while flat
  EXPECT_EQ(r.final_value, 100.0);
  k.entries = {1, 1, 0, 1, 0};
  k.exits = {0, 1, 1, 0, 0};
  // Bar 0 buy at 10; bar 1 conflict (ignored); bar 2 sell at 12; bar 3 buy at 13, open.
  const SignalSimResult q = RunSim(k);
  EXPECT_EQ(q.orders, 3);
  EXPECT_EQ(q.trades, 2);
  EXPECT_EQ(q.closed_trades, 1);
  EXPECT_DOUBLE_EQ(q.final_value, 120.0 / 13.0 * 14.0);
}

TEST(SignalSim, FeesSlippageAndStopFill) {
  Case k = Small({100, 95, 89, 90}, {1, 0, 0, 0}, {0, 0, 0, 1});
  k.options = {.init_cash = 1000, .fees = 0.01, .fixed_fees = 2, .slippage = 0.001, .sl_stop = 0.1};
  std::vector<double> equity(4);
  const SignalSimResult r = RunSim(k, equity);
  const double spent = (1000.0 - 2.0) / 1.01;
  const double size = spent / (100 * 1.001);
  // Stop level 90; bar 2 closes at 89 <= 90: sold at 89, no slippage, with fees.
  const double proceeds = size * 89;
  const double cash = proceeds - (proceeds * 0.01 + 2);
  EXPECT_EQ(r.orders, 2);
  EXPECT_EQ(r.stop_exits, 1);
  EXPECT_DOUBLE_EQ(r.cash, cash);
  EXPECT_EQ(r.position, 0.0);
  EXPECT_DOUBLE_EQ(r.final_value, cash);  // bar 3's exit finds no position
  EXPECT_DOUBLE_EQ(r.total_fees, (1000.0 - spent) + proceeds * 0.01 + 2);
  EXPECT_DOUBLE_EQ(equity[1], size * 95);
}

// Qraft's extensions: a minimum fee per order and a sell-side tax (long-only), computed by hand.
TEST(SignalSim, MinimumFeeAndSellTax) {
  Case k = Small({10, 11, 12}, {1, 0, 0}, {0, 1, 0});
  k.options = {.init_cash = 1000, .fees = 0.001, .min_fee = 5, .sell_tax = 0.001};
  const SignalSimResult r = RunSim(k);
  // Buy: 1000 / 1.001 x 0.001 = 0.999 < 5, so the minimum applies: 995 spent, 99.5 shares.
  // Sell at 11: value 1094.5, fee max(1.0945, 5) = 5, tax 1.0945.
  EXPECT_EQ(r.orders, 2);
  EXPECT_DOUBLE_EQ(r.cash, 1094.5 - 5 - 1.0945);
  EXPECT_DOUBLE_EQ(r.final_value, 1094.5 - 5 - 1.0945);
  EXPECT_DOUBLE_EQ(r.total_fees, 5 + 5 + 1.0945);
  // Above the minimum the proportional fee applies as in vectorbt; the tax still does.
  Case big = Small({10, 11, 12}, {1, 0, 0}, {0, 1, 0});
  big.options = {.init_cash = 1e6, .fees = 0.001, .min_fee = 5, .sell_tax = 0.001};
  const SignalSimResult b = RunSim(big);
  const double spent = 1e6 / 1.001;
  const double value = spent / 10 * 11;
  EXPECT_DOUBLE_EQ(b.cash, value - value * 0.001 - value * 0.001);
  // Only long-only strategies take them.
  SignalSimOptions both = k.options;
  both.direction = SignalDirection::kBoth;
  EXPECT_FALSE(ValidateSignalSimOptions(both).ok());
  SignalSimOptions bad = k.options;
  bad.sell_tax = 1;
  EXPECT_FALSE(ValidateSignalSimOptions(bad).ok());
}

TEST(SignalSim, NaNPriceDropsSignalAndValuesAtLastPrice) {
  Case k = Small({10, kNaN, 12, kNaN, 15}, {0, 1, 0, 0, 0}, {0, 0, 0, 0, 0});
  EXPECT_EQ(RunSim(k).orders, 0);  // the entry on the NaN bar is dropped, not carried
  k.entries = {1, 0, 0, 0, 0};
  k.exits = {0, 0, 0, 1, 0};
  std::vector<double> equity(5);
  const SignalSimResult r = RunSim(k, equity);
  EXPECT_EQ(r.orders, 1);
  EXPECT_DOUBLE_EQ(equity[1], 100.0);  // 10 shares at the last price, 10
  EXPECT_DOUBLE_EQ(equity[3], 120.0);
  EXPECT_DOUBLE_EQ(r.final_value, 150.0);
}

TEST(SignalSim, FixedFeesAboveCashRejectTheEntry) {
  Case k = Small({10, 11}, {1, 0}, {0, 1});
  k.options.fixed_fees = 150;
  const SignalSimResult r = RunSim(k);
  EXPECT_EQ(r.orders, 0);
  EXPECT_EQ(r.final_value, 100.0);
}

// Runs k with a trade log; checks the status.
SignalSimResult RunLogged(const Case& k, std::vector<SignalTrade>* log,
                          std::span<double> equity = {}) {
  const SignalSimTrace trace{.trade_log = log};
  return RunExt(k, equity, nullptr, &trace);
}

TEST(SignalSimShort, ShortSaleUsesAllCashAndCoverBuysItBack) {
  Case k = Small({10, 8, 8.5}, {1, 0, 0}, {0, 1, 0});
  k.options.direction = SignalDirection::kShortOnly;
  k.options.fees = 0.01;
  std::vector<SignalTrade> log;
  std::vector<double> equity(3);
  const SignalSimResult r = RunLogged(k, &log, equity);
  // Short sale: free cash 100 buys the fees too: size = 100 / (10 x 1.01).
  const double size = 100.0 / (10 * 1.01);
  const double sale = size * 10, sale_fees = sale * 0.01;
  const double cash1 = 100 + (sale - sale_fees);
  EXPECT_DOUBLE_EQ(equity[0], cash1 - size * 10);  // = 100 - fees
  // Cover at 8: cost size x 8 (1 + fees) fits the cash: the whole short is bought back.
  const double cost = size * 8, cost_fees = cost * 0.01;
  EXPECT_EQ(r.orders, 2);
  EXPECT_EQ(r.trades, 1);
  EXPECT_EQ(r.closed_trades, 1);
  EXPECT_EQ(r.position, 0.0);
  EXPECT_DOUBLE_EQ(r.cash, cash1 - (cost + cost_fees));
  EXPECT_DOUBLE_EQ(r.final_value, r.cash);
  EXPECT_DOUBLE_EQ(r.total_fees, sale_fees + cost_fees);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].direction, TradeDirection::kShort);
  EXPECT_EQ(log[0].reason, ExitReason::kSignal);
  EXPECT_EQ(log[0].entry_bar, 0);
  EXPECT_EQ(log[0].exit_bar, 1);
  EXPECT_DOUBLE_EQ(log[0].size, size);
  EXPECT_DOUBLE_EQ(log[0].entry_price, 10.0);
  EXPECT_DOUBLE_EQ(log[0].exit_price, 8.0);
  EXPECT_DOUBLE_EQ(log[0].pnl, size * 2 - sale_fees - cost_fees);
  EXPECT_DOUBLE_EQ(log[0].pnl, r.final_value - 100);
  EXPECT_DOUBLE_EQ(log[0].ret, log[0].pnl / sale);
}

TEST(SignalSimShort, BothDirectionsReverseWithOneOrderAndSplitItsFees) {
  // direction both without short signals: an exit reverses the long into a short.
  Case k = Small({10, 12, 11, 9}, {1, 0, 0, 1}, {0, 1, 0, 0});
  k.options.direction = SignalDirection::kBoth;
  std::vector<SignalTrade> log;
  SignalSimResult r = RunLogged(k, &log);
  // Bar 0: 10 shares long. Bar 1: sell 10 + short 120 / 12 = 10 more. Bar 3: buy 240 / 9.
  EXPECT_EQ(r.orders, 3);
  EXPECT_EQ(r.closed_trades, 2);
  EXPECT_EQ(r.trades, 3);
  EXPECT_DOUBLE_EQ(r.position, 240.0 / 9 - 10);
  EXPECT_DOUBLE_EQ(r.final_value, 150.0);  // 100 + 20 on the long + 30 on the short
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].direction, TradeDirection::kLong);
  EXPECT_EQ(log[1].direction, TradeDirection::kShort);
  EXPECT_EQ(log[2].direction, TradeDirection::kLong);
  EXPECT_EQ(log[1].entry_bar, 1);
  EXPECT_EQ(log[1].exit_bar, 3);
  EXPECT_DOUBLE_EQ(log[0].pnl, 20.0);
  EXPECT_DOUBLE_EQ(log[1].pnl, 30.0);
  EXPECT_EQ(log[2].exit_bar, -1);
  EXPECT_EQ(log[2].reason, ExitReason::kEnd);
  EXPECT_DOUBLE_EQ(log[2].pnl, 0.0);

  // With fees, the reversing order's fees are split by size between the two trades.
  k.options.fees = 0.01;
  log.clear();
  r = RunLogged(k, &log);
  ASSERT_EQ(log.size(), 3u);
  const double long_size = log[0].size;
  const double order_size = long_size + log[1].size;
  const double order_fees = order_size * 12 * 0.01;
  EXPECT_DOUBLE_EQ(log[0].exit_fees, long_size / order_size * order_fees);
  EXPECT_DOUBLE_EQ(log[1].entry_fees, order_fees - log[0].exit_fees);
  EXPECT_DOUBLE_EQ(log[0].pnl + log[1].pnl + log[2].pnl, r.final_value - 100);
}

TEST(SignalSimShort, LongShortSignalRules) {
  // Flat: LE + LX cancel, SE alone opens a short. Short: SE adds nothing; LE reverses.
  Case k = Small({10, 10, 10, 10}, {1, 0, 1, 0}, {1, 0, 0, 0});
  k.short_entries = {1, 1, 0, 0};
  k.short_exits = {0, 0, 0, 0};
  k.options.direction = SignalDirection::kBoth;
  std::vector<SignalTrade> log;
  SignalSimResult r = RunLogged(k, &log);
  EXPECT_EQ(r.orders, 2);  // bar 0 short, bar 2 reverse to long
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].direction, TradeDirection::kShort);
  EXPECT_EQ(log[0].entry_bar, 0);
  EXPECT_EQ(log[0].exit_bar, 2);
  EXPECT_GT(r.position, 0.0);
  // Long: SE with LX reverses (the short entry wins); LE with SE on the same bar does nothing.
  k = Small({10, 10, 10, 10}, {1, 1, 0, 0}, {0, 0, 1, 0});
  k.short_entries = {0, 1, 1, 0};
  k.options.direction = SignalDirection::kBoth;
  log.clear();
  r = RunLogged(k, &log);
  EXPECT_EQ(r.orders, 2);
  EXPECT_LT(r.position, 0.0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].exit_bar, 2);
  // Short signals need direction both.
  k.options.direction = SignalDirection::kLongOnly;
  SignalSimResult unused;
  EXPECT_FALSE(SimulateSignals(k.Inputs(), k.options, &unused).ok());
}

TEST(SignalSimShort, CoverBeyondTheCashIsPartialAndTheRestStaysOpen) {
  Case k = Small({10, 25, 30}, {1, 0, 0}, {0, 1, 0});
  k.options.direction = SignalDirection::kShortOnly;
  std::vector<SignalTrade> log;
  std::vector<double> equity(3);
  SignalSimResult r = RunLogged(k, &log, equity);
  // 10 shares short, cash 200; buying them back at 25 would cost 250: 8 shares only.
  EXPECT_EQ(r.orders, 2);
  EXPECT_EQ(r.closed_trades, 1);
  EXPECT_EQ(r.trades, 2);
  EXPECT_DOUBLE_EQ(r.position, -2.0);
  EXPECT_EQ(r.cash, 0.0);
  EXPECT_DOUBLE_EQ(r.final_value, -60.0);  // equity can go negative on a short
  EXPECT_DOUBLE_EQ(equity[1], -50.0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_DOUBLE_EQ(log[0].size, 8.0);
  EXPECT_DOUBLE_EQ(log[0].pnl, -120.0);
  EXPECT_EQ(log[1].entry_bar, 0);
  EXPECT_EQ(log[1].exit_bar, -1);
  EXPECT_DOUBLE_EQ(log[1].size, 2.0);
  EXPECT_DOUBLE_EQ(log[1].pnl, -40.0);
  // A stop loss closes the same way; with no cash left its retries are rejected, the stop stays.
  k.exits = {0, 0, 0};
  k.options.sl_stop = 0.5;
  log.clear();
  r = RunLogged(k, &log);
  EXPECT_EQ(r.orders, 2);
  EXPECT_EQ(r.stop_exits, 1);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].reason, ExitReason::kStopLoss);
  EXPECT_EQ(log[0].exit_bar, 1);
}

TEST(SignalSimStops, TrailingStopFollowsTheBestPriceAndFillsWithoutSlippage) {
  Case k = Small({100, 110, 120, 108, 107}, {1, 0, 0, 0, 0}, {0, 0, 0, 0, 0});
  k.options = {.slippage = 0.01, .sl_stop = 0.05, .tp_stop = 0.5, .tsl_stop = 0.1};
  std::vector<SignalTrade> log;
  SignalSimResult r = RunLogged(k, &log);
  // Best price 120 after bar 2: level 120 x 0.9 = 108, reached (equal) on bar 3.
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, ExitReason::kTrailingStop);
  EXPECT_EQ(log[0].exit_bar, 3);
  EXPECT_EQ(log[0].exit_price, 108.0);
  EXPECT_EQ(r.trailing_stop_exits, 1);
  EXPECT_EQ(r.stop_exits, 0);

  // Both losses hit on one bar: the stop loss is named. Take profit on its level.
  k = Small({100, 130, 90}, {1, 0, 0}, {0, 0, 0});
  k.options = {.sl_stop = 0.05, .tp_stop = 0.5, .tsl_stop = 0.1};
  log.clear();
  r = RunLogged(k, &log);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, ExitReason::kStopLoss);
  EXPECT_EQ(r.stop_exits, 1);
  k = Small({100, 104, 150, 90}, {1, 0, 0, 0}, {0, 0, 0, 0});
  k.options = {.sl_stop = 0.05, .tp_stop = 0.5};
  log.clear();
  r = RunLogged(k, &log);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, ExitReason::kTakeProfit);
  EXPECT_EQ(log[0].exit_bar, 2);
  EXPECT_EQ(r.take_profit_exits, 1);

  // Short: the trailing stop follows the lowest price; signals on a stop bar are ignored.
  k = Small({100, 90, 80, 88.5, 70}, {1, 0, 0, 1, 0}, {0, 0, 0, 0, 0});
  k.options = {.sl_stop = 0.2, .tsl_stop = 0.1, .direction = SignalDirection::kShortOnly};
  log.clear();
  r = RunLogged(k, &log);
  ASSERT_EQ(log.size(), 1u);  // 80 x 1.1 = 88 <= 88.5 on bar 3; its entry signal is dropped
  EXPECT_EQ(log[0].direction, TradeDirection::kShort);
  EXPECT_EQ(log[0].reason, ExitReason::kTrailingStop);
  EXPECT_EQ(log[0].exit_bar, 3);
  EXPECT_EQ(r.orders, 2);
  EXPECT_EQ(r.position, 0.0);
}

TEST(SignalSimStops, OpenTradeIsValuedAtTheLastPrice) {
  Case k = Small({10, 12, kNaN}, {1, 0, 0}, {0, 0, 0});
  std::vector<SignalTrade> log;
  const SignalSimResult r = RunLogged(k, &log);
  EXPECT_EQ(r.trades, 1);
  EXPECT_EQ(r.closed_trades, 0);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].exit_bar, -1);
  EXPECT_EQ(log[0].reason, ExitReason::kEnd);
  EXPECT_EQ(log[0].exit_price, 12.0);
  EXPECT_EQ(log[0].exit_fees, 0.0);
  EXPECT_DOUBLE_EQ(log[0].pnl, 20.0);
  EXPECT_DOUBLE_EQ(r.final_value, 120.0);
}

TEST(SignalSimInvariants, NoSignalsNoFeesFlatEquity) {
  Case k = MakeCase(Golden()["cases"][0]);
  std::fill(k.entries.begin(), k.entries.end(), 0);
  std::fill(k.exits.begin(), k.exits.end(), 0);
  k.options.fees = k.options.fixed_fees = k.options.slippage = 0;
  std::vector<double> equity(k.price.size());
  MetricsAccumulator acc;
  const SignalSimResult r = RunSim(k, equity, &acc);
  for (double v : equity)
    ASSERT_EQ(v, k.options.init_cash);
  EXPECT_EQ(r.orders, 0);
  EXPECT_EQ(acc.Finish().total_return, 0.0);
  EXPECT_EQ(acc.Finish().exposure, 0.0);
}

TEST(SignalSimInvariants, CashPlusPositionValueIsEquityEveryBar) {
  // The simulator is a pure function of its inputs, so the state after bar t is the final state
  // of the run over the first t + 1 bars.
  for (int c : {1, 2, 7}) {
    const Case k = MakeCase(Golden()["cases"][c]);
    std::vector<double> equity(k.price.size());
    RunSim(k, equity);
    double last = kNaN;
    for (std::size_t t = 0; t < k.price.size(); t += 7) {
      Case prefix = k;
      prefix.price.resize(t + 1);
      prefix.entries.resize(t + 1);
      prefix.exits.resize(t + 1);
      const SignalSimResult r = RunSim(prefix);
      for (std::size_t u = 0; u <= t; ++u)
        if (!std::isnan(k.price[u])) last = k.price[u];
      const double value = r.position != 0 ? r.cash + r.position * last : r.cash;
      ASSERT_EQ(value, equity[t]) << "case " << c << " bar " << t;
      ASSERT_EQ(r.final_value, equity[t]);
      ASSERT_GE(r.cash, 0.0);
      ASSERT_GE(r.position, 0.0);
      last = kNaN;
    }
  }
}

TEST(SignalSimInvariants, ShortsAndStopsKeepCashPlusPositionValueEqualToEquity) {
  // As above, over the first cases of the extended set with short positions and stops.
  int checked = 0;
  for (const json& c : GoldenExt()["cases"]) {
    if (c["mode"] == "longonly" || checked == 4) continue;
    ++checked;
    const Case k = MakeExtCase(c);
    std::vector<double> equity(k.price.size());
    RunExt(k, equity);
    for (std::size_t t = 0; t < k.price.size(); t += 11) {
      Case prefix = k;
      prefix.price.resize(t + 1);
      prefix.entries.resize(t + 1);
      prefix.exits.resize(t + 1);
      if (!prefix.short_entries.empty()) prefix.short_entries.resize(t + 1);
      if (!prefix.short_exits.empty()) prefix.short_exits.resize(t + 1);
      const SignalSimResult r = RunExt(prefix);
      double last = kNaN;
      for (std::size_t u = 0; u <= t; ++u)
        if (!std::isnan(k.price[u])) last = k.price[u];
      const double value = r.position != 0 ? r.cash + r.position * last : r.cash;
      ASSERT_EQ(value, equity[t]) << c["symbol"] << " " << c["mode"] << " bar " << t;
      ASSERT_GE(r.cash, 0.0);
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(SignalSimInvariants, DoublingFeesNeverIncreasesFinalValue) {
  int compared = 0;
  for (const json& c : Golden()["cases"]) {
    Case k = MakeCase(c);
    const SignalSimResult base = RunSim(k);
    k.options.fees *= 2;
    k.options.fixed_fees *= 2;
    const SignalSimResult doubled = RunSim(k);
    // Doubled fixed fees can reject an order that was affordable (and so skip a losing trade);
    // the claim holds for the same sequence of fills.
    if (doubled.orders != base.orders) continue;
    ++compared;
    EXPECT_LE(doubled.final_value, base.final_value);
    EXPECT_GE(doubled.total_fees, base.total_fees * (1 - 1e-12));
  }
  EXPECT_GT(compared, 100);
}

TEST(SignalSimInvariants, Deterministic) {
  const Case k = MakeCase(Golden()["cases"][3]);
  std::vector<double> a(k.price.size()), b(k.price.size());
  const SignalSimResult ra = RunSim(k, a), rb = RunSim(k, b);
  EXPECT_EQ(ra.final_value, rb.final_value);
  EXPECT_EQ(a, b);
}

// Bit-for-bit equality of doubles (NaN equals NaN).
bool Same(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// SignalSimulator over chunks of uneven sizes (1 bar, a few, hundreds) gives exactly the bits of
// one SimulateSignals call: results, per-bar series, trade records, the trade log and the
// metrics fed, on every case of the extended golden set (shorts, stops, partial exits).
TEST(SignalSimInvariants, ChunkedRunsEqualOneRun) {
  const json& cases = GoldenExt()["cases"];
  const std::size_t sizes[] = {1, 5, 64, 3, 250, 17, 1000};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case k = MakeExtCase(cases[i]);
    const std::size_t n = k.price.size();
    MetricsOptions mo;
    mo.initial_capital = k.options.init_cash;
    struct Out {
      explicit Out(std::size_t bars) : equity(bars), traded(bars), fees(bars), exposure(bars) {}
      std::vector<double> equity, traded, fees, exposure;
      std::vector<TradeRecord> records;
      std::vector<SignalTrade> log;
      SignalSimResult result;
    };
    Out one(n), parts(n);
    MetricsAccumulator acc_one(mo), acc_parts(mo);
    const SignalSimTrace trace_one{.traded = one.traded,
                                   .fees = one.fees,
                                   .exposure = one.exposure,
                                   .trades = &one.records,
                                   .trade_log = &one.log};
    one.result = RunExt(k, one.equity, &acc_one, &trace_one);

    const SignalSimTrace records{.trades = &parts.records, .trade_log = &parts.log};
    SignalSimulator sim(k.options, !k.short_entries.empty() || !k.short_exits.empty(), &acc_parts,
                        &records);
    std::size_t t0 = 0;
    for (std::size_t j = i; t0 < n; ++j) {
      const std::size_t m = std::min(sizes[j % std::size(sizes)], n - t0);
      auto cut = [&](const std::vector<std::uint8_t>& v) {
        return v.empty() ? std::span<const std::uint8_t>() : std::span(v).subspan(t0, m);
      };
      auto out = [&](std::vector<double>& v) { return std::span(v).subspan(t0, m); };
      sim.Run({.price = std::span(k.price).subspan(t0, m),
               .entries = cut(k.entries),
               .exits = cut(k.exits),
               .short_entries = cut(k.short_entries),
               .short_exits = cut(k.short_exits)},
              {.equity = out(parts.equity),
               .traded = out(parts.traded),
               .fees = out(parts.fees),
               .exposure = out(parts.exposure)});
      t0 += m;
    }
    EXPECT_EQ(sim.bars(), n);
    sim.Finish(&parts.result);

    const std::string what = "ext case " + std::to_string(i);
    EXPECT_EQ(one.equity, parts.equity) << what;
    EXPECT_EQ(one.traded, parts.traded) << what;
    EXPECT_EQ(one.fees, parts.fees) << what;
    EXPECT_EQ(one.exposure, parts.exposure) << what;
    const SignalSimResult &a = one.result, &b = parts.result;
    EXPECT_TRUE(Same(a.final_value, b.final_value) && Same(a.cash, b.cash) &&
                Same(a.position, b.position) && Same(a.total_fees, b.total_fees) &&
                a.orders == b.orders && a.trades == b.trades &&
                a.closed_trades == b.closed_trades && a.stop_exits == b.stop_exits &&
                a.take_profit_exits == b.take_profit_exits &&
                a.trailing_stop_exits == b.trailing_stop_exits)
        << what;
    ASSERT_EQ(one.records.size(), parts.records.size()) << what;
    for (std::size_t j = 0; j < one.records.size(); ++j) {
      EXPECT_TRUE(Same(one.records[j].pnl, parts.records[j].pnl) &&
                  Same(one.records[j].ret, parts.records[j].ret) &&
                  one.records[j].holding_bars == parts.records[j].holding_bars)
          << what << " record " << j;
    }
    ASSERT_EQ(one.log.size(), parts.log.size()) << what;
    for (std::size_t j = 0; j < one.log.size(); ++j) {
      const SignalTrade &x = one.log[j], &y = parts.log[j];
      EXPECT_TRUE(x.entry_bar == y.entry_bar && x.exit_bar == y.exit_bar && x.reason == y.reason &&
                  Same(x.pnl, y.pnl) && Same(x.size, y.size) &&
                  Same(x.entry_price, y.entry_price) && Same(x.exit_fees, y.exit_fees))
          << what << " log " << j;
    }
    const Metrics ma = acc_one.Finish(), mb = acc_parts.Finish();
    for (const MetricField& f : MetricFields())
      EXPECT_TRUE(Same(MetricValue(ma, f), MetricValue(mb, f))) << what << " " << f.name;
  }
}

TEST(SignalSimInvariants, RejectsBadInputs) {
  SignalSimResult r;
  std::vector<double> p = {1, 2};
  std::vector<std::uint8_t> s2 = {0, 0}, s1 = {0};
  EXPECT_FALSE(SimulateSignals(p, s1, s2, {}, &r).ok());
  std::vector<double> eq(1);
  EXPECT_FALSE(SimulateSignals(p, s2, s2, {}, &r, eq).ok());
  for (SignalSimOptions o : {SignalSimOptions{.init_cash = 0}, SignalSimOptions{.fees = -0.1},
                             SignalSimOptions{.fixed_fees = kNaN},
                             SignalSimOptions{.slippage = 1.0}, SignalSimOptions{.sl_stop = -0.1},
                             SignalSimOptions{.tp_stop = -0.1}, SignalSimOptions{.tsl_stop = kInf},
                             SignalSimOptions{.direction = static_cast<SignalDirection>(7)}}) {
    EXPECT_FALSE(ValidateSignalSimOptions(o).ok());
    EXPECT_FALSE(SimulateSignals(p, s2, s2, o, &r).ok());
  }
  EXPECT_TRUE(ValidateSignalSimOptions({}).ok());
  // Short signals: as long as price, and only with direction both.
  const SignalSimOptions both{.direction = SignalDirection::kBoth};
  EXPECT_FALSE(
      SimulateSignals({.price = p, .entries = s2, .exits = s2, .short_entries = s1}, both, &r)
          .ok());
  EXPECT_FALSE(SimulateSignals({.price = p, .entries = s2, .exits = s2, .short_exits = s2},
                               SignalSimOptions{.direction = SignalDirection::kShortOnly}, &r)
                   .ok());
  EXPECT_TRUE(
      SimulateSignals({.price = p, .entries = s2, .exits = s2, .short_exits = s2}, both, &r).ok());
}

}  // namespace
}  // namespace qraft::engines
