// Tests of the per-symbol signal simulator (signal_sim.h):
//  * golden values (testdata/vectorbt_golden.json and vectorbt_close.csv, written by
//    scripts/peers/vectorbt_golden.py with vectorbt's Portfolio.from_signals): final value, cash,
//    position, total fees, closed-trade pnl and the sum of the equity curve within 1e-9
//    relative; order, trade and closed-trade counts exactly;
//  * hand-made cases for the conventions: conflicts, stop fills, fees, NaN prices;
//  * invariants: no signals and no fees give flat equity; cash + position x price = equity on
//    every bar; doubling fees never increases the final value; determinism; option checks.
#include "qraft/engines/signal_sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

fs::path TestData(const char* name) {
  return fs::path(__FILE__).parent_path() / "testdata" / name;
}

const json& Golden() {
  static const json kGolden = [] {
    std::ifstream in(TestData("vectorbt_golden.json"));
    EXPECT_TRUE(in.good()) << "cannot open vectorbt_golden.json";
    return json::parse(in);
  }();
  return kGolden;
}

// Column name -> closes, parsed with strtod (correctly rounded, like Python's float()).
const std::map<std::string, std::vector<double>>& Closes() {
  static const std::map<std::string, std::vector<double>> kCloses = [] {
    std::map<std::string, std::vector<double>> out;
    std::ifstream in(TestData("vectorbt_close.csv"));
    EXPECT_TRUE(in.good()) << "cannot open vectorbt_close.csv";
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
      for (const std::string& name : names) {
        std::getline(ss, cell, ',');
        out[name].push_back(std::strtod(cell.c_str(), nullptr));
      }
    }
    return out;
  }();
  return kCloses;
}

struct Case {
  std::vector<double> price;
  std::vector<std::uint8_t> entries, exits;
  SignalSimOptions options;
};

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

TEST(SignalSimInvariants, RejectsBadInputs) {
  SignalSimResult r;
  std::vector<double> p = {1, 2};
  std::vector<std::uint8_t> s2 = {0, 0}, s1 = {0};
  EXPECT_FALSE(SimulateSignals(p, s1, s2, {}, &r).ok());
  std::vector<double> eq(1);
  EXPECT_FALSE(SimulateSignals(p, s2, s2, {}, &r, eq).ok());
  for (SignalSimOptions o :
       {SignalSimOptions{.init_cash = 0}, SignalSimOptions{.fees = -0.1},
        SignalSimOptions{.fixed_fees = kNaN}, SignalSimOptions{.slippage = 1.0},
        SignalSimOptions{.sl_stop = -0.1}}) {
    EXPECT_FALSE(ValidateSignalSimOptions(o).ok());
    EXPECT_FALSE(SimulateSignals(p, s2, s2, o, &r).ok());
  }
  EXPECT_TRUE(ValidateSignalSimOptions({}).ok());
}

}  // namespace
}  // namespace qraft::engines
