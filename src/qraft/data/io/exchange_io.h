// Exchange-format market data: Binance klines and funding rates, and freqtrade's candle files.
//
//   Binance kline CSV (data.binance.vision): no header (or the newer header line), 12 columns
//     open_time, open, high, low, close, volume, close_time, quote_volume, trades,
//     taker_buy_base_volume, taker_buy_quote_volume, ignore; times in ms (µs since 2025 for spot).
//     File names SYMBOL-<interval>-YYYY-MM[-DD].csv give the symbol and bar interval.
//   Binance kline JSON (REST /api/v3/klines): arrays of the same 12 values, numbers as strings.
//   Binance funding JSON (REST /fapi/v1/fundingRate): objects {symbol, fundingTime, fundingRate}.
//   freqtrade candle JSON: [[ts_ms, open, high, low, close, volume], ...]; files
//     PAIR-<timeframe>[-futures|-mark|-funding_rate].json[.gz]. Mark-price candles become fields
//     mark_open..mark_close, funding-rate files the field funding_rate (freqtrade keeps the rate in
//     the open column), so candles, mark prices and funding of one pair merge into one symbol.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/mapping.h"
#include "qraft/data/source_table.h"
#include "qraft/data/time_label.h"

namespace qraft::data::io {

/// Symbol, interval and kind parsed from an exchange file name.
struct ExchangeFileName {
  std::string symbol;             // "ADABTC", "ADA_BTC"
  std::optional<Frequency> freq;  // from "1m", "5m", "8h", ...
  std::string kind;               // "" (candles), "futures", "mark", "funding_rate", ...
};

/// Parses "ADABTC-1m-2021-11-27", "ADA_BTC-5m", "XRP_USDT-8h-funding_rate" (bare stems).
std::optional<ExchangeFileName> ParseExchangeFileName(std::string_view stem);

/// The 12 column names of a Binance kline CSV, for CsvOptions::headerless_names.
const std::vector<std::string>& BinanceKlineColumns();

/// Reads a JSON file of candles or funding rates in any of the layouts above. The symbol comes
/// from the records (funding objects), else from mapping.symbol_value, else the file name.
Result<SourceTable> ReadExchangeJson(const std::filesystem::path& path, const ColumnMapping& mapping,
                                     const TimeLabeler& labeler);

}  // namespace qraft::data::io
