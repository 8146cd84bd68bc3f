// qraft data list | info | check | show | synth | export | gc
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/data/api.h"
#include "qraft/data/export.h"
#include "qraft/data/synth.h"

namespace qraft::cli {
namespace {

struct Common {
  StoreOptions store;
  bool json = false;
};

int List(const Common& c) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto list = (*store)->List();
  if (!list.ok()) return Fail(list.status());
  if (c.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : *list) {
      j.push_back({{"snapshot_id", s.id},
                   {"market", s.market},
                   {"freq", s.freq},
                   {"symbols", s.symbols},
                   {"bars", s.bars},
                   {"start", s.start},
                   {"end", s.end}});
    }
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("%-14s %-14s %-5s %8s %10s  %-19s  %-19s\n", "id", "market", "freq", "symbols",
              "bars", "start", "end");
  for (const auto& s : *list) {
    std::printf("%-14s %-14s %-5s %8zu %10zu  %-19s  %-19s\n", s.id.substr(0, 12).c_str(),
                s.market.c_str(), s.freq.c_str(), s.symbols, s.bars, s.start.c_str(),
                s.end.c_str());
  }
  return kExitOk;
}

int Info(const Common& c, const std::string& ref) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto snap = (*store)->Open(ref);
  if (!snap.ok()) return Fail(snap.status());
  const nlohmann::json& m = snap->meta();
  std::vector<std::string> fields = snap->panel().field_names();
  nlohmann::json q = m.value("quality", nlohmann::json::object());
  if (c.json) {
    nlohmann::json j = {
        {"snapshot_id", snap->id()},
        {"market", m["market"]},
        {"freq", m["freq"]},
        {"timezone", m["timezone"]},
        {"symbols", m["symbols"]},
        {"times", m["times"]},
        {"rows", m["rows"]},
        {"bars", m["bars"]},
        {"start", m["start"]},
        {"end", m["end"]},
        {"fields", fields},
        {"field_details", m["fields"]},
        {"created_by", m["created_by"]},
        {"files", m.value("files", nlohmann::json::object())},
        {"provenance",
         {{"sources", m["provenance"].value("sources", nlohmann::json::array()).size()},
          {"adjustment", m["provenance"].value("adjustment", "")},
          {"rolls", m["provenance"].value("rolls", nlohmann::json::array()).size()}}},
        {"quality",
         {{"errors", q.value("errors", 0)},
          {"warnings", q.value("warnings", 0)},
          {"info", q.value("info", 0)},
          {"by_check", q.value("by_check", nlohmann::json::object())}}}};
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("snapshot  %s\n", snap->id().c_str());
  std::printf("market    %s (%s, %s)\n", m["market"].get<std::string>().c_str(),
              m["freq"].get<std::string>().c_str(), m["timezone"].get<std::string>().c_str());
  std::printf("range     %s .. %s (%zu times)\n", m["start"].get<std::string>().c_str(),
              m["end"].get<std::string>().c_str(), m["times"].get<std::size_t>());
  std::printf("symbols   %zu\n", m["symbols"].get<std::size_t>());
  std::printf("bars      %zu (from %zu source rows)\n", m["bars"].get<std::size_t>(),
              m["rows"].get<std::size_t>());
  std::printf("fields    %s\n", fmt::format("{}", fmt::join(fields, ", ")).c_str());
  if (m["provenance"].contains("adjustment")) {
    std::printf("adjust    %s\n", m["provenance"]["adjustment"].get<std::string>().c_str());
  }
  if (m["provenance"].contains("rolls"))
    std::printf("rolls     %zu\n", m["provenance"]["rolls"].size());
  std::printf("quality   %d errors, %d warnings, %d info\n", q.value("errors", 0),
              q.value("warnings", 0), q.value("info", 0));
  return kExitOk;
}

int Check(const Common& c, const std::string& ref, bool strict) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  ThreadLimit limit(c.store.threads);
  auto report = data::CheckSnapshot(**store, ref, data::QualityOptions());
  if (!report.ok()) return Fail(report.status());
  auto snap = (*store)->Open(ref);
  const bool date_only = snap.ok() ? snap->date_only() : true;
  const bool failed = report->Failed(strict);
  if (c.json) {
    nlohmann::json j = report->ToJson(date_only);
    j["snapshot_id"] = snap.ok() ? snap->id() : std::string(ref);
    j["integrity"] = "ok";
    j["pass"] = !failed;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("integrity: ok (files and content hash match the id)\n%s",
                report->ToText(date_only, 50).c_str());
    std::printf("%s\n", failed ? "FAIL" : "PASS");
  }
  return failed ? kExitBadInput : kExitOk;
}

struct ShowArgs {
  std::string ref, symbols, fields, start, end, adjust = "none", format = "table";
  std::size_t limit = 20;
  bool tail = false;
};

int Show(const Common& c, const ShowArgs& a) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  data::DataRequest req;
  req.snapshot = a.ref;
  req.symbols = SplitList(a.symbols);
  req.fields = SplitList(a.fields);
  auto start = data::ParseRequestTime(a.start);
  auto end = data::ParseRequestTime(a.end);
  auto adjust = data::ParseAdjust(a.adjust);
  if (!start.ok()) return Fail(start.status());
  if (!end.ok()) return Fail(end.status());
  if (!adjust.ok()) return Fail(adjust.status());
  if (a.format != "table" && a.format != "csv")
    return Fail(Status::InvalidArgument("--format: expected table or csv"));
  req.start = *start;
  req.end = *end;
  req.adjust = *adjust;
  auto snap = (*store)->Open(a.ref);
  if (!snap.ok()) return Fail(snap.status());
  auto panel = data::GetData(**store, req);
  if (!panel.ok()) return Fail(panel.status());
  const Panel& p = *panel;
  const bool date_only = snap->date_only();
  // Rows with any value, in symbol then time order.
  std::vector<std::pair<std::size_t, std::size_t>> rows;
  for (std::size_t s = 0; s < p.num_symbols(); ++s) {
    for (std::size_t t = 0; t < p.num_times(); ++t) {
      if (p.HasBar(s, t)) rows.emplace_back(s, t);
    }
  }
  std::size_t b = 0, e = rows.size();
  if (a.limit > 0 && rows.size() > a.limit) {
    if (a.tail) {
      b = rows.size() - a.limit;
    } else {
      e = a.limit;
    }
  }
  const bool csv = a.format == "csv";
  std::string header = csv ? fmt::format("symbol,{}", date_only ? "date" : "time")
                           : fmt::format("{:<10} {:<19}", "symbol", date_only ? "date" : "time");
  for (const std::string& f : p.field_names())
    header += csv ? "," + f : fmt::format(" {:>14}", f);
  std::printf("%s\n", header.c_str());
  for (std::size_t i = b; i < e; ++i) {
    const auto [s, t] = rows[i];
    std::string line =
        csv ? fmt::format("{},{}", p.symbols()[s], FormatTimestamp(p.calendar()[t], date_only))
            : fmt::format("{:<10} {:<19}", p.symbols()[s],
                          FormatTimestamp(p.calendar()[t], date_only));
    for (std::size_t f = 0; f < p.num_fields(); ++f) {
      const double v = p.at(f, s, t);
      if (csv) {
        line += std::isnan(v) ? "," : fmt::format(",{}", v);
      } else {
        line += std::isnan(v) ? fmt::format(" {:>14}", "NaN") : fmt::format(" {:>14}", v);
      }
    }
    std::printf("%s\n", line.c_str());
  }
  if (!csv && e - b < rows.size())
    std::printf("(%zu of %zu rows; --limit 0 for all)\n", e - b, rows.size());
  return kExitOk;
}

struct SynthArgs {
  std::size_t symbols = 100, bars = 1260;
  std::string freq = "1d", start = "2005-01-03", market = "synthetic";
  std::uint64_t seed = 1;
  double price_limit = 0;
};

int Synth(const Common& c, const SynthArgs& a) {
  data::SynthOptions o;
  o.symbols = a.symbols;
  o.bars = a.bars;
  auto freq = Frequency::Parse(a.freq);
  if (!freq.ok()) return Fail(freq.status());
  o.freq = *freq;
  auto start = ParseIsoDateTime(a.start);
  if (!start)
    return Fail(Status::InvalidArgument(
        fmt::format("--start '{}': expected a date such as 2005-01-03", a.start)));
  o.start = FloorToDay(start->value);
  o.seed = a.seed;
  o.market = a.market;
  o.price_limit = a.price_limit;
  ThreadLimit limit(c.store.threads);
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto content = data::Synthesize(o);
  if (!content.ok()) return Fail(content.status());
  TerminalProgress progress;
  auto id = (*store)->Publish(*content, progress);
  if (!id.ok()) return Fail(id.status());
  if (c.json) {
    std::printf("%s\n", nlohmann::json({{"snapshot_id", *id},
                                        {"symbols", content->panel.num_symbols()},
                                        {"times", content->panel.num_times()}})
                            .dump()
                            .c_str());
  } else {
    std::printf("%s\n", id->c_str());
  }
  return kExitOk;
}

int Export(const Common& c, const std::string& ref, const std::string& out,
           const std::string& format, const std::string& adjust_name) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto fmt_ = data::ParseExportFormat(format);
  if (!fmt_.ok()) return Fail(fmt_.status());
  auto adjust = data::ParseAdjust(adjust_name);
  if (!adjust.ok()) return Fail(adjust.status());
  auto snap = (*store)->Open(ref);
  if (!snap.ok()) return Fail(snap.status());
  Status st = data::ExportSnapshot(*snap, *fmt_, *adjust, out);
  if (!st.ok()) return Fail(st);
  std::printf("%s\n", out.c_str());
  return kExitOk;
}

int Gc(const Common& c) {
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto n = (*store)->CollectGarbage();
  if (!n.ok()) return Fail(n.status());
  std::printf("removed %zu leftover temporary director%s\n", *n, *n == 1 ? "y" : "ies");
  return kExitOk;
}

}  // namespace

void RegisterData(CLI::App& app, int* exit_code) {
  CLI::App* data = app.add_subcommand("data", "Inspect, check, export and generate snapshots");
  data->require_subcommand(1);

  auto add = [&](const char* name, const char* help) {
    auto common = std::make_shared<Common>();
    CLI::App* cmd = data->add_subcommand(name, help);
    common->store.Add(*cmd);
    cmd->add_flag("--json", common->json, "Print JSON");
    return std::make_pair(cmd, common);
  };

  {
    auto [cmd, common] = add("list", "List the snapshots in the store");
    cmd->callback([common = common, exit_code] { *exit_code = List(*common); });
  }
  {
    auto [cmd, common] = add("info", "Describe a snapshot");
    auto ref = std::make_shared<std::string>();
    cmd->add_option("snapshot", *ref, "Snapshot id, id prefix, market@freq or market")->required();
    cmd->callback([common = common, ref, exit_code] { *exit_code = Info(*common, *ref); });
  }
  {
    auto [cmd, common] =
        add("check", "Verify a snapshot's integrity and re-run its quality checks");
    auto ref = std::make_shared<std::string>();
    auto strict = std::make_shared<bool>(false);
    cmd->add_option("snapshot", *ref, "Snapshot reference")->required();
    cmd->add_flag("--strict", *strict, "Treat warnings as failures");
    cmd->callback(
        [common = common, ref, strict, exit_code] { *exit_code = Check(*common, *ref, *strict); });
  }
  {
    auto [cmd, common] = add("show", "Print bars of a snapshot");
    auto a = std::make_shared<ShowArgs>();
    cmd->add_option("snapshot", a->ref, "Snapshot reference")->required();
    cmd->add_option("--symbols", a->symbols, "Comma-separated symbols (default: all)");
    cmd->add_option("--fields", a->fields, "Comma-separated fields (default: all)");
    cmd->add_option("--start", a->start, "First date/time (inclusive)");
    cmd->add_option("--end", a->end, "Last date/time (inclusive)");
    cmd->add_option("--adjust", a->adjust, "none, forward (qfq) or backward (hfq)");
    cmd->add_option("--limit", a->limit, "Rows to print (0: all)");
    cmd->add_flag("--tail", a->tail, "Print the last rows instead of the first");
    cmd->add_option("--format", a->format, "table or csv");
    cmd->callback([common = common, a, exit_code] { *exit_code = Show(*common, *a); });
  }
  {
    auto [cmd, common] = add("synth", "Generate a seeded synthetic snapshot");
    auto a = std::make_shared<SynthArgs>();
    cmd->add_option("--symbols", a->symbols, "Number of symbols");
    cmd->add_option("--bars", a->bars, "Bars per symbol (trading days for daily data)");
    cmd->add_option("--freq", a->freq, "Bar frequency (1d, 1m, ...)");
    cmd->add_option("--start", a->start, "First trading day");
    cmd->add_option("--seed", a->seed, "Random seed");
    cmd->add_option("--market", a->market, "Market name (its pack gives time zone and sessions)");
    cmd->add_option("--price-limit", a->price_limit, "Daily price limit as a fraction, e.g. 0.1");
    cmd->callback([common = common, a, exit_code] { *exit_code = Synth(*common, *a); });
  }
  {
    auto [cmd, common] = add("export", "Export a snapshot as Parquet, CSV or a Qlib directory");
    auto ref = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("parquet");
    auto adjust = std::make_shared<std::string>("none");
    cmd->add_option("snapshot", *ref, "Snapshot reference")->required();
    cmd->add_option("out", *out, "Output file or directory (must not exist)")->required();
    cmd->add_option("--format", *format, "parquet, csv or qlib");
    cmd->add_option("--adjust", *adjust, "none, forward or backward");
    cmd->callback([common = common, ref, out, format, adjust, exit_code] {
      *exit_code = Export(*common, *ref, *out, *format, *adjust);
    });
  }
  {
    auto [cmd, common] = add("gc", "Remove leftovers of interrupted ingests");
    cmd->callback([common = common, exit_code] { *exit_code = Gc(*common); });
  }
}

}  // namespace qraft::cli
