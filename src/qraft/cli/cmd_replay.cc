// qraft replay: a quoting strategy on order-book data (L2 deltas, trades, quotes) through the
// precise engine's book engine (engines/precise/book_run.h).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/file_io.h"
#include "qraft/engines/precise/book_run.h"

namespace qraft::cli {
namespace {

struct Args {
  std::vector<std::string> files;
  std::string format = "binance", queue = "risk-averse", gap = "fail", out;
  double tick = 0, size = 0, quote_size = 0, max_position = 0, requote_ms = 100;
  double latency_ms = 0, cancel_ms = -1, data_latency_ms = 0;
  double maker_bps = 0, taker_bps = 0, cash = 100'000, margin = 0;
  std::int64_t offset = 0;
  bool start_without_snapshot = false, json = false;
};

// `value` (units) as whole size increments; InvalidArgument naming `option` when off the grid.
Result<precise::Quantity> Increments(double value, double increment, std::string_view option) {
  const double q = value / increment;
  if (!(q >= 0) || std::abs(q - std::round(q)) > 1e-6) {
    return Status::InvalidArgument(fmt::format(
        "{}: {} is not a whole number of size increments ({})", option, value, increment));
  }
  return static_cast<precise::Quantity>(std::llround(q));
}

int Replay(const Args& a) {
  data::io::L2ReadOptions read;
  read.tick_size = a.tick;
  read.size_increment = a.size;
  read.start_without_snapshot = a.start_without_snapshot;
  if (a.gap == "mark") {
    read.on_gap = data::io::GapPolicy::kMark;
  } else if (a.gap == "resync") {
    read.on_gap = data::io::GapPolicy::kResync;
  } else if (a.gap != "fail") {
    return Fail(
        Status::InvalidArgument(fmt::format("--gap: '{}': expected fail, mark or resync", a.gap)));
  }
  auto format = data::io::ParseL2Format(a.format);
  if (!format.ok()) return Fail(format.status());
  std::vector<std::filesystem::path> paths(a.files.begin(), a.files.end());
  auto l2 = data::io::ReadL2(*format, paths, read);
  if (!l2.ok()) return Fail(l2.status());

  precise::Instrument ins{
      .symbol = l2->stats.symbol, .tick_size = a.tick, .size_increment = a.size};
  precise::BookRunOptions o;
  auto queue = precise::QueueModel::Parse(a.queue);
  if (!queue.ok()) return Fail(queue.status());
  o.queue = *queue;
  auto size = Increments(a.quote_size > 0 ? a.quote_size : a.size, a.size, "--quote-size");
  if (!size.ok()) return Fail(size.status());
  auto max_position = Increments(a.max_position > 0 ? a.max_position : 5 * ins.Units(*size), a.size,
                                 "--max-position");
  if (!max_position.ok()) return Fail(max_position.status());
  o.quote = {.size = *size,
             .max_position = *max_position,
             .offset = a.offset,
             .requote = static_cast<Timestamp>(a.requote_ms * 1e6)};
  o.latency.insert = static_cast<Timestamp>(a.latency_ms * 1e6);
  o.latency.cancel = static_cast<Timestamp>((a.cancel_ms >= 0 ? a.cancel_ms : a.latency_ms) * 1e6);
  o.latency.market_data = static_cast<Timestamp>(a.data_latency_ms * 1e6);
  o.fees.maker_taker = true;
  o.fees.maker = a.maker_bps * 1e-4;
  o.fees.taker = a.taker_bps * 1e-4;
  o.account.initial_cash = a.cash;
  if (a.margin > 0) {
    o.account.type = precise::AccountConfig::Type::kMargin;
    o.account.margin = a.margin;
  } else {
    o.account.allow_short = true;
  }
  auto run = precise::RunQuoting(l2->events, ins, o);
  if (!run.ok()) return Fail(run.status());
  if (!a.out.empty()) {
    if (Status st = precise::WriteBookRun(a.out, *run); !st.ok()) return Fail(st);
  }

  const precise::BookRunSummary& s = run->summary;
  const double pnl = s.final_equity - s.initial_equity;
  const nlohmann::json j = {
      {"symbol", ins.symbol},
      {"format", a.format},
      {"queue", a.queue},
      {"messages", s.messages},
      {"events", s.events},
      {"orders", s.orders},
      {"fills", s.fills},
      {"rejected", s.rejected},
      {"cancelled", s.cancelled},
      {"late_cancels", s.late_cancels},
      {"maker_units", s.maker_units},
      {"taker_units", s.taker_units},
      {"traded", s.traded},
      {"fees", s.fees},
      {"initial_equity", s.initial_equity},
      {"final_equity", s.final_equity},
      {"pnl", pnl},
      {"final_position",
       run->samples.position.empty() ? 0.0 : ins.Units(run->samples.position.back())}};
  if (!a.out.empty()) {
    if (Status st =
            WriteFileAtomically(std::filesystem::path(a.out) / "summary.json", j.dump(2) + "\n");
        !st.ok())
      return Fail(st);
  }
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "%s: %zu messages, %zu orders, %zu fills (%g maker, %g taker units), %zu cancelled, %zu "
        "rejected\ntraded %.2f, fees %.4f, pnl %+.4f (queue %s)\n",
        ins.symbol.c_str(), s.messages, s.orders, s.fills, s.maker_units, s.taker_units,
        s.cancelled, s.rejected, s.traded, s.fees, pnl, a.queue.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterReplay(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Replay order-book data (L2 deltas, trades, quotes) with a quoting strategy on the precise "
      "book engine: queue position, latency and maker/taker fees (docs/precise.md)");
  cmd->add_option("files", a->files, "Data files (binance: one or more captures in order)")
      ->required();
  cmd->add_option("--format", a->format, "binance | tardis | tardis-snapshot | binance-csv");
  cmd->add_option("--tick", a->tick, "Price tick of the instrument (e.g. 0.1)")->required();
  cmd->add_option("--size", a->size, "Size increment of the instrument (e.g. 0.001)")->required();
  cmd->add_option("--gap", a->gap, "On a sequence gap: fail | mark | resync (default fail)");
  cmd->add_flag("--start-without-snapshot", a->start_without_snapshot,
                "Binance: start an empty book from the first diff");
  cmd->add_option("--quote-size", a->quote_size, "Each quote, in units (default one increment)");
  cmd->add_option("--max-position", a->max_position,
                  "Largest |position| in units (default 5 quotes)");
  cmd->add_option("--offset", a->offset, "Ticks behind the best (default 0: join it)");
  cmd->add_option("--requote-ms", a->requote_ms, "Least time between two looks (default 100)");
  cmd->add_option("--queue", a->queue, "risk-averse | power:N (default risk-averse)");
  cmd->add_option("--latency-ms", a->latency_ms, "Order insert latency (ms)");
  cmd->add_option("--cancel-ms", a->cancel_ms, "Cancel latency (ms; default the insert latency)");
  cmd->add_option("--data-latency-ms", a->data_latency_ms, "Market-data latency (ms)");
  cmd->add_option("--maker-bps", a->maker_bps, "Maker fee, bps (negative: a rebate)");
  cmd->add_option("--taker-bps", a->taker_bps, "Taker fee, bps");
  cmd->add_option("--cash", a->cash, "Initial cash (default 100000)");
  cmd->add_option("--margin", a->margin,
                  "Margin account with this initial margin fraction (default: cash account "
                  "that may short)");
  cmd->add_option("--out", a->out,
                  "Write orders, fills, equity (.csv, .parquet) and summary.json here");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a, exit_code] { *exit_code = Replay(*a); });
}

}  // namespace qraft::cli
