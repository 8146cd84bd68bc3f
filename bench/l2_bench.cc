// Times L2 order-book replay (engines/precise/order_book.h) on hftbacktest's Binance captures
// (../shared/data/hftbacktest-l2), one thread. Prints one JSON line.
//
//   l2_bench [--data DIR] [--repeat R] [--window-log2 K] [--baseline 0|1]
//
// Every Binance stream in DIR is read once (l2_io.h; a day's two files are one stream, the 2023
// spot capture, which has no snapshot, starts from an empty book), then the whole set of events
// is replayed R times, each stream into a fresh OrderBook: book events (kDelta, kSnapshot, kClear)
// update the book, trades and quotes pass through Apply untouched, and at each message boundary
// (kL2Last) the best bid and ask are read, as a strategy would. updates_per_s = book events /
// time of one pass over all streams (best and median of R, after one untimed pass). parse_s is
// the one-off reading (gunzip + JSON + fixed point). With --baseline 1 the same replay runs on a
// std::map book for comparison (map_updates_per_s). K is the book's dense window (default 16).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qraft/data/io/l2_io.h"
#include "qraft/engines/precise/book_run.h"
#include "qraft/engines/precise/order_book.h"

namespace {

namespace fs = std::filesystem;
using namespace qraft;
using data::io::L2Event;
using data::io::L2Kind;
using Clock = std::chrono::steady_clock;

struct StreamSpec {
  const char* name;
  std::vector<const char*> files;
  double tick, size;
  bool without_snapshot = false;
};

// Binance instruments' ticks; quantities at the asset's precision (spot books hold quantities
// finer than the order step).
const std::vector<StreamSpec>& Specs() {
  static const std::vector<StreamSpec> specs = {
      {"usdm_btcusdt_2023",
       {"usdm/btcusdt_20230404.dat.gz", "usdm/btcusdt_20230405.dat.gz"},
       0.1,
       0.001},
      {"usdm_btcusdt_0718", {"usdm/btcusdt_20240718.gz", "usdm/btcusdt_20240719.gz"}, 0.1, 0.001},
      {"usdm_ethusdt_0718", {"usdm/ethusdt_20240718.gz", "usdm/ethusdt_20240719.gz"}, 0.01, 0.001},
      {"usdm_btcusdt_0808", {"usdm/btcusdt_20240808.gz"}, 0.1, 0.001},
      {"usdm_ethusdt_0808", {"usdm/ethusdt_20240808.gz"}, 0.01, 0.001},
      {"cm_btcusd_perp", {"cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"}, 0.1, 1},
      {"cm_ethusd_perp", {"cm/ethusd_perp_20240808.gz", "cm/ethusd_perp_20240809.gz"}, 0.01, 1},
      {"spot_btcusdt", {"spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"}, 0.01, 1e-8},
      {"spot_ethusdt", {"spot/ethusdt_20240808.gz", "spot/ethusdt_20240809.gz"}, 0.01, 1e-8},
      {"spot_btcusdt_2023", {"spot/btcusdt_20230405.dat.gz"}, 0.01, 1e-8, true},
  };
  return specs;
}

struct Stream {
  std::string name;
  std::vector<L2Event> events;
  std::size_t updates = 0;  // book events
  std::size_t bytes = 0;    // compressed input
  precise::Instrument ins;  // tick and size increment of the stream
};

bool IsBookEvent(const L2Event& e) {
  return e.kind == L2Kind::kDelta || e.kind == L2Kind::kSnapshot || e.kind == L2Kind::kClear;
}

int g_window_log2 = 16;

std::int64_t Replay(const Stream& s) {
  precise::OrderBook book(g_window_log2);
  std::int64_t checksum = 0;
  for (const L2Event& e : s.events) {
    book.Apply(e);
    if (e.flags & data::io::kL2Last) checksum += book.BestBid() + book.BestAsk();
  }
  return checksum;
}

// The obvious alternative, for scale: one ordered map per side.
std::int64_t ReplayMap(const Stream& s) {
  std::map<std::int64_t, std::int64_t, std::greater<>> bids;
  std::map<std::int64_t, std::int64_t> asks;
  std::int64_t checksum = 0;
  auto set = [](auto& side, const L2Event& e) {
    if (e.qty > 0) {
      side[e.price] = e.qty;
    } else {
      side.erase(e.price);
    }
  };
  for (const L2Event& e : s.events) {
    if (e.kind == L2Kind::kClear) {
      bids.clear();
      asks.clear();
    } else if (e.kind == L2Kind::kDelta || e.kind == L2Kind::kSnapshot) {
      if (e.side == data::io::L2Side::kBid) {
        set(bids, e);
      } else {
        set(asks, e);
      }
    }
    if (e.flags & data::io::kL2Last) {
      checksum += (bids.empty() ? precise::kNoPrice : bids.begin()->first) +
                  (asks.empty() ? precise::kNoPrice : asks.begin()->first);
    }
  }
  return checksum;
}

// The book engine with the quoting strategy of `qraft replay` (5 ms order latency, 2 ms data
// latency, risk-averse queues) over one stream: every event is matched against the resting
// quotes. Returns fills + orders (the checksum); *fills receives the fill count.
std::int64_t Quote(const Stream& s, const precise::Instrument& ins, std::size_t* fills) {
  precise::BookRunOptions o;
  o.quote = {.size = 10, .max_position = 50, .offset = 0, .requote = 100'000'000};
  o.latency.insert = o.latency.cancel = 5'000'000;
  o.latency.market_data = 2'000'000;
  o.account.type = precise::AccountConfig::Type::kMargin;
  o.account.initial_cash = 1e9;
  auto run = precise::RunQuoting(s.events, ins, o);
  if (!run.ok()) {
    std::fprintf(stderr, "l2_bench: %s\n", run.status().ToString().c_str());
    std::exit(1);
  }
  *fills = run->fills.size();
  return static_cast<std::int64_t>(run->fills.size() + run->orders.size());
}

// Best-first seconds of `repeat` timed calls of pass() after one untimed call (which warms the
// caches and the allocator); *checksum = the last pass's value.
template <class F>
std::vector<double> Time(int repeat, F pass, std::int64_t* checksum) {
  std::vector<double> secs;
  for (int r = 0; r <= repeat; ++r) {
    const auto t0 = Clock::now();
    const std::int64_t sum = pass();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r > 0) secs.push_back(dt);
    *checksum = sum;
  }
  std::sort(secs.begin(), secs.end());
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
#ifndef NDEBUG
  std::fprintf(stderr, "l2_bench: WARNING: assertions are enabled; numbers are not meaningful\n");
#endif
  fs::path dir = "../shared/data/hftbacktest-l2/examples";
  int repeat = 10;
  bool baseline = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--data") {
      dir = v;
    } else if (k == "--repeat") {
      repeat = std::max(1, std::stoi(v));
    } else if (k == "--window-log2") {
      g_window_log2 = std::stoi(v);
    } else if (k == "--baseline") {
      baseline = v != "0";
    } else {
      std::fprintf(
          stderr, "usage: l2_bench [--data DIR] [--repeat R] [--window-log2 K] [--baseline 0|1]\n");
      return 2;
    }
  }

  std::vector<Stream> streams;
  const auto p0 = Clock::now();
  for (const StreamSpec& spec : Specs()) {
    data::io::L2ReadOptions o;
    o.tick_size = spec.tick;
    o.size_increment = spec.size;
    o.start_without_snapshot = spec.without_snapshot;
    std::vector<fs::path> paths;
    Stream s;
    s.name = spec.name;
    s.ins = {.symbol = spec.name, .tick_size = spec.tick, .size_increment = spec.size};
    for (const char* f : spec.files) {
      paths.push_back(dir / f);
      std::error_code ec;
      s.bytes += static_cast<std::size_t>(fs::file_size(paths.back(), ec));
    }
    auto r = data::io::ReadBinanceCapture(paths, o);
    if (!r.ok()) {
      std::fprintf(stderr, "l2_bench: %s\n", r.status().ToString().c_str());
      return 1;
    }
    s.events = std::move(r->events);
    s.updates =
        static_cast<std::size_t>(std::count_if(s.events.begin(), s.events.end(), IsBookEvent));
    streams.push_back(std::move(s));
  }
  const double parse_s = std::chrono::duration<double>(Clock::now() - p0).count();

  std::size_t events = 0, updates = 0, bytes = 0;
  for (const Stream& s : streams) {
    events += s.events.size();
    updates += s.updates;
    bytes += s.bytes;
  }
  std::int64_t checksum = 0, map_checksum = 0;
  auto all = [&](auto replay) {
    return [&streams, replay] {
      std::int64_t sum = 0;
      for (const Stream& s : streams)
        sum += replay(s);
      return sum;
    };
  };
  const std::vector<double> secs = Time(repeat, all(Replay), &checksum);
  std::string per_stream;
  for (const Stream& s : streams) {
    std::int64_t c = 0;
    const std::vector<double> t = Time(
        repeat, [&s] { return Replay(s); }, &c);
    per_stream += fmt::format(R"({}"{}": {{"updates": {}, "updates_per_s": {:.0f}}})",
                              per_stream.empty() ? "" : ", ", s.name, s.updates,
                              static_cast<double>(s.updates) / t.front());
  }
  std::string map_part;
  if (baseline) {
    const std::vector<double> m = Time(std::max(1, repeat / 3), all(ReplayMap), &map_checksum);
    map_part = fmt::format(R"(, "map_best_s": {:.6f}, "map_updates_per_s": {:.0f}, )"
                           R"("map_checksum_equal": {})",
                           m.front(), static_cast<double>(updates) / m.front(),
                           map_checksum == checksum ? "true" : "false");
  }
  std::size_t fills = 0;
  std::int64_t engine_checksum = 0;
  const std::vector<double> engine = Time(
      repeat,
      [&] {
        std::int64_t sum = 0;
        fills = 0;
        for (const Stream& s : streams) {
          std::size_t f = 0;
          sum += Quote(s, s.ins, &f);
          fills += f;
        }
        return sum;
      },
      &engine_checksum);
  const std::string engine_part =
      fmt::format(R"(, "engine_best_s": {:.6f}, "engine_events_per_s": {:.0f}, "engine_fills": {})",
                  engine.front(), static_cast<double>(events) / engine.front(), fills);
  std::printf(
      "%s\n",
      fmt::format(
          R"({{"benchmark": "l2_replay", "streams": {}, "events": {}, "book_updates": {}, )"
          R"("repeat": {}, "window_log2": {}, "best_s": {:.6f}, "median_s": {:.6f}, "updates_per_s": {:.0f}, )"
          R"("updates_per_s_median": {:.0f}, "events_per_s": {:.0f}, "checksum": {}, )"
          R"("parse_s": {:.3f}, "parse_gz_mb_per_s": {:.1f}{}{}, "per_stream": {{{}}}}})",
          streams.size(), events, updates, repeat, g_window_log2, secs.front(),
          secs[secs.size() / 2], static_cast<double>(updates) / secs.front(),
          static_cast<double>(updates) / secs[secs.size() / 2],
          static_cast<double>(events) / secs.front(), checksum, parse_s,
          static_cast<double>(bytes) / 1e6 / parse_s, map_part, engine_part, per_stream)
          .c_str());
  return 0;
}
