#include "qraft/data/io/qlib_io.h"

namespace qraft::data::io {
// PLACEHOLDER: implemented by the Qlib task.
bool IsQlibDir(const std::filesystem::path&) { return false; }
std::string QlibFreqName(Frequency) { return "day"; }
Result<QlibData> ReadQlibDir(const std::filesystem::path&, Frequency, const TimeZone&) { return Status::Unimplemented("qlib"); }
Status WriteQlibDir(const Panel&, Frequency, const TimeZone&, const std::filesystem::path&) { return Status::Unimplemented("qlib"); }
}  // namespace qraft::data::io
