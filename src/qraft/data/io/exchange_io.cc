#include "qraft/data/io/exchange_io.h"

namespace qraft::data::io {
// PLACEHOLDER: implemented by the exchange-formats task.
std::optional<ExchangeFileName> ParseExchangeFileName(std::string_view) { return std::nullopt; }
const std::vector<std::string>& BinanceKlineColumns() { static std::vector<std::string> v; return v; }
Result<SourceTable> ReadExchangeJson(const std::filesystem::path&, const ColumnMapping&, const TimeLabeler&) { return Status::Unimplemented("json"); }
}  // namespace qraft::data::io
