// Order-book (L2, market-by-price) data: readers that turn exchange captures and vendor CSVs into
// one flat vector of fixed-point events, ready to replay into precise::OrderBook.
//
// Formats (docs/data.md, "Order-book data (L2)", has the long form):
//   Binance websocket capture (hftbacktest's collector; .gz or plain): one message a line,
//     `<local receive time> <JSON>`; combined-stream messages {"stream":..,"data":{..}} or bare
//     stream payloads: depthUpdate diffs, bookTicker, trade / aggTrade, and REST depth snapshots
//     {"lastUpdateId":..,"bids":..,"asks":..}; other streams (markPrice, partial books
//     <symbol>@depth5/10/20, ...) are counted and skipped. The receive time is ns, but µs in
//     hftbacktest's 2023 files (and ms in some older collectors): the unit is told from the
//     magnitude of each file's first stamp.
//   Tardis incremental_book_L2 CSV: exchange,symbol,timestamp,local_timestamp,is_snapshot,side,
//     price,amount (µs); rows sharing a local_timestamp are one message; a run of is_snapshot=true
//     rows after updates (or at the start) is a fresh snapshot: the book is cleared first.
//   Tardis book_snapshot_N CSV: exchange,symbol,timestamp,local_timestamp, then asks[i].price,
//     asks[i].amount, bids[i].price, bids[i].amount for i < N (µs); every row is a whole top-N
//     book.
//   Binance depth CSV pair (NautilusTrader's test format): symbol,timestamp,first_update_id,
//     last_update_id,side,update_type,price,qty,pu (ms); a "snap" file and an "update" file whose
//     rows, grouped by (first_update_id, last_update_id), are the diff messages.
//
// Fixed point: prices are whole ticks (price / tick_size) and quantities whole size increments
// (qty / size_increment), computed exactly from the decimal text (no binary floating point on the
// way): a value that is not a whole number of steps is an error, never silently rounded.
//
// Binance sequencing (the exchange's "how to manage a local order book" rules, applied by every
// Binance reader here; U/u = first/final update id of a diff, pu = the previous diff's u, L = the
// snapshot's lastUpdateId):
//   * Diffs received before a snapshot are buffered (30 s of receive time), because the REST
//     snapshot arrives after the websocket diffs that straddle it. A snapshot clears the book,
//     loads its levels, then replays the buffered diffs that follow it; their local_ts becomes the
//     snapshot's receive time (the earliest a live client could have had the merged book), and
//     they carry kL2Replayed.
//   * Stale diffs are dropped: USDⓈ-M/COIN-M (diffs with pu) u < L, spot u <= L.
//   * The first applied diff must straddle the snapshot (futures U <= L <= u, spot U <= L+1 <= u);
//     every later one must follow its predecessor (futures pu == previous u, spot U == previous
//     u + 1). Anything else is a gap: updates were lost, the book may be wrong from here on.
//   * Gaps follow L2ReadOptions::on_gap: kFail (default) returns a DataError naming the file, line
//     and ids; kMark applies the diff anyway and flags its first event kL2Gap; kResync emits a
//     kClear (flagged kL2Gap) and drops diffs until the next snapshot re-synchronises the book.
//   * Diffs with no snapshot to build on are counted (L2Stats::diffs_without_book) and dropped,
//     unless `start_without_snapshot`: then the first diff starts an empty book (levels never
//     updated stay missing; the book is only trustworthy near the top, and may cross).
//   On hftbacktest's Binance captures these rules find no gap, also across the day boundary when
//   a day's files are read together (e.g. usdm/btcusdt_20240718.gz + _20240719.gz).
//
// Thread-safety: the readers are pure functions of their inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"

namespace qraft::data::io {

enum class L2Kind : std::uint8_t {
  kDelta = 0,     ///< set the level (side, price) to qty; qty 0 removes it
  kSnapshot = 1,  ///< one level of a full book (after a kClear); applied like kDelta
  kClear = 2,     ///< empty both sides of the book (price, qty 0)
  kTrade = 3,     ///< a trade of qty at price; side = the aggressor (kBid: a buyer lifted an ask)
  kQuote = 4,  ///< best bid (side kBid) or best ask (kAsk) from a BBO stream; the book ignores it
};

/// Book side; static_cast to precise::Side gives kBuy / kSell (same numbering).
enum class L2Side : std::uint8_t { kBid = 0, kAsk = 1, kNone = 2 };

/// L2Event::flags bits.
inline constexpr std::uint8_t kL2Last = 1;      ///< last event of a message: the book is consistent
inline constexpr std::uint8_t kL2Gap = 2;       ///< a sequence gap precedes this message
inline constexpr std::uint8_t kL2Replayed = 4;  ///< a buffered diff replayed after its snapshot

/// One book change, trade or quote; 48 bytes, stored flat.
struct L2Event {
  Timestamp exchange_ts = kNoTimestamp;  ///< ns UTC; kNoTimestamp when the message has none
  Timestamp local_ts = 0;                ///< ns UTC, when the capture received it
  std::int64_t price = 0;                ///< ticks (price / tick_size)
  std::int64_t qty = 0;                  ///< size increments (qty / size_increment)
  /// Exchange sequence number: Binance final update id u (diffs, bookTicker), lastUpdateId
  /// (snapshot levels and their kClear), trade or aggregate-trade id; -1 where there is none.
  std::int64_t seq = -1;
  L2Kind kind = L2Kind::kDelta;
  L2Side side = L2Side::kNone;
  std::uint8_t flags = 0;  ///< kL2Last | kL2Gap | kL2Replayed
};

enum class GapPolicy : std::uint8_t { kFail, kMark, kResync };

struct L2ReadOptions {
  double tick_size = 0;       ///< price step; required (> 0)
  double size_increment = 0;  ///< quantity step; required (> 0)
  GapPolicy on_gap = GapPolicy::kFail;
  bool start_without_snapshot = false;  ///< Binance: diffs before any snapshot start an empty book
  bool trades = true;                   ///< emit kTrade events
  bool quotes = true;                   ///< emit kQuote events (bookTicker)
};

/// What a reader saw and did; counts are messages (or rows for CSVs), not events.
struct L2Stats {
  std::string symbol;                  ///< as the data spells it ("BTCUSDT", "BTC-PERPETUAL")
  std::size_t lines = 0;               ///< input lines read (without CSV headers)
  std::size_t snapshots = 0;           ///< snapshot messages (Tardis: snapshot runs / rows)
  std::size_t diffs = 0;               ///< depth diff messages
  std::size_t diffs_applied = 0;       ///< diffs emitted (replayed ones included)
  std::size_t diffs_stale = 0;         ///< diffs dropped as older than their snapshot
  std::size_t diffs_without_book = 0;  ///< diffs dropped: no snapshot to apply them to
  std::size_t gaps = 0;                ///< sequence gaps (kMark / kResync)
  std::size_t trades = 0;
  std::size_t quotes = 0;
  std::size_t skipped = 0;  ///< messages of other streams (markPrice, ...)
  int local_ts_digits = 0;  ///< 13 / 16 / 19: ms / µs / ns stamps in the (last) file
};

struct L2Data {
  std::vector<L2Event> events;
  L2Stats stats;
};

/// An exact decimal step: value = units x 10^-scale (0.1 = {1, 1}, 0.00001 = {1, 5}, 0.5 = {5, 1}).
struct DecimalStep {
  std::int64_t units = 1;
  int scale = 0;
  /// The decimal nearest to `step` with at most 12 decimals (steps are written in decimal, so the
  /// double 0.1 means 1/10). InvalidArgument for steps <= 0, non-finite or finer than 1e-12.
  static Result<DecimalStep> FromDouble(double step);
};

enum class FixedParse : std::uint8_t { kOk, kMalformed, kOffGrid, kOverflow };

/// Parses decimal text ("61737.63000000", "-0.5", "1e-05", "1000") into a whole number of steps
/// without floating point: kMalformed if it is not a number, kOffGrid if it is not a whole multiple
/// of `step`, kOverflow if the result does not fit int64. `*out` is set only on kOk.
FixedParse ParseFixed(std::string_view text, DecimalStep step, std::int64_t* out);

/// Reads a Binance websocket capture; several files are one stream, in the order given (a day's
/// files: the book carries over, the sequence must continue). Errors (DataError unless a file
/// cannot be read) name the file, line and field: not JSON, a missing or malformed field, a value
/// off the tick/size grid, several symbols, a receive-time unit change, a gap under kFail.
Result<L2Data> ReadBinanceCapture(const std::vector<std::filesystem::path>& paths,
                                  const L2ReadOptions& options);

/// Reads a Tardis incremental_book_L2 CSV (.csv or .csv.gz).
Result<L2Data> ReadTardisIncrementalL2(const std::filesystem::path& path,
                                       const L2ReadOptions& options);

/// Reads a Tardis book_snapshot_N CSV (N from the header): per row a kClear and the row's levels
/// (empty price fields, where the book was shallower than N, are skipped).
Result<L2Data> ReadTardisBookSnapshot(const std::filesystem::path& path,
                                      const L2ReadOptions& options);

/// Reads a Binance depth snapshot CSV and a diff CSV of the same symbol (NautilusTrader's format)
/// and applies the Binance sequencing rules above. The files carry only exchange times, so
/// local_ts = exchange_ts.
Result<L2Data> ReadBinanceDepthCsv(const std::filesystem::path& snapshot_path,
                                   const std::filesystem::path& updates_path,
                                   const L2ReadOptions& options);

/// The formats above, by name: "binance" (websocket captures), "tardis" (incremental_book_L2),
/// "tardis-snapshot" (book_snapshot_N), "binance-csv" (snapshot and update CSVs).
enum class L2Format : std::uint8_t { kBinance, kTardis, kTardisSnapshot, kBinanceCsv };
/// InvalidArgument naming the known formats for anything else.
Result<L2Format> ParseL2Format(std::string_view name);

/// Reads `paths` in `format`: any number of Binance capture files (one stream), one Tardis file,
/// or the Binance CSV pair (snapshot file, then update file). InvalidArgument for a wrong count.
Result<L2Data> ReadL2(L2Format format, const std::vector<std::filesystem::path>& paths,
                      const L2ReadOptions& options);

}  // namespace qraft::data::io
