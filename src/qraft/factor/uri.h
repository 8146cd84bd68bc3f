// Factor URIs: factor://library/name[@version][?param=value&...]
//
// e.g. factor://common/ema_gap@1.0.0?window=10, factor://alpha158/KMID. Without a version the
// registry picks the latest approved version. Usable on the command line and inside expressions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "qraft/core/status.h"
#include "qraft/factor/definition.h"

namespace qraft::factor {

struct FactorUri {
  std::string library;
  std::string name;
  std::optional<Version> version;
  ParamValues params;
  std::string ToString() const;
};

bool IsFactorUri(std::string_view text);
/// Errors: InvalidArgument naming the URI and the part that is wrong.
Result<FactorUri> ParseFactorUri(std::string_view text);

}  // namespace qraft::factor
