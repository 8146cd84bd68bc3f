// Cross-check against backtrader (scripts/peers/precise_golden.py, testdata/peers_golden.json):
// three simple bar strategies on AAPL daily bars, 2013-2018, with market, limit and stop orders
// and a 0.1% commission. Under the same rules (orders decided at a close fill on the next bar:
// market at the open, a buy limit at the open if it gaps through, else at the limit; a sell stop
// at the gapped open, else at the stop) the fills and the final equity are backtrader's, to the
// cent and below. NautilusTrader's differing rules (market fills at the signal bar's close,
// limits and stops always at their level) are recorded in the JSON and in docs/precise.md.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qraft/engines/precise/engine.h"

namespace qraft::precise {
namespace {

struct Aapl {
  std::vector<Timestamp> date;
  std::vector<double> open, high, low, close, volume;
};

Aapl Load() {
  Aapl a;
  std::ifstream in("src/qraft/engines/precise/testdata/aapl_daily.csv");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    std::vector<std::string> v;
    while (std::getline(row, cell, ','))
      v.push_back(cell);
    a.date.push_back(DateTimestamp(std::stoi(v[0].substr(0, 4)), std::stoi(v[0].substr(5, 2)),
                                   std::stoi(v[0].substr(8, 2))));
    a.open.push_back(std::stod(v[1]));
    a.high.push_back(std::stod(v[2]));
    a.low.push_back(std::stod(v[3]));
    a.close.push_back(std::stod(v[4]));
    a.volume.push_back(std::stod(v[5]));
  }
  return a;
}

// The golden script's strategies, on the engine's Strategy interface.
class Golden : public Strategy {
 public:
  Golden(const Aapl& a, std::string kind) : a_(a), kind_(std::move(kind)) {}

  void OnBar(std::size_t t, Engine& e) override {
    const Quantity q = e.account().position(0).quantity;
    if (stop_ != 0 && e.order(stop_).status == OrderStatus::kFilled) stop_ = 0;
    // A stop protects each entry from the bar after its fill.
    if (kind_ == "stop_exit" && q > 0 && stop_ == 0) {
      const PriceTicks p4 = e.order(entry_).request.type == OrderType::kMarket
                                ? std::llround(e.order(entry_).avg_price * 1e4)
                                : 0;
      const PriceTicks cents = (p4 * 95 + 5000) / 10000;  // half up, to the cent
      stop_ = e.Submit(OrderRequest{.side = Side::kSell,
                                    .type = OrderType::kStopMarket,
                                    .quantity = q,
                                    .stop = cents * 100,
                                    .reduce_only = true});
    }
    if (t < 30) return;
    const double f0 = Sma(t, 10), s0 = Sma(t, 30), f1 = Sma(t - 1, 10), s1 = Sma(t - 1, 30);
    if (f0 > s0 && f1 <= s1 && q == 0 && !pending_) {
      const auto n = static_cast<Quantity>(std::floor(0.95 * e.account().cash() / a_.close[t]));
      OrderRequest o{.side = Side::kBuy, .quantity = n};
      if (kind_ == "limit_entry") {
        const PriceTicks c4 = std::llround(a_.close[t] * 1e4);
        o.type = OrderType::kLimit;
        o.tif = TimeInForce::kDay;          // the next bar only
        o.limit = (c4 * 99 / 10000) * 100;  // floor to the cent, in ticks of 0.0001
      }
      if (n > 0) {
        entry_ = e.Submit(o);
        pending_ = true;
      }
    } else if (f0 < s0 && f1 >= s1 && q > 0) {
      if (stop_ != 0) e.Cancel(stop_);
      stop_ = 0;
      e.Submit(OrderRequest{.side = Side::kSell, .quantity = q});
    }
  }
  void OnFill(const Fill& f, Engine&) override {
    if (f.order == entry_) pending_ = false;
  }
  void OnOrderDone(const Order& o, Engine&) override {
    if (o.id == entry_) pending_ = false;
    if (o.id == stop_) stop_ = 0;
  }

 private:
  double Sma(std::size_t t, std::size_t n) const {
    double s = 0;
    for (std::size_t k = t + 1 - n; k <= t; ++k)
      s += a_.close[k];
    return s / static_cast<double>(n);
  }
  const Aapl& a_;
  std::string kind_;
  OrderId entry_ = 0, stop_ = 0;
  bool pending_ = false;
};

TEST(Peers, FillsAndEquityEqualBacktrader) {
  const Aapl a = Load();
  ASSERT_EQ(a.date.size(), 1259u);
  std::ifstream in("src/qraft/engines/precise/testdata/peers_golden.json");
  const nlohmann::json golden = nlohmann::json::parse(in)["results"]["backtrader"];
  for (const char* kind : {"market_sma", "limit_entry", "stop_exit"}) {
    SCOPED_TRACE(kind);
    EngineConfig c;
    c.calendar = a.date;
    c.instruments = {Instrument{.symbol = "AAPL", .tick_size = 0.0001}};
    c.bars = {BarSeries{
        .open = a.open, .high = a.high, .low = a.low, .close = a.close, .volume = a.volume}};
    c.account.initial_cash = 100'000;
    c.fees = WithOverrides(FeeSchedule{}, 10.0, std::nullopt, std::nullopt);
    auto engine = Engine::Create(std::move(c));
    ASSERT_TRUE(engine.ok());
    Golden strategy(a, kind);
    ASSERT_TRUE((*engine)->Run(strategy).ok());
    const auto& fills = (*engine)->fills();
    const nlohmann::json& want = golden[kind]["fills"];
    ASSERT_EQ(fills.size(), want.size());
    for (std::size_t k = 0; k < fills.size(); ++k) {
      const Fill& f = fills[k];
      const nlohmann::json& w = want[k];
      EXPECT_EQ(FormatDate(f.time), w["date"].get<std::string>()) << k;
      EXPECT_EQ(f.side == Side::kBuy ? "buy" : "sell", w["side"].get<std::string>()) << k;
      EXPECT_EQ(f.quantity, w["quantity"].get<Quantity>()) << k;
      EXPECT_NEAR(f.price, w["price"].get<double>(), 1e-9) << k;
      EXPECT_NEAR(f.commission, w["commission"].get<double>(), 1e-9) << k;
    }
    EXPECT_NEAR((*engine)->series().equity.back(), golden[kind]["final_equity"].get<double>(),
                1e-6);
  }
}

}  // namespace
}  // namespace qraft::precise
