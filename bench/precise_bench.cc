// Times the precise engine (engines/precise) on one long single-asset bar series, one thread:
// the market_sma strategy of scripts/peers/precise_golden.py (SMA(10) / SMA(30) of the close; on
// a cross up while flat, a market buy of floor(0.95 x cash / close) shares; on a cross down
// while long, a market sell of the position; 0.1% commission; fills at the next bar's open),
// written against the engine's Strategy interface as a backtrader or NautilusTrader user would
// write it. Prints one JSON line.
//
//   precise_bench [--csv FILE | --bars N --seed S] [--repeat R]
//
// FILE is a CSV with a header and columns time,open,high,low,close,volume (bench/
// peers_precise.py --out-csv writes the series the peers run). Without it a seeded GBM series of
// N one-minute bars is generated. Each bar is 4 price points plus one strategy decision: events
// = 5 x bars. Best and median of R runs after one untimed run; the fills and the final equity
// let the peer runs be checked against this one.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qraft/engines/precise/engine.h"

namespace {

using namespace qraft;
using namespace qraft::precise;
using Clock = std::chrono::steady_clock;

struct Series {
  std::vector<Timestamp> time;
  std::vector<double> open, high, low, close, volume;
};

Series Generate(std::size_t n, std::uint64_t seed) {
  Series s;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0, 1);
  double price = 100;
  const Timestamp start = DateTimestamp(2020, 1, 1);
  for (std::size_t t = 0; t < n; ++t) {
    const double open = price;
    const double close = open * std::exp(0.0008 * z(rng));
    const double wiggle = std::abs(0.0005 * z(rng));
    s.time.push_back(start + static_cast<Timestamp>(t) * kNanosPerMinute);
    s.open.push_back(std::round(open * 100) / 100);
    s.close.push_back(std::round(close * 100) / 100);
    s.high.push_back(std::round(std::max(open, close) * (1 + wiggle) * 100) / 100);
    s.low.push_back(std::round(std::min(open, close) * (1 - wiggle) * 100) / 100);
    s.volume.push_back(1000 + std::floor(std::abs(z(rng)) * 1000));
    price = close;
  }
  return s;
}

// time (ns since the epoch, or anything ascending), open, high, low, close, volume.
Series ReadCsv(const std::string& path) {
  Series s;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    std::vector<double> v;
    while (std::getline(row, cell, ','))
      v.push_back(std::stod(cell));
    if (v.size() < 6) continue;
    s.time.push_back(static_cast<Timestamp>(v[0]));
    s.open.push_back(v[1]);
    s.high.push_back(v[2]);
    s.low.push_back(v[3]);
    s.close.push_back(v[4]);
    s.volume.push_back(v[5]);
  }
  return s;
}

class MarketSma : public Strategy {
 public:
  explicit MarketSma(const Series& s) : s_(s) {}
  void OnBar(std::size_t t, Engine& e) override {
    fast_ += s_.close[t] - (t >= 10 ? s_.close[t - 10] : 0);
    slow_ += s_.close[t] - (t >= 30 ? s_.close[t - 30] : 0);
    if (t + 1 < 30) return;
    const double f = fast_ / 10, sl = slow_ / 30;
    const Quantity q = e.account().position(0).quantity;
    if (t >= 30) {
      if (f > sl && prev_fast_ <= prev_slow_ && q == 0 && !pending_) {
        const auto n = static_cast<Quantity>(std::floor(0.95 * e.account().cash() / s_.close[t]));
        if (n > 0) {
          e.Submit(OrderRequest{.side = Side::kBuy, .quantity = n});
          pending_ = true;
        }
      } else if (f < sl && prev_fast_ >= prev_slow_ && q > 0 && !pending_) {
        e.Submit(OrderRequest{.side = Side::kSell, .quantity = q});
        pending_ = true;
      }
    }
    prev_fast_ = f;
    prev_slow_ = sl;
  }
  void OnFill(const Fill&, Engine&) override { pending_ = false; }
  void OnOrderDone(const Order&, Engine&) override { pending_ = false; }

 private:
  const Series& s_;
  double fast_ = 0, slow_ = 0, prev_fast_ = 0, prev_slow_ = 0;
  bool pending_ = false;
};

struct RunResult {
  double seconds = 0, equity = 0;
  std::size_t fills = 0;
};

RunResult RunOnce(const Series& s) {
  EngineConfig c;
  c.calendar = s.time;
  c.bar_duration = s.time.size() > 1 ? s.time[1] - s.time[0] : kNanosPerDay;
  c.instruments = {Instrument{.symbol = "X"}};
  c.bars = {BarSeries{
      .open = s.open, .high = s.high, .low = s.low, .close = s.close, .volume = s.volume}};
  c.account.initial_cash = 100'000;
  c.fees = WithOverrides(FeeSchedule{}, 10.0, std::nullopt, std::nullopt);  // 10 bps
  const auto t0 = Clock::now();
  auto engine = Engine::Create(std::move(c));
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    std::exit(1);
  }
  MarketSma strategy(s);
  if (!(*engine)->Run(strategy).ok()) std::exit(1);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return {secs, (*engine)->series().equity.back(), (*engine)->fills().size()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string csv;
  std::size_t bars = 5'000'000, repeat = 5;
  std::uint64_t seed = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--csv")
      csv = v;
    else if (k == "--bars")
      bars = std::stoul(v);
    else if (k == "--seed")
      seed = std::stoull(v);
    else if (k == "--repeat")
      repeat = std::stoul(v);
  }
  const Series s = csv.empty() ? Generate(bars, seed) : ReadCsv(csv);
  RunOnce(s);  // warm-up
  std::vector<double> secs;
  RunResult last;
  for (std::size_t r = 0; r < repeat; ++r) {
    last = RunOnce(s);
    secs.push_back(last.seconds);
  }
  std::sort(secs.begin(), secs.end());
  const double n = static_cast<double>(s.time.size());
  std::printf(
      "%s\n",
      fmt::format(
          R"({{"bench": "precise_bars", "bars": {}, "best_s": {:.6f}, "median_s": {:.6f}, )"
          R"("bars_per_s": {:.0f}, "events_per_s": {:.0f}, "fills": {}, "final_equity": {:.4f}}})",
          s.time.size(), secs.front(), secs[secs.size() / 2], n / secs.front(),
          5 * n / secs.front(), last.fills, last.equity)
          .c_str());
  return 0;
}
