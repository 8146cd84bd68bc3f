#include "qraft/data/snapshot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "qraft/core/hash.h"
#include "qraft/core/parallel.h"

#ifndef QRAFT_VERSION
#define QRAFT_VERSION "0.0.0"
#endif

namespace qraft::data {
namespace {

constexpr std::uint64_t kCanonicalNaN = 0x7FF8000000000000ULL;

Sha256Digest FieldDigest(const std::string& name, std::span<const double> values) {
  Sha256 h;
  h.UpdateString(name);
  h.UpdateU64(values.size());
  constexpr std::size_t kBlock = 1 << 14;
  std::uint64_t buf[kBlock];
  for (std::size_t b = 0; b < values.size(); b += kBlock) {
    const std::size_t n = std::min(kBlock, values.size() - b);
    std::memcpy(buf, values.data() + b, n * sizeof(double));
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(values[b + i])) buf[i] = kCanonicalNaN;
    }
    // Little-endian hosts only (x86-64, aarch64); the canonical encoding is little-endian.
    h.Update(buf, n * sizeof(std::uint64_t));
  }
  return h.Finish();
}

}  // namespace

std::string QraftVersion() {
  return std::string("qraft ") + QRAFT_VERSION;
}

std::vector<InstrumentSpan> DeriveInstruments(const Panel& panel) {
  std::vector<InstrumentSpan> spans(panel.num_symbols());
  ParallelFor(panel.num_symbols(), 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      spans[s].symbol = panel.symbols()[s];
      if (auto span = panel.BarSpan(s)) {
        spans[s].start = panel.calendar()[span->first];
        spans[s].end = panel.calendar()[span->second];
      }
    }
  });
  std::erase_if(spans, [](const InstrumentSpan& sp) { return sp.start == kNoTimestamp; });
  return spans;
}

std::vector<std::string> ActiveSymbols(const std::vector<InstrumentSpan>& spans, Timestamp t) {
  std::vector<std::string> out;
  for (const InstrumentSpan& s : spans) {
    if (s.start <= t && t <= s.end && (out.empty() || out.back() != s.symbol))
      out.push_back(s.symbol);
  }
  return out;
}

Result<std::vector<InstrumentSpan>> LoadInstrumentsFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open instruments file", path.string()));
  std::vector<InstrumentSpan> spans;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    std::vector<std::string> parts;
    std::size_t p = 0;
    while (true) {
      const std::size_t q = line.find('\t', p);
      parts.push_back(line.substr(p, q == std::string::npos ? std::string::npos : q - p));
      if (q == std::string::npos) break;
      p = q + 1;
    }
    if (parts.size() != 3) {
      return Status::DataError(
          fmt::format("{}:{}: expected SYMBOL<TAB>start<TAB>end, got {} field(s)", path.string(),
                      no, parts.size()));
    }
    auto a = ParseIsoDateTime(parts[1]);
    auto b = ParseIsoDateTime(parts[2]);
    if (!a || !b) {
      return Status::DataError(fmt::format(
          "{}:{}: expected dates such as 2013-02-08 for start and end, got '{}' and '{}'",
          path.string(), no, parts[1], parts[2]));
    }
    if (b->value < a->value) {
      return Status::DataError(
          fmt::format("{}:{}: end {} is before start {}", path.string(), no, parts[2], parts[1]));
    }
    spans.push_back({parts[0], a->value, b->value});
  }
  std::sort(spans.begin(), spans.end(), [](const InstrumentSpan& x, const InstrumentSpan& y) {
    return x.symbol != y.symbol ? x.symbol < y.symbol : x.start < y.start;
  });
  return spans;
}

SnapshotHashes ComputeHashes(const SnapshotContent& c) {
  const Panel& p = c.panel;
  SnapshotHashes out;
  std::vector<Sha256Digest> digests(p.num_fields());
  ParallelFor(p.num_fields(), 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t f = b; f < e; ++f)
      digests[f] = FieldDigest(p.field_names()[f], p.field(f));
  });
  for (std::size_t f = 0; f < p.num_fields(); ++f)
    out.fields.emplace_back(p.field_names()[f], ToHex(digests[f]));

  Sha256 cal;
  cal.UpdateU64(p.num_times());
  for (Timestamp t : p.calendar().times())
    cal.UpdateI64(t);
  const Sha256Digest cal_digest = cal.Finish();
  out.calendar = ToHex(cal_digest);

  Sha256 sym;
  sym.UpdateU64(p.num_symbols());
  for (const std::string& s : p.symbols().names())
    sym.UpdateString(s);
  const Sha256Digest sym_digest = sym.Finish();
  out.symbols = ToHex(sym_digest);

  Sha256 id;
  id.UpdateString("qraft.snapshot.v1");
  id.UpdateString(c.market);
  id.UpdateString(c.freq.ToString());
  id.UpdateString(c.timezone);
  id.Update(cal_digest.data(), cal_digest.size());
  id.Update(sym_digest.data(), sym_digest.size());
  std::vector<std::size_t> order(p.num_fields());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return p.field_names()[a] < p.field_names()[b]; });
  id.UpdateU64(order.size());
  for (std::size_t f : order) {
    id.UpdateString(p.field_names()[f]);
    id.Update(digests[f].data(), digests[f].size());
  }
  id.UpdateU64(c.instruments.size());
  for (const InstrumentSpan& s : c.instruments) {
    id.UpdateString(s.symbol);
    id.UpdateI64(s.start);
    id.UpdateI64(s.end);
  }
  out.id = ToHex(id.Finish());
  return out;
}

nlohmann::json Coverage(const Panel& panel, bool date_only) {
  const std::size_t S = panel.num_symbols(), T = panel.num_times(), F = panel.num_fields();
  struct Cov {
    std::size_t first = 0, last = 0, bars = 0, gaps = 0;
    std::vector<std::size_t> missing;  // per field, inside [first, last]
  };
  std::vector<Cov> cov(S);
  ParallelFor(S, 16, [&](std::size_t b, std::size_t e) {
    std::vector<std::uint8_t> present(T);
    for (std::size_t s = b; s < e; ++s) {
      std::fill(present.begin(), present.end(), 0);
      for (std::size_t f = 0; f < F; ++f) {
        auto x = panel.series(f, s);
        for (std::size_t t = 0; t < T; ++t)
          present[t] |= !std::isnan(x[t]);
      }
      Cov& c = cov[s];
      c.missing.assign(F, 0);
      c.first = T;
      for (std::size_t t = 0; t < T; ++t) {
        if (present[t]) {
          if (c.first == T) c.first = t;
          c.last = t;
          ++c.bars;
        }
      }
      if (c.first == T) continue;
      c.gaps = (c.last - c.first + 1) - c.bars;
      for (std::size_t f = 0; f < F; ++f) {
        auto x = panel.series(f, s);
        for (std::size_t t = c.first; t <= c.last; ++t)
          c.missing[f] += std::isnan(x[t]);
      }
    }
  });
  nlohmann::json symbols = nlohmann::json::object();
  std::vector<std::size_t> missing(F, 0);
  std::size_t span_cells = 0, bars = 0;
  for (std::size_t s = 0; s < S; ++s) {
    const Cov& c = cov[s];
    if (c.first == T) {
      symbols[panel.symbols()[s]] = {{"bars", 0}};
      continue;
    }
    const std::size_t span = c.last - c.first + 1;
    span_cells += span;
    bars += c.bars;
    for (std::size_t f = 0; f < F; ++f)
      missing[f] += c.missing[f];
    symbols[panel.symbols()[s]] = {
        {"first", FormatTimestamp(panel.calendar()[c.first], date_only)},
        {"last", FormatTimestamp(panel.calendar()[c.last], date_only)},
        {"bars", c.bars},
        {"gaps", c.gaps},
        {"coverage", static_cast<double>(c.bars) / static_cast<double>(span)}};
  }
  nlohmann::json fields = nlohmann::json::object();
  for (std::size_t f = 0; f < F; ++f) {
    fields[panel.field_names()[f]] =
        span_cells == 0 ? 0.0 : static_cast<double>(missing[f]) / static_cast<double>(span_cells);
  }
  return {{"bars", bars}, {"symbols", symbols}, {"missing_rate", fields}};
}

nlohmann::json BuildMeta(const SnapshotContent& c, const SnapshotHashes& h) {
  const Panel& p = c.panel;
  const bool date_only = !c.freq.intraday();
  nlohmann::json cov = Coverage(p, date_only);
  nlohmann::json fields = nlohmann::json::array();
  for (std::size_t f = 0; f < p.num_fields(); ++f) {
    fields.push_back({{"name", p.field_names()[f]},
                      {"sha256", h.fields[f].second},
                      {"missing_rate", cov["missing_rate"][p.field_names()[f]]}});
  }
  nlohmann::json instruments = nlohmann::json::array();
  for (const InstrumentSpan& s : c.instruments) {
    instruments.push_back(
        {s.symbol, FormatTimestamp(s.start, date_only), FormatTimestamp(s.end, date_only)});
  }
  nlohmann::json meta = {
      {"format", "qraft.snapshot"},
      {"format_version", 1},
      {"snapshot_id", h.id},
      {"created_by", QraftVersion()},
      {"market", c.market},
      {"freq", c.freq.ToString()},
      {"timezone", c.timezone},
      {"symbols", p.num_symbols()},
      {"times", p.num_times()},
      {"rows", c.source_rows},
      {"bars", cov["bars"]},
      {"start", p.num_times() ? FormatTimestamp(p.calendar().front(), date_only) : ""},
      {"end", p.num_times() ? FormatTimestamp(p.calendar().back(), date_only) : ""},
      {"fields", fields},
      {"calendar_sha256", h.calendar},
      {"symbols_sha256", h.symbols},
      {"instruments", instruments},
      {"coverage", cov["symbols"]},
      {"provenance", c.provenance},
      {"quality", c.quality.ToJson(date_only)},
  };
  return meta;
}

Snapshot::Snapshot(std::string id, std::filesystem::path dir, nlohmann::json meta, Panel panel,
                   std::vector<InstrumentSpan> instruments)
    : id_(std::move(id)),
      dir_(std::move(dir)),
      meta_(std::make_shared<const nlohmann::json>(std::move(meta))),
      panel_(std::move(panel)),
      instruments_(std::make_shared<const std::vector<InstrumentSpan>>(std::move(instruments))) {}

Frequency Snapshot::freq() const {
  auto f = Frequency::Parse(meta_->value("freq", "1d"));
  return f.ok() ? *f : Frequency::Daily();
}

}  // namespace qraft::data
