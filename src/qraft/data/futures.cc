#include "qraft/data/futures.h"

namespace qraft::data {
// PLACEHOLDER: implemented by the futures task.
Result<ContinuousOptions> ParseRollRule(std::string_view, ContinuousOptions) { return Status::Unimplemented("roll rule"); }
Result<RollAdjust> ParseRollAdjust(std::string_view) { return Status::Unimplemented("roll adjust"); }
Result<ContinuousResult> BuildContinuous(const Panel&, const ContinuousOptions&) { return Status::Unimplemented("continuous futures"); }
}  // namespace qraft::data
