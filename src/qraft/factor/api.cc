#include "qraft/factor/api.h"

#include <fmt/format.h>

#include "qraft/core/file_io.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/synth.h"
#include "qraft/expr/api.h"
#include "qraft/expr/evaluator.h"

namespace qraft::factor {
namespace fs = std::filesystem;

std::optional<Panel> FeatureCache::Get(const std::string& snapshot_id,
                                       const std::string& signature) const {
  const fs::path path = root_ / snapshot_id / (signature + ".arrow");
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  Result<Panel> p = data::io::ReadPanelArrow(path);
  if (!p.ok() || p->num_fields() != 1) return std::nullopt;
  return std::move(*p);
}

Status FeatureCache::Put(const std::string& snapshot_id, const std::string& signature,
                         const Panel& values) const {
  const fs::path dir = root_ / snapshot_id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot create: {}", dir.string(), ec.message()));
  const fs::path path = dir / (signature + ".arrow");
  const fs::path tmp = TempSibling(path);
  Status st = data::io::WritePanelArrow(
      values, tmp, {{"qraft.feature_signature", signature}, {"qraft.snapshot_id", snapshot_id}});
  if (!st.ok()) {
    fs::remove(tmp, ec);
    return st;
  }
  // Atomic but not fsync'ed: an entry is cheap to recompute, and one damaged by a crash fails to
  // read, which Get() treats as a miss.
  return PublishFile(tmp, path, {.sync_file = false});
}

namespace {

// The output name of an item: its NAME, else its text.
std::string NameOf(const expr::ExprSpec& item) {
  return item.name.empty() ? item.text : item.name;
}

}  // namespace

Result<FactorValues> ComputeFactorValues(const data::SnapshotStore& store,
                                         const FactorRegistry& registry,
                                         const FactorValuesRequest& request,
                                         const FeatureCache* cache) {
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store.Open(request.data.snapshot));
  FactorValues out;
  out.snapshot_id = snap.id();
  out.daily = snap.date_only();
  const Panel& full = snap.panel();

  // One column per item, computed on the whole snapshot (cached per URI) or, for plain
  // expressions, through the expression API with warm-up.
  std::vector<Panel> columns;
  for (const expr::ExprSpec& item : request.items) {
    const std::string name = NameOf(item);
    expr::Semantics semantics = request.semantics;
    std::optional<std::string> signature;
    if (IsFactorUri(item.text)) {
      QRAFT_ASSIGN_OR_RETURN(FactorUri uri, ParseFactorUri(item.text));
      QRAFT_ASSIGN_OR_RETURN(FactorDef def, registry.Find(uri));
      semantics = def.semantics;
      QRAFT_ASSIGN_OR_RETURN(signature, def.FeatureSignature(uri.params));
    }
    expr::CompileOptions compile;
    compile.semantics = semantics;
    compile.allow_future = request.allow_future;
    compile.resolve_factor = registry.Resolver(semantics);
    compile.known_fields = full.field_names();
    std::optional<Panel> whole;
    if (signature && cache != nullptr && request.data.adjust == data::Adjust::kNone) {
      whole = cache->Get(snap.id(), *signature);
      out.cache_hits += whole.has_value();
    }
    if (!whole && signature && request.data.adjust == data::Adjust::kNone) {
      std::vector<expr::ExprSpec> one = {{name, item.text}};
      QRAFT_ASSIGN_OR_RETURN(expr::Program program, expr::Compile(one, compile));
      QRAFT_ASSIGN_OR_RETURN(whole, expr::Evaluate(program, full));
      if (cache != nullptr) QRAFT_RETURN_NOT_OK(cache->Put(snap.id(), *signature, *whole));
    }
    if (whole) {
      QRAFT_ASSIGN_OR_RETURN(Panel sliced,
                             whole->Select(request.data.symbols.empty() ? full.symbols().names()
                                                                        : request.data.symbols,
                                           request.data.start, request.data.end));
      columns.push_back(std::move(sliced));
      continue;
    }
    expr::SnapshotExprRequest req;
    req.data = request.data;
    req.data.snapshot = snap.id();
    req.exprs = {{name, item.text}};
    req.compile = compile;
    QRAFT_ASSIGN_OR_RETURN(expr::SnapshotExprResult r, expr::EvaluateOnSnapshot(store, req));
    columns.push_back(std::move(r.values));
  }

  data::DataRequest bars = request.data;
  bars.snapshot = snap.id();
  bars.fields.clear();
  QRAFT_ASSIGN_OR_RETURN(Panel selected, data::GetData(store, bars));
  PanelBuilder builder(selected.calendar(), selected.symbols().names());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    std::span<double> dst = builder.AddField(NameOf(request.items[i]));
    std::span<const double> src = columns[i].field(0);
    std::copy(src.begin(), src.end(), dst.begin());
  }
  out.values = std::move(builder).Build();
  if (selected.HasField("close")) {
    const std::vector<std::string> close = {"close"};
    QRAFT_ASSIGN_OR_RETURN(out.close, selected.SelectFields(close));
  } else {
    QRAFT_ASSIGN_OR_RETURN(out.close, selected.SelectFields({}));
  }
  return out;
}

Result<LeakReport> CheckItem(const FactorRegistry& registry, const expr::ExprSpec& item,
                             expr::Semantics semantics, bool allow_future, const Panel& data) {
  expr::CompileOptions compile;
  compile.semantics = semantics;
  if (IsFactorUri(item.text)) {
    QRAFT_ASSIGN_OR_RETURN(FactorDef def, registry.Find(item.text));
    compile.semantics = def.semantics;
  }
  compile.allow_future = allow_future;
  compile.resolve_factor = registry.Resolver(compile.semantics);
  compile.known_fields = data.field_names();
  std::vector<expr::ExprSpec> one = {{NameOf(item), item.text}};
  QRAFT_ASSIGN_OR_RETURN(expr::Program program, expr::Compile(one, compile));
  return CheckLookAhead(program, data);
}

Result<Panel> LeakCheckPanel() {
  data::SynthOptions o;
  o.symbols = 40;
  o.bars = 400;
  o.seed = 20261122;
  QRAFT_ASSIGN_OR_RETURN(data::SnapshotContent content, data::Synthesize(o));
  return std::move(content.panel);
}

Result<LeakReport> ApproveFactor(FactorRegistry& registry, const FactorUri& uri, const Panel& data,
                                 std::string_view note) {
  QRAFT_ASSIGN_OR_RETURN(FactorDef def, registry.Find(uri));
  FactorUri exact{def.library, def.name, def.version, {}};
  QRAFT_ASSIGN_OR_RETURN(LeakReport report, CheckItem(registry, {def.name, exact.ToString()},
                                                      def.semantics, false, data));
  if (report.leak) return report;
  QRAFT_RETURN_NOT_OK(
      registry.SetStatus(exact, FactorStatus::kApproved,
                         fmt::format("{}{}{}", report.ToText(), note.empty() ? "" : "; ", note)));
  return report;
}

}  // namespace qraft::factor
