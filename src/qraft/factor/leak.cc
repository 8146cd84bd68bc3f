#include "qraft/factor/leak.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <random>

#include "qraft/expr/evaluator.h"

namespace qraft::factor {
namespace {

bool Same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) ||
         std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// `data` with every bar after `cut` scaled by a random factor in [0.5, 1.5] per (symbol, time),
// the same factor for all fields, and about one bar in ten removed.
Panel Perturb(const Panel& data, std::size_t cut, std::uint64_t seed) {
  const std::size_t S = data.num_symbols(), T = data.num_times();
  std::vector<double> scale(S * T, 1.0);
  std::mt19937_64 rng(seed ^ (cut * 0x9E3779B97F4A7C15ull));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::size_t s = 0; s < S; ++s) {
    for (std::size_t t = cut + 1; t < T; ++t) {
      const double r = u(rng);
      scale[s * T + t] = r < 0.1 ? std::nan("") : 0.5 + u(rng);
    }
  }
  PanelBuilder builder(data.calendar(), data.symbols().names());
  for (std::size_t f = 0; f < data.num_fields(); ++f) {
    std::span<double> out = builder.AddField(data.field_names()[f]);
    std::span<const double> in = data.field(f);
    for (std::size_t i = 0; i < in.size(); ++i)
      out[i] = in[i] * scale[i];
  }
  return std::move(builder).Build();
}

}  // namespace

std::string LeakReport::ToText() const {
  if (!leak) {
    return fmt::format(
        "no look-ahead: {} values at {} cut points unchanged by truncating or "
        "perturbing later data",
        values_compared, cut_points_checked);
  }
  return fmt::format("LOOK-AHEAD: {} for {} at {} changed from {} to {} when data after {} was {}",
                     output, symbol, FormatTimestamp(time, false), full_value, changed_value,
                     FormatTimestamp(cut, false), how);
}

Result<LeakReport> CheckLookAhead(const expr::Program& program, const Panel& data,
                                  const LeakCheckOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(Panel full, expr::Evaluate(program, data));
  LeakReport report;
  const std::size_t T = data.num_times();
  if (T < 2) return report;
  // Cut points: early (inside warm-up windows) and spread over the rest.
  std::vector<std::size_t> cuts;
  const int n = std::max(options.cut_points, 1);
  cuts.push_back(std::min<std::size_t>(T - 2, 2));
  for (int k = 1; k < n; ++k)
    cuts.push_back((T - 2) * static_cast<std::size_t>(k) / (n - 1 > 0 ? n - 1 : 1));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  const std::vector<std::string>& symbols = data.symbols().names();
  for (std::size_t cut : cuts) {
    QRAFT_ASSIGN_OR_RETURN(Panel truncated,
                           data.Select(symbols, kNoTimestamp, data.calendar()[cut]));
    const Panel perturbed = Perturb(data, cut, options.seed);
    for (const auto& [variant, how] :
         {std::pair<const Panel*, const char*>{&truncated, "truncated"},
          {&perturbed, "perturbed"}}) {
      QRAFT_ASSIGN_OR_RETURN(Panel changed, expr::Evaluate(program, *variant));
      for (std::size_t f = 0; f < full.num_fields(); ++f) {
        for (std::size_t s = 0; s < full.num_symbols(); ++s) {
          for (std::size_t t = 0; t <= cut; ++t) {
            const double a = full.at(f, s, t), b = changed.at(f, s, t);
            ++report.values_compared;
            if (!Same(a, b)) {
              report.leak = true;
              report.output = full.field_names()[f];
              report.symbol = symbols[s];
              report.time = data.calendar()[t];
              report.cut = data.calendar()[cut];
              report.full_value = a;
              report.changed_value = b;
              report.how = how;
              report.cut_points_checked += 1;
              return report;
            }
          }
        }
      }
    }
    ++report.cut_points_checked;
  }
  return report;
}

}  // namespace qraft::factor
