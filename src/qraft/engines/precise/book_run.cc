#include "qraft/engines/precise/book_run.h"

#include <fmt/format.h>

#include <system_error>

#include "qraft/engines/precise/run.h"

namespace qraft::precise {

// ---- QuoteStrategy ----

void QuoteStrategy::OnMarket(const MarketView& view, BookEngine& engine) {
  if (view.time < next_look_) return;
  const PriceTicks bid = view.book->BestBid(), ask = view.book->BestAsk();
  if (bid == kNoPrice || ask == kNoPrice) return;
  next_look_ = view.time + params_.requote;
  Requote(engine, Side::kBuy, bid - params_.offset,
          position_ + params_.size <= params_.max_position);
  Requote(engine, Side::kSell, ask + params_.offset,
          position_ - params_.size >= -params_.max_position);
}

void QuoteStrategy::Requote(BookEngine& engine, Side side, PriceTicks price, bool allowed) {
  Quote& q = quotes_[side == Side::kBuy ? 0 : 1];
  if (q.id != 0) {
    if (allowed && q.price == price) return;  // keep the place in the queue
    engine.Cancel(q.id);
    q = {};
  }
  if (!allowed || price <= 0) return;
  q.id = engine.Submit({.side = side,
                        .type = OrderType::kLimit,
                        .tif = TimeInForce::kGtc,
                        .quantity = params_.size,
                        .limit = price});
  q.price = price;
  q.left = params_.size;
}

void QuoteStrategy::OnFill(const Fill& fill, BookEngine& engine) {
  (void)engine;
  position_ += fill.side == Side::kBuy ? fill.quantity : -fill.quantity;
  for (Quote& q : quotes_) {
    if (q.id == fill.order && (q.left -= fill.quantity) <= 0) q = {};
  }
}

void QuoteStrategy::OnOrderDone(const Order& order, BookEngine& engine) {
  (void)engine;
  for (Quote& q : quotes_) {
    if (q.id == order.id) q = {};
  }
}

// ---- runs ----

Result<BookRun> RunQuoting(std::span<const data::io::L2Event> events, const Instrument& instrument,
                           const BookRunOptions& options) {
  BookEngineConfig config;
  config.instrument = instrument;
  config.events = events;
  config.account = options.account;
  config.latency = options.latency;
  config.fees = options.fees;
  config.queue = options.queue;
  config.sample_interval = options.sample_interval;
  if (options.quote.size <= 0 || options.quote.size % instrument.lot != 0 ||
      options.quote.max_position < 0 || options.quote.offset < 0 || options.quote.requote < 0) {
    return Status::InvalidArgument(
        "quoting: size must be a positive whole number of lots; max_position, offset and "
        "requote >= 0");
  }
  QRAFT_ASSIGN_OR_RETURN(std::unique_ptr<BookEngine> engine, BookEngine::Create(config));
  QuoteStrategy strategy(options.quote);
  QRAFT_RETURN_NOT_OK(engine->Run(strategy));
  return BookRun{.instrument = instrument,
                 .summary = engine->Summary(),
                 .orders = engine->orders(),
                 .fills = engine->fills(),
                 .samples = engine->samples()};
}

Status WriteBookRun(const std::filesystem::path& dir, const BookRun& run) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("{}: {}", dir.string(), ec.message()));
  PreciseResult logs;
  logs.symbols = {run.instrument.symbol};
  logs.ticks = {run.instrument.tick_size};
  logs.units = {run.instrument.size_increment};
  logs.orders = run.orders;
  logs.fill_log = run.fills;
  QRAFT_RETURN_NOT_OK(WritePreciseLogs(dir, logs, /*daily=*/false));
  const BookSamples& s = run.samples;
  std::vector<std::string> time;
  std::vector<double> position;
  for (std::size_t i = 0; i < s.time.size(); ++i) {
    time.push_back(FormatTimestamp(s.time[i], false));
    position.push_back(run.instrument.Units(s.position[i]));
  }
  return WriteTableFiles(
      dir, "equity",
      {{"time", time}, {"equity", s.equity}, {"mark", s.mark}, {"position", position}});
}

}  // namespace qraft::precise
