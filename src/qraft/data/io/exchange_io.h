// Exchange-format market data: Binance klines and funding rates, and freqtrade's candle files.
//
//   Binance kline CSV (data.binance.vision): no header (or, in newer files, a header line), 12
//     columns open_time, open, high, low, close, volume, close_time, quote_volume, trades,
//     taker_buy_base_volume, taker_buy_quote_volume, ignore; times in ms (µs in spot files since
//     2025; EpochUnit::kAuto tells them apart). File names SYMBOL-<interval>-YYYY-MM[-DD].csv give
//     the symbol and the bar interval. The CSV reader reads these (csv_reader.h) with
//     BinanceKlineColumns() as the column names of headerless files.
//   Binance kline JSON (REST /api/v3/klines, /fapi/v1/klines): arrays of the same 12 values,
//     prices and volumes as strings, times and trade counts as integers.
//   Binance funding JSON (REST /fapi/v1/fundingRate): objects {symbol, fundingTime, fundingRate,
//     markPrice}; markPrice is optional and may be "".
//   freqtrade candle JSON: [[ts_ms, open, high, low, close, volume], ...]; files
//     PAIR-<timeframe>[-spot|-futures|-mark|-index|-premiumIndex|-funding_rate].json[.gz].
//
// Fields (canonical names, mapping.h):
//   candles (no kind, -spot, -futures)  open, high, low, close, volume; the 12-value Binance layout
//                                       adds amount (quote volume), trades, taker_buy_volume,
//                                       taker_buy_amount; the JSON reader drops close_time and
//                                       ignore (for CSV see BinanceKlineColumns).
//   -mark                               mark_open, mark_high, mark_low, mark_close; volume is
//                                       dropped (a mark price is not traded, so it has no volume
//                                       of its own; most freqtrade files hold null there).
//   -index / -premiumIndex              index_* / premium_* likewise.
//   -funding_rate                       funding_rate, from the *open* slot (freqtrade stores the
//                                       rate there and zeros in the other slots).
//   funding objects                     funding_rate, and mark_price when any object has markPrice.
// So candles, mark prices and funding of one pair become one symbol with disjoint fields.
//
// Times are kept exactly as written (funding times carry a few ms of jitter, e.g. 1637193600017);
// putting them on the bar grid is assembly's job (assemble.h floors them to the bar's open).
// Values: JSON numbers, numbers written as strings, and null / "" / "NaN" for missing (NaN).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/mapping.h"
#include "qraft/data/source_table.h"
#include "qraft/data/time_label.h"

namespace qraft::data::io {

/// Symbol, interval and kind parsed from an exchange file name.
struct ExchangeFileName {
  std::string symbol;             // "ADABTC", "ADA_BTC", "XRP_USDT_USDT" (kept as written)
  std::optional<Frequency> freq;  // from "1m", "5m", "8h", "1M" (month), ...
  std::string kind;               // "" (candles), "spot", "futures", "mark", "index",
                                  // "premiumIndex" or "funding_rate"
};

/// Parses a bare file stem (io::BareStem) of the form SYMBOL-<interval>[-<kind>|-YYYY-MM[-DD]]:
/// "ADABTC-1m-2021-11-27", "ADABTC-1m-2021-11", "ADA_BTC-5m", "XRP_USDT-8h-funding_rate".
///   SYMBOL    upper-case letters, digits and '_' (at least one letter), as Binance and freqtrade
///             write them;
///   interval  <n><unit>, n = 1..999 without leading zeros, unit s, m, h, d, w or M (month; Binance
///             and freqtrade spelling, so "1M" is a month and "1m" a minute);
///   kind      one of the kinds above; a date suffix must be a real date and is ignored.
/// Returns nullopt for anything else ("AAPL_data", "btc-perp-20211231-20220201_1m",
/// "XRP_ETH-trades"): ingest treats a file whose name parses as a Binance kline file.
std::optional<ExchangeFileName> ParseExchangeFileName(std::string_view stem);

/// The 12 column names of a Binance kline CSV, for CsvOptions::headerless_names. Names map to
/// Qraft fields through CanonicalFieldName: open_time (the time column), open, high, low, close,
/// volume, quote_volume -> amount, trades, taker_buy_volume, taker_buy_amount. The bookkeeping
/// columns are named close_time and ignore; they are dropped only if the mapping ignores them.
const std::vector<std::string>& BinanceKlineColumns();

/// Reads a JSON (or .json.gz/.zst) file of candles or funding rates in any of the layouts above;
/// the first record decides the layout (6 values: freqtrade, 12: Binance kline, object: funding)
/// and the file name's kind (ParseExchangeFileName) the fields. Rows are labelled with `labeler`
/// (FromInstant) and numbered by record (row_numbers: "file row N" is the N-th record).
///
/// Symbol: each funding object's "symbol"; else mapping.symbol_value; else the capture of
/// mapping.symbol_pattern; else the symbol of an exchange file name; else the bare file name.
/// Of the other mapping settings only epoch_unit and ignore (by Qraft field name, e.g. "trades")
/// apply; there are no source column names to map.
///
/// Errors (DataError unless the file cannot be read), each naming the file and, for records,
/// "row N" and what was expected there: not JSON (with the byte offset), not an array, no records,
/// a record of the wrong shape or length, a time that is missing or not an integer, a value that is
/// not a number. Never throws.
Result<SourceTable> ReadExchangeJson(const std::filesystem::path& path,
                                     const ColumnMapping& mapping, const TimeLabeler& labeler);

}  // namespace qraft::data::io
