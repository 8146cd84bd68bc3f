#include "qraft/engines/precise/latency.h"

#include <cmath>
#include <numbers>

namespace qraft::precise {

Status LatencyModel::Validate() const {
  if (insert < 0 || cancel < 0 || market_data < 0 || spread < 0) {
    return Status::InvalidArgument("latency: insert, cancel, market_data and spread must be >= 0");
  }
  if (kind == Kind::kLogNormal && !(spread_sigma >= 0 && std::isfinite(spread_sigma))) {
    return Status::InvalidArgument("latency: sigma must be a finite number >= 0");
  }
  return Status::OK();
}

double LatencyState::Uniform01() {
  // SplitMix64 (Steele, Lea, Flood 2014), top 53 bits, shifted off zero.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;
}

Timestamp LatencyState::Draw(const LatencyModel& model, Timestamp base) {
  switch (model.kind) {
    case LatencyModel::Kind::kConstant:
      return base;
    case LatencyModel::Kind::kUniform:
      return base + static_cast<Timestamp>(
                        std::floor(Uniform01() * static_cast<double>(model.spread + 1)));
    case LatencyModel::Kind::kLogNormal: {
      // Box-Muller with the cosine branch only: one normal per two uniforms, deterministic.
      const double u1 = Uniform01(), u2 = Uniform01();
      const double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
      return static_cast<Timestamp>(
          std::llround(static_cast<double>(base) * std::exp(model.spread_sigma * z)));
    }
  }
  return base;
}

}  // namespace qraft::precise
