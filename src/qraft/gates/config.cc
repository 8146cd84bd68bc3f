#include "qraft/gates/config.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "qraft/factor/yaml_reader.h"

namespace qraft::gates {
namespace {

using factor::YamlReader;

// A gate's entry: `false` (off), `true` (on, default threshold) or {enabled, <key>: threshold}
// with the threshold in [lo, hi].
Status ReadGate(const YamlReader& r, const YAML::Node& n, std::string_view name,
                std::string_view key, Threshold* gate, double lo = 0, double hi = 1) {
  if (n.IsScalar()) {
    QRAFT_ASSIGN_OR_RETURN(gate->enabled, r.Bool(n, fmt::format("gates.{}", name)));
    return Status::OK();
  }
  QRAFT_RETURN_NOT_OK(r.OnlyKeys(n, {"enabled", key}, fmt::format("gates.{}", name)));
  if (n["enabled"]) {
    QRAFT_ASSIGN_OR_RETURN(gate->enabled,
                           r.Bool(n["enabled"], fmt::format("gates.{}.enabled", name)));
  }
  if (n[std::string(key)]) {
    const YAML::Node v = n[std::string(key)];
    QRAFT_ASSIGN_OR_RETURN(gate->value, r.Number(v, fmt::format("gates.{}.{}", name, key)));
    if (!(gate->value >= lo && gate->value <= hi)) {
      return r.Error(v, fmt::format("gates.{}.{} must be in [{}, {}]", name, key, lo, hi));
    }
  }
  return Status::OK();
}

Result<std::size_t> Count(const YamlReader& r, const YAML::Node& n, std::string_view what,
                          double min) {
  QRAFT_ASSIGN_OR_RETURN(const double v, r.Number(n, what));
  if (v != std::floor(v) || v < min) {
    return r.Error(n, fmt::format("{} must be a whole number >= {}", what, min));
  }
  return static_cast<std::size_t>(v);
}

Result<Timestamp> Date(const YamlReader& r, const YAML::Node& n, std::string_view what) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, r.String(n, what));
  const auto t = ParseIsoDateTime(text);
  if (!t) return r.Error(n, fmt::format("{} must be a date (YYYY-MM-DD), got '{}'", what, text));
  return t->value;
}

Status ReadSplits(const YamlReader& r, const YAML::Node& n, Splits* s) {
  QRAFT_RETURN_NOT_OK(r.OnlyKeys(n, {"train", "validation", "holdout"}, "splits"));
  // Either fractions (all three) or the start dates of validation and holdout.
  const bool dates = n["validation"] && n["validation"].IsScalar() &&
                     ParseIsoDateTime(n["validation"].as<std::string>()).has_value();
  if (dates) {
    if (!n["holdout"] || n["train"]) {
      return r.Error(n, "splits by date give the start dates of validation and holdout only");
    }
    QRAFT_ASSIGN_OR_RETURN(s->validation_start, Date(r, n["validation"], "splits.validation"));
    QRAFT_ASSIGN_OR_RETURN(s->holdout_start, Date(r, n["holdout"], "splits.holdout"));
    if (!(s->validation_start < s->holdout_start)) {
      return r.Error(n["holdout"], "splits.holdout must start after splits.validation");
    }
    return Status::OK();
  }
  double* parts[3] = {&s->train, &s->validation, &s->holdout};
  const char* names[3] = {"train", "validation", "holdout"};
  double sum = 0;
  for (int k = 0; k < 3; ++k) {
    const YAML::Node v = n[names[k]];
    if (!v) return r.Error(n, fmt::format("splits by fraction need train, validation and holdout"));
    QRAFT_ASSIGN_OR_RETURN(*parts[k], r.Number(v, fmt::format("splits.{}", names[k])));
    if (!(*parts[k] > 0 && *parts[k] < 1)) {
      return r.Error(v, fmt::format("splits.{} must be a fraction in (0, 1)", names[k]));
    }
    sum += *parts[k];
  }
  if (std::abs(sum - 1) > 1e-9) {
    return r.Error(n, fmt::format("splits must sum to 1, got {}", sum));
  }
  s->validation_start = s->holdout_start = kNoTimestamp;
  return Status::OK();
}

}  // namespace

Result<GatesConfig> ParseGatesConfig(std::string_view text, std::string_view source,
                                     GatesConfig c) {
  QRAFT_ASSIGN_OR_RETURN(const YAML::Node doc, factor::LoadYaml(text, source));
  const YamlReader r(source);
  if (doc.IsNull()) return c;
  QRAFT_RETURN_NOT_OK(r.OnlyKeys(
      doc, {"objective", "candidates", "splits", "benchmark", "bootstrap", "trials", "gates"},
      "the gates file"));
  if (doc["objective"]) {
    QRAFT_ASSIGN_OR_RETURN(c.objective, r.String(doc["objective"], "objective"));
  }
  if (doc["candidates"]) {
    QRAFT_ASSIGN_OR_RETURN(c.candidates, Count(r, doc["candidates"], "candidates", 1));
  }
  if (doc["splits"]) QRAFT_RETURN_NOT_OK(ReadSplits(r, doc["splits"], &c.splits));
  if (doc["benchmark"]) {
    QRAFT_ASSIGN_OR_RETURN(c.benchmark, r.String(doc["benchmark"], "benchmark"));
    if (c.benchmark != "equal_weight" && c.benchmark != "cash") {
      return r.Error(doc["benchmark"],
                     fmt::format("benchmark must be equal_weight or cash, got '{}'", c.benchmark));
    }
  }
  if (const YAML::Node b = doc["bootstrap"]) {
    QRAFT_RETURN_NOT_OK(r.OnlyKeys(b, {"reps", "block", "seed"}, "bootstrap"));
    if (b["reps"]) {
      QRAFT_ASSIGN_OR_RETURN(c.bootstrap_reps, Count(r, b["reps"], "bootstrap.reps", 100));
    }
    if (b["block"]) {
      if (b["block"].IsScalar() && b["block"].as<std::string>() == "auto") {
        c.block = 0;
      } else {
        QRAFT_ASSIGN_OR_RETURN(c.block, r.Number(b["block"], "bootstrap.block"));
        if (!(c.block >= 1)) return r.Error(b["block"], "bootstrap.block must be auto or >= 1");
      }
    }
    if (b["seed"]) {
      QRAFT_ASSIGN_OR_RETURN(const std::size_t seed, Count(r, b["seed"], "bootstrap.seed", 0));
      c.seed = seed;
    }
  }
  if (const YAML::Node t = doc["trials"]) {
    QRAFT_RETURN_NOT_OK(r.OnlyKeys(t, {"effective"}, "trials"));
    if (t["effective"]) {
      QRAFT_ASSIGN_OR_RETURN(c.effective_trials, r.Bool(t["effective"], "trials.effective"));
    }
  }
  if (const YAML::Node g = doc["gates"]) {
    QRAFT_RETURN_NOT_OK(r.OnlyKeys(g,
                                   {"dsr", "spa", "stepm", "pbo", "oos_ir", "overlap",
                                    "consistency", "rerun", "min_trades", "min_trl"},
                                   "gates"));
    if (g["dsr"]) QRAFT_RETURN_NOT_OK(ReadGate(r, g["dsr"], "dsr", "min", &c.dsr));
    if (const YAML::Node p = g["spa"]) {
      YAML::Node rest = YAML::Clone(p);
      if (p.IsMap() && p["mode"]) {
        QRAFT_ASSIGN_OR_RETURN(c.spa_mode, r.String(p["mode"], "gates.spa.mode"));
        if (c.spa_mode != "hansen2005" && c.spa_mode != "arch_compat") {
          return r.Error(p["mode"], fmt::format("gates.spa.mode must be hansen2005 or arch_compat, "
                                                "got '{}'",
                                                c.spa_mode));
        }
        rest.remove("mode");
      }
      QRAFT_RETURN_NOT_OK(ReadGate(r, rest, "spa", "max_p", &c.spa));
    }
    if (g["stepm"]) QRAFT_RETURN_NOT_OK(ReadGate(r, g["stepm"], "stepm", "size", &c.stepm));
    if (const YAML::Node p = g["pbo"]) {
      if (p.IsMap() && p["blocks"]) {
        QRAFT_ASSIGN_OR_RETURN(c.pbo_blocks, Count(r, p["blocks"], "gates.pbo.blocks", 2));
        if (c.pbo_blocks % 2 != 0) return r.Error(p["blocks"], "gates.pbo.blocks must be even");
        YAML::Node rest = YAML::Clone(p);
        rest.remove("blocks");
        QRAFT_RETURN_NOT_OK(ReadGate(r, rest, "pbo", "max", &c.pbo));
      } else {
        QRAFT_RETURN_NOT_OK(ReadGate(r, p, "pbo", "max", &c.pbo));
      }
    }
    if (g["oos_ir"])
      QRAFT_RETURN_NOT_OK(ReadGate(r, g["oos_ir"], "oos_ir", "min", &c.oos_ir, -10, 10));
    if (const YAML::Node o = g["overlap"]) {
      YAML::Node rest = YAML::Clone(o);
      if (o.IsMap()) {
        if (o["scale"]) {
          QRAFT_ASSIGN_OR_RETURN(c.overlap_scale, r.Number(o["scale"], "gates.overlap.scale"));
          if (!(c.overlap_scale > 0 && c.overlap_scale < 1)) {
            return r.Error(o["scale"], "gates.overlap.scale must be in (0, 1)");
          }
          rest.remove("scale");
        }
        if (o["top"]) {
          QRAFT_ASSIGN_OR_RETURN(c.overlap_top, Count(r, o["top"], "gates.overlap.top", 1));
          rest.remove("top");
        }
      }
      QRAFT_RETURN_NOT_OK(ReadGate(r, rest, "overlap", "min", &c.overlap));
    }
    if (g["consistency"]) {
      QRAFT_RETURN_NOT_OK(
          ReadGate(r, g["consistency"], "consistency", "max", &c.consistency, 0, 1));
    }
    if (g["rerun"]) QRAFT_RETURN_NOT_OK(ReadGate(r, g["rerun"], "rerun", "max", &c.rerun, 0, 0.01));
    if (g["min_trades"]) {
      QRAFT_RETURN_NOT_OK(ReadGate(r, g["min_trades"], "min_trades", "min", &c.min_trades, 0, 1e9));
    }
    if (g["min_trl"]) QRAFT_RETURN_NOT_OK(ReadGate(r, g["min_trl"], "min_trl", "prob", &c.min_trl));
  }
  return c;
}

Result<GatesConfig> LoadGatesConfig(const std::filesystem::path& path, GatesConfig base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the gates file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("{}: read failed", path.string()));
  return ParseGatesConfig(text.str(), path.string(), std::move(base));
}

}  // namespace qraft::gates
