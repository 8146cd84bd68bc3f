// Order-book back-tests that need no code: a quoting strategy (the canonical market-making
// experiment: how much of the spread does a passive order earn once queue position, latency and
// fees are modelled) run on the book engine, and the files it writes. `qraft replay` is a thin
// shell over RunQuoting and WriteBookRun.
//
// QuoteStrategy keeps at most one bid and one ask resting. At most every `requote` of data time
// it reads its (delayed) view of the book and quotes `offset` ticks behind each best; a quote
// already resting at that price keeps its queue position, one at another price is cancelled and
// replaced. A side is not quoted while one more fill there would take |position| past
// `max_position`. It knows only what has reached it: the position it tracks is the sum of the
// fills delivered to it, and an order counts as live until its end or last fill is delivered.
//
// Thread-safety: pure functions of their inputs; the strategy belongs to one engine.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/data/io/l2_io.h"
#include "qraft/engines/precise/book_engine.h"

namespace qraft::precise {

struct QuoteParams {
  Quantity size = 1;                    ///< each quote, increments (whole lots)
  Quantity max_position = 5;            ///< |position| limit, increments
  PriceTicks offset = 0;                ///< ticks behind the best (0: join it)
  Timestamp requote = 100 * 1'000'000;  ///< least data time between two looks, ns
};

class QuoteStrategy : public BookStrategy {
 public:
  explicit QuoteStrategy(QuoteParams params) : params_(params) {}
  void OnMarket(const MarketView& view, BookEngine& engine) override;
  void OnFill(const Fill& fill, BookEngine& engine) override;
  void OnOrderDone(const Order& order, BookEngine& engine) override;

 private:
  struct Quote {
    OrderId id = 0;  // 0: none live
    PriceTicks price = kNoPrice;
    Quantity left = 0;
  };
  void Requote(BookEngine& engine, Side side, PriceTicks price, bool allowed);

  QuoteParams params_;
  Quote quotes_[2];
  Quantity position_ = 0;
  Timestamp next_look_ = 0;
};

struct BookRunOptions {
  QuoteParams quote;
  QueueModel queue = QueueModel::RiskAverse();
  LatencyModel latency;
  FeeSchedule fees;
  AccountConfig account;
  Timestamp sample_interval = kNanosPerSecond;
};

struct BookRun {
  Instrument instrument;
  BookRunSummary summary;
  std::vector<Order> orders;
  std::vector<Fill> fills;
  BookSamples samples;
};

/// Runs QuoteStrategy on `events` (one instrument, receive order). Errors: BookEngine::Create's.
Result<BookRun> RunQuoting(std::span<const data::io::L2Event> events, const Instrument& instrument,
                           const BookRunOptions& options);

/// Writes orders, fills and the equity samples (equity.csv: time, equity, mark, position) as
/// CSV and Parquet into `dir` (created when missing), each file published atomically.
Status WriteBookRun(const std::filesystem::path& dir, const BookRun& run);

}  // namespace qraft::precise
