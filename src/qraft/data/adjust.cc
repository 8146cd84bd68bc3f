#include "qraft/data/adjust.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "qraft/core/parallel.h"

namespace qraft::data {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

Result<DividendMethod> ParseDividendMethod(std::string_view name) {
  if (name == "prev_close") return DividendMethod::kPrevClose;
  if (name == "ex_close") return DividendMethod::kExClose;
  return Status::InvalidArgument(
      fmt::format("dividend method '{}': expected prev_close or ex_close", name));
}

Result<Adjust> ParseAdjust(std::string_view name) {
  if (name == "none" || name == "raw") return Adjust::kNone;
  if (name == "forward" || name == "qfq") return Adjust::kForward;
  if (name == "backward" || name == "hfq") return Adjust::kBackward;
  return Status::InvalidArgument(
      fmt::format("adjust '{}': expected none, forward (qfq) or backward (hfq)", name));
}

std::string_view AdjustName(Adjust a) {
  switch (a) {
    case Adjust::kNone:
      return "none";
    case Adjust::kForward:
      return "forward";
    case Adjust::kBackward:
      return "backward";
  }
  return "?";
}

bool IsAdjustedPriceField(std::string_view f) {
  return f == "open" || f == "high" || f == "low" || f == "close" || f == "vwap";
}

Result<Panel> AddAdjustmentFactor(const Panel& raw, DividendMethod method, std::string* note) {
  if (raw.HasField("factor")) return raw;
  const auto close = raw.FindField("close");
  const auto split = raw.FindField("split");
  const auto dividend = raw.FindField("dividend");
  const auto adj_close = raw.FindField("adj_close");
  if (!close || (!split && !dividend && !adj_close)) return raw;

  const std::size_t S = raw.num_symbols(), T = raw.num_times();
  PanelBuilder b(raw.calendar(), raw.symbols().names());
  auto keep = std::make_shared<Panel>(raw);
  for (std::size_t f = 0; f < raw.num_fields(); ++f) {
    // Share the existing fields; only the factor is new.
    b.AddExternalField(raw.field_names()[f], raw.field(f).data(), keep);
  }
  std::span<double> factor = b.AddField("factor");
  const bool from_actions = split || dividend;
  Status st = ParallelForStatus(S, 16, [&](std::size_t lo, std::size_t hi) -> Status {
    for (std::size_t s = lo; s < hi; ++s) {
      auto c = raw.series(*close, s);
      double* out = factor.data() + s * T;
      if (!from_actions) {
        auto a = raw.series(*adj_close, s);
        for (std::size_t t = 0; t < T; ++t)
          out[t] = (c[t] > 0 && !std::isnan(a[t])) ? a[t] / c[t] : kNaN;
        continue;
      }
      const std::span<const double> sp = split ? raw.series(*split, s) : std::span<const double>();
      const std::span<const double> dv =
          dividend ? raw.series(*dividend, s) : std::span<const double>();
      double cum = 1.0;
      double prev_close = kNaN;
      bool started = false;
      for (std::size_t t = 0; t < T; ++t) {
        const double d = dv.empty() || std::isnan(dv[t]) ? 0.0 : dv[t];
        const double r = sp.empty() || std::isnan(sp[t]) || sp[t] == 0 ? 1.0 : sp[t];
        if (started && (d != 0 || r != 1)) {
          if (r < 0) {
            return Status::DataError(fmt::format("{} at {}: split ratio {} is negative",
                                                 raw.symbols()[s], FormatDate(raw.calendar()[t]),
                                                 r));
          }
          double ratio = 1.0;
          if (d != 0) {
            const double base = method == DividendMethod::kPrevClose ? prev_close : c[t];
            if (std::isnan(base)) {
              return Status::DataError(
                  fmt::format("{} at {}: dividend {} without a {} close to adjust by",
                              raw.symbols()[s], FormatDate(raw.calendar()[t]), d,
                              method == DividendMethod::kPrevClose ? "previous" : "same-day"));
            }
            ratio = method == DividendMethod::kPrevClose ? 1.0 - d / base : base / (base + d);
            if (!(ratio > 0)) {
              return Status::DataError(
                  fmt::format("{} at {}: dividend {} is not below the close {}", raw.symbols()[s],
                              FormatDate(raw.calendar()[t]), d, base));
            }
          }
          cum /= ratio / r;
        }
        if (!std::isnan(c[t])) {
          started = true;
          prev_close = c[t];
          out[t] = cum;
        }
      }
    }
    return Status::OK();
  });
  QRAFT_RETURN_NOT_OK(st);
  if (note != nullptr) {
    *note = from_actions
                ? fmt::format("factor from {}{}{} (dividend method {})", split ? "split" : "",
                              split && dividend ? " and " : "", dividend ? "dividend" : "",
                              method == DividendMethod::kPrevClose ? "prev_close" : "ex_close")
                : "factor = adj_close / close";
  }
  return std::move(b).Build();
}

Result<Panel> ApplyAdjustment(const Panel& panel, Adjust adjust) {
  if (adjust == Adjust::kNone) return panel;
  const auto factor = panel.FindField("factor");
  if (!factor) {
    return Status::InvalidArgument(
        "this snapshot has no 'factor' field (no split/dividend, adj_close or factor column was "
        "ingested), "
        "so it cannot be adjusted; use adjust=none");
  }
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  // Per symbol: the normalising factor (first or last valid one).
  std::vector<double> ref(S, kNaN);
  for (std::size_t s = 0; s < S; ++s) {
    auto f = panel.series(*factor, s);
    if (adjust == Adjust::kForward) {
      for (std::size_t t = T; t-- > 0;) {
        if (!std::isnan(f[t])) {
          ref[s] = f[t];
          break;
        }
      }
    } else {
      for (std::size_t t = 0; t < T; ++t) {
        if (!std::isnan(f[t])) {
          ref[s] = f[t];
          break;
        }
      }
    }
  }
  PanelBuilder b(panel.calendar(), panel.symbols().names());
  auto keep = std::make_shared<Panel>(panel);
  for (std::size_t k = 0; k < panel.num_fields(); ++k) {
    const std::string& name = panel.field_names()[k];
    const bool price = IsAdjustedPriceField(name), volume = name == "volume";
    if (!price && !volume) {
      b.AddExternalField(name, panel.field(k).data(), keep);
      continue;
    }
    std::span<double> out = b.AddField(name);
    ParallelFor(S, 16, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t s = lo; s < hi; ++s) {
        auto x = panel.series(k, s);
        auto f = panel.series(*factor, s);
        double* o = out.data() + s * T;
        for (std::size_t t = 0; t < T; ++t) {
          // Bars without a factor (none was given for them) are left unadjusted.
          const double m = std::isnan(f[t]) || std::isnan(ref[s]) ? 1.0 : f[t] / ref[s];
          o[t] = price ? x[t] * m : x[t] / m;
        }
      }
    });
  }
  return std::move(b).Build();
}

}  // namespace qraft::data
