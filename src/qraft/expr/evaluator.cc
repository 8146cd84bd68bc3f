#include "qraft/expr/evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/expr/dispatch.h"
#include "qraft/expr/elementwise.h"

namespace qraft::expr {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kCsTimeGrain = 64;

struct Rows {
  std::size_t first = 0;  // [first, end): from the symbol's first bar on
  std::size_t end = 0;
};

// ---- elementwise loops ------------------------------------------------------------------------

template <Semantics S, OpCode Op>
void ElementwiseLoop(const double* a, const double* b, const double* c, double* out,
                     std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = ApplyElementwise<S>(Op, a[i], b[i], c[i]);
}

template <Semantics S>
void RunElementwise(OpCode op, const double* a, const double* b, const double* c, double* out,
                    std::size_t n) {
  switch (op) {
#define QRAFT_EW(OP)                                 \
  case OpCode::OP:                                   \
    ElementwiseLoop<S, OpCode::OP>(a, b, c, out, n); \
    return;
    QRAFT_EW(kNeg)
    QRAFT_EW(kAbs)
    QRAFT_EW(kSign)
    QRAFT_EW(kLog)
    QRAFT_EW(kExp)
    QRAFT_EW(kSqrt)
    QRAFT_EW(kNot)
    QRAFT_EW(kAdd)
    QRAFT_EW(kSub)
    QRAFT_EW(kMul)
    QRAFT_EW(kDiv)
    QRAFT_EW(kPow)
    QRAFT_EW(kGt)
    QRAFT_EW(kGe)
    QRAFT_EW(kLt)
    QRAFT_EW(kLe)
    QRAFT_EW(kEq)
    QRAFT_EW(kNe)
    QRAFT_EW(kAnd)
    QRAFT_EW(kOr)
    QRAFT_EW(kGreater)
    QRAFT_EW(kLess)
    QRAFT_EW(kIf)
    QRAFT_EW(kIsNan)
    QRAFT_EW(kFillNan)
#undef QRAFT_EW
    default:
      std::fill(out, out + n, kNan);
  }
}

// ---- the plan -------------------------------------------------------------------------------

struct Plan {
  std::vector<int> level;         // stage of each node
  std::vector<char> materialize;  // needs a whole-panel array
  std::vector<char> external;     // read straight from the panel (native fields)
  std::vector<std::vector<std::size_t>> outputs_of;
  std::vector<std::vector<NodeId>> chunk_nodes;  // per stage, computed symbol-chunk-wise
  std::vector<std::vector<NodeId>> cs_nodes;     // per stage, computed before its chunks
  std::vector<std::size_t> last_use;  // within its consumers' stage: index of last consumer
  std::vector<char> read_in_stage;    // a chunk node of the node's own stage reads it
  std::vector<int> last_stage;        // the last stage that reads the node
  // Rows before EvalOptions::first_row each node must compute for its consumers (kAll: every
  // row, for unbounded look-backs).
  std::vector<std::size_t> need;
  // Quantiles of one input over one window (Alpha158's QTLU/QTLD) share a sorted window: the
  // first of them in the stage computes all (quantile_group[leader]; empty for the others).
  std::vector<std::vector<NodeId>> quantile_group;
};

constexpr std::size_t kAll = static_cast<std::size_t>(-1);

// Series kernels keep running state and must start at a reset row (kernels/kernel.h).
bool AlignsBegin(OpCode op) {
  const OpFamily f = FamilyOf(op);
  return f == OpFamily::kTimeSeries || f == OpFamily::kIndicator;
}

Plan MakePlan(const Program& program) {
  const auto& nodes = program.nodes();
  const bool qlib = program.semantics() == Semantics::kQlib;
  Plan p;
  p.level.assign(nodes.size(), 0);
  p.materialize.assign(nodes.size(), 0);
  p.external.assign(nodes.size(), 0);
  p.outputs_of.resize(nodes.size());
  p.last_use.assign(nodes.size(), 0);
  p.read_in_stage.assign(nodes.size(), 0);
  p.last_stage.assign(nodes.size(), 0);
  int stages = 1;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    int lvl = 0;
    for (NodeId in : n.inputs)
      lvl = std::max(lvl, p.level[in]);
    const bool cs = FamilyOf(n.op) == OpFamily::kCrossSection;
    if (cs) ++lvl;
    p.level[i] = lvl;
    p.last_stage[i] = std::max(p.last_stage[i], lvl);
    stages = std::max(stages, lvl + 1);
    if (n.op == OpCode::kField && !qlib) p.external[i] = 1;
    if (cs) p.materialize[i] = 1;
    for (NodeId in : n.inputs) {
      if (cs || p.level[in] != lvl) p.materialize[in] = 1;
      if (!cs && p.level[in] == lvl) p.read_in_stage[in] = 1;
      p.last_stage[in] = std::max(p.last_stage[in], lvl);
    }
  }
  for (std::size_t o = 0; o < program.outputs().size(); ++o) {
    p.outputs_of[program.outputs()[o].node].push_back(o);
  }
  p.chunk_nodes.resize(stages);
  p.cs_nodes.resize(stages);
  // Leaves (constants, qlib fields) are scheduled just before their first reader in the stage,
  // not where they were created, so their buffers are not held across unrelated work.
  std::vector<char> scheduled(nodes.size(), 0);
  auto schedule = [&](NodeId id) {
    scheduled[id] = 1;
    p.chunk_nodes[p.level[id]].push_back(id);
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (p.external[i]) continue;
    if (FamilyOf(nodes[i].op) == OpFamily::kCrossSection) {
      p.cs_nodes[p.level[i]].push_back(static_cast<NodeId>(i));
      continue;
    }
    if (FamilyOf(nodes[i].op) == OpFamily::kLeaf) continue;
    for (NodeId in : nodes[i].inputs) {
      if (!scheduled[in] && !p.external[in] && FamilyOf(nodes[in].op) == OpFamily::kLeaf &&
          p.level[in] == p.level[i]) {
        schedule(in);
      }
    }
    schedule(static_cast<NodeId>(i));
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {  // leaves read only by later stages or outputs
    if (!scheduled[i] && !p.external[i] && FamilyOf(nodes[i].op) == OpFamily::kLeaf) {
      p.chunk_nodes[p.level[i]].insert(p.chunk_nodes[p.level[i]].begin(), static_cast<NodeId>(i));
    }
  }
  for (const auto& stage : p.chunk_nodes) {
    for (std::size_t k = 0; k < stage.size(); ++k) {
      for (NodeId in : nodes[stage[k]].inputs)
        p.last_use[in] = k;
    }
  }
  p.quantile_group.resize(nodes.size());
  for (const auto& stage : p.chunk_nodes) {
    std::vector<char> grouped(nodes.size(), 0);
    for (std::size_t k = 0; k < stage.size(); ++k) {
      const Node& a = nodes[stage[k]];
      if (a.op != OpCode::kQuantile || grouped[stage[k]]) continue;
      std::vector<NodeId> group = {stage[k]};
      for (std::size_t j = k + 1; j < stage.size(); ++j) {
        const Node& b = nodes[stage[j]];
        if (b.op == OpCode::kQuantile && b.inputs == a.inputs && b.params[0] == a.params[0] &&
            b.params.back() == a.params.back()) {
          group.push_back(stage[j]);
          grouped[stage[j]] = 1;
        }
      }
      if (group.size() > 1) p.quantile_group[stage[k]] = std::move(group);
    }
  }
  p.need.assign(nodes.size(), 0);
  for (std::size_t i = nodes.size(); i-- > 0;) {
    const Node& n = nodes[i];
    // A series kernel starts up to kResetPeriod - 1 rows earlier than asked (BeginRow aligns
    // it), and reads its own look-back before that.
    const std::size_t slack = AlignsBegin(n.op) ? kernels::kResetPeriod - 1 : 0;
    for (NodeId in : n.inputs) {
      std::size_t need = p.need[i];
      if (need != kAll) {
        need = n.own_lookback == kUnbounded
                   ? kAll
                   : need + slack + static_cast<std::size_t>(n.own_lookback);
      }
      p.need[in] = std::max(p.need[in], need);
    }
  }
  return p;
}

// ---- execution ------------------------------------------------------------------------------

}  // namespace

Status ResultSink::ConsumeRows(std::size_t, std::size_t, std::size_t, std::span<const double>) {
  return Status::Internal("this result sink takes no row tiles");
}

namespace {

class Executor {
 public:
  Executor(const Program& program, const Panel& data, ResultSink& sink, std::size_t chunk,
           std::size_t first_row)
      : first_row_(first_row),
        program_(program),
        data_(data),
        sink_(sink),
        plan_(MakePlan(program)),
        S_(data.num_symbols()),
        T_(data.num_times()),
        chunk_(chunk),
        qlib_(program.semantics() == Semantics::kQlib),
        tiles_(sink.WantsRowTiles()) {}

  EvalStats stats() const {
    return {peak_buffers_.load(), static_cast<std::size_t>(std::count_if(
                                      plan_.materialize.begin(), plan_.materialize.end(),
                                      [](char m) { return m != 0; }))};
  }

  Status Run() {
    const auto& nodes = program_.nodes();
    field_ptr_.assign(nodes.size(), nullptr);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].op != OpCode::kField) continue;
      const auto f = data_.FindField(nodes[i].field);
      if (!f) {
        return Status::NotFound(fmt::format("the data has no field '{}'", nodes[i].field));
      }
      field_ptr_[i] = data_.field(*f).data();
    }
    rows_.resize(S_);
    for (std::size_t s = 0; s < S_; ++s) {
      // From the first bar to the end of the calendar, not to the last bar: whether a symbol
      // trades again after a gap is not known at the time (the look-ahead check proves it).
      if (auto span = data_.BarSpan(s)) rows_[s] = {span->first, T_};
    }
    mat_.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (plan_.materialize[i] && !plan_.external[i]) mat_[i].assign(S_ * T_, kNan);
    }
    for (std::size_t stage = 0; stage < plan_.chunk_nodes.size(); ++stage) {
      QRAFT_RETURN_NOT_OK(RunCrossSections(stage));
      QRAFT_RETURN_NOT_OK(ParallelForStatus(
          S_, chunk_, [&](std::size_t s0, std::size_t s1) { return RunChunk(stage, s0, s1); }));
      // Release what no later stage reads.
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!mat_[i].empty() && static_cast<std::size_t>(plan_.last_stage[i]) <= stage) {
          std::vector<double>().swap(mat_[i]);
        }
      }
    }
    return Status::OK();
  }

 private:
  // Pointer to node `id`'s values for symbol `s0` onwards, when it lives outside the chunk.
  const double* Shared(NodeId id, std::size_t s0) const {
    if (plan_.external[id]) return field_ptr_[id] + s0 * T_;
    if (!mat_[id].empty()) return mat_[id].data() + s0 * T_;
    return nullptr;
  }

  Status RunCrossSections(std::size_t stage) {
    for (NodeId id : plan_.cs_nodes[stage]) {
      const Node& n = program_.nodes()[id];
      std::vector<const double*> in;
      for (NodeId k : n.inputs)
        in.push_back(Shared(k, 0));
      double* out = mat_[id].data();
      const std::size_t from = BeginRow(id, {0, T_});
      if (n.op == OpCode::kInstrument) {
        // Every symbol gets the named symbol's series.
        QRAFT_ASSIGN_OR_RETURN(const std::size_t src, FindSymbol(n.field));
        const double* x = in[0] + src * T_;
        ParallelFor(S_, 64, [&](std::size_t a, std::size_t b) {
          for (std::size_t s = a; s < b; ++s)
            std::copy(x + from, x + T_, out + s * T_ + from);
        });
      } else {
        ParallelFor(T_ - from, kCsTimeGrain, [&](std::size_t t0, std::size_t t1) {
          internal::RunCrossSection(n, in.data(), S_, T_, {from + t0, from + t1}, out);
        });
      }
      // Rows outside a symbol's bars are NaN whatever the kernel did.
      for (std::size_t s = 0; s < S_; ++s)
        MaskOutside(out + s * T_, rows_[s]);
      if (!plan_.outputs_of[id].empty()) {
        QRAFT_RETURN_NOT_OK(ParallelForStatus(S_, chunk_, [&](std::size_t s0, std::size_t s1) {
          return Deliver(id, s0, s1, out + s0 * T_);
        }));
      }
    }
    return Status::OK();
  }

  // A symbol of the data by name, exactly or else ignoring case (Qlib lower-cases names).
  Result<std::size_t> FindSymbol(const std::string& name) const {
    if (auto i = data_.symbols().Find(name)) return *i;
    const auto lower = [](std::string v) {
      std::transform(v.begin(), v.end(), v.begin(), ::tolower);
      return v;
    };
    for (std::size_t s = 0; s < S_; ++s) {
      if (lower(data_.symbols()[s]) == lower(name)) return s;
    }
    return Status::NotFound(
        fmt::format("symbol '{}' (named in Mask/ChangeInstrument) is not in "
                    "the data",
                    name));
  }

  void MaskOutside(double* series, Rows r) const {
    std::fill(series, series + std::min(r.first, T_), kNan);
    std::fill(series + std::max(r.end, r.first), series + T_, kNan);
  }

  Status Deliver(NodeId id, std::size_t s0, std::size_t s1, const double* values) {
    const std::size_t n = (s1 - s0) * T_;
    std::vector<double> rounded;
    if (qlib_) {
      // Qlib casts every result to float32.
      rounded.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        rounded[i] = static_cast<float>(values[i]);
      values = rounded.data();
    }
    for (std::size_t o : plan_.outputs_of[id]) {
      QRAFT_RETURN_NOT_OK(sink_.Consume(o, s0, s1, {values, n}));
    }
    return Status::OK();
  }

  Status RunChunk(std::size_t stage, std::size_t s0, std::size_t s1) {
    const auto& nodes = program_.nodes();
    const std::size_t syms = s1 - s0;
    const std::size_t n = syms * T_;
    std::vector<std::unique_ptr<double[]>> pool;
    std::vector<double*> free_list;
    std::vector<double*> local(nodes.size(), nullptr);
    auto acquire = [&]() -> double* {
      if (!free_list.empty()) {
        double* b = free_list.back();
        free_list.pop_back();
        return b;
      }
      pool.push_back(std::make_unique_for_overwrite<double[]>(n));
      std::size_t seen = peak_buffers_.load();
      while (pool.size() > seen && !peak_buffers_.compare_exchange_weak(seen, pool.size())) {
      }
      return pool.back().get();
    };
    auto input = [&](NodeId id) -> const double* {
      if (local[id] != nullptr) return local[id];
      return Shared(id, s0);
    };

    if (stage == 0) {  // native fields that are outputs come straight from the panel
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (plan_.external[i] && !plan_.outputs_of[i].empty()) {
          QRAFT_RETURN_NOT_OK(Deliver(static_cast<NodeId>(i), s0, s1, Shared(i, s0)));
        }
      }
    }

    const auto& order = plan_.chunk_nodes[stage];
    std::vector<double*> computed(nodes.size(), nullptr);  // by a quantile group's leader
    std::vector<TiledNode> deferred;
    std::vector<char> pinned(nodes.size(), 0);  // read by a deferred node: not recycled
    for (std::size_t k = 0; k < order.size(); ++k) {
      const NodeId id = order[k];
      const Node& node = nodes[id];
      const double* in[6] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
      for (std::size_t j = 0; j < node.inputs.size() && j < 6; ++j)
        in[j] = input(node.inputs[j]);
      if (node.op == OpCode::kField) in[0] = field_ptr_[id] + s0 * T_;  // qlib: rounded copy
      double* out = computed[id];
      if (out == nullptr && !plan_.quantile_group[id].empty()) {
        const std::vector<NodeId>& group = plan_.quantile_group[id];
        for (NodeId m : group) {
          computed[m] = plan_.materialize[m] ? mat_[m].data() + s0 * T_ : acquire();
        }
        for (std::size_t s = 0; s < syms; ++s)
          ComputeQuantiles(group, in[0], s, s0, computed);
        out = computed[id];
      } else if (out == nullptr && InTiles(id)) {
        // Delivered after the stage's other nodes, all tiled outputs one row tile at a time:
        // outputs that share inputs then read them from cache. Their inputs stay alive.
        deferred.push_back({id, {in[0], in[1], in[2]}});
        for (NodeId in_id : node.inputs)
          pinned[in_id] = 1;
        continue;
      } else if (out == nullptr) {
        out = plan_.materialize[id] ? mat_[id].data() + s0 * T_ : acquire();
        for (std::size_t s = 0; s < syms; ++s) {
          ComputeSymbol(node, in, s, rows_[s0 + s], BeginRow(id, rows_[s0 + s]), out + s * T_);
        }
      }
      if (!plan_.materialize[id]) local[id] = out;
      if (out != nullptr && !plan_.outputs_of[id].empty()) {
        QRAFT_RETURN_NOT_OK(Deliver(id, s0, s1, out));
      }
      // Recycle chunk buffers whose last reader in this stage was this node.
      for (NodeId in_id : node.inputs) {
        if (local[in_id] != nullptr && plan_.last_use[in_id] == k && pinned[in_id] == 0) {
          free_list.push_back(local[in_id]);
          local[in_id] = nullptr;
        }
      }
      if (local[id] != nullptr && !plan_.read_in_stage[id]) {
        free_list.push_back(local[id]);
        local[id] = nullptr;
      }
    }
    return DeliverTiles(deferred, s0, s1);
  }

  // Whether node `id` goes to the sink in row tiles (ResultSink::WantsRowTiles).
  bool InTiles(NodeId id) const {
    return tiles_ && !qlib_ && !plan_.outputs_of[id].empty() && !plan_.materialize[id] &&
           !plan_.read_in_stage[id] && FamilyOf(program_.nodes()[id].op) == OpFamily::kElementwise;
  }

  // An elementwise output computed in row tiles, and its inputs for the chunk's first symbol.
  struct TiledNode {
    NodeId id;
    const double* in[3];
  };

  // The tiled nodes for the chunk's symbols [s0, s1): per symbol and row tile, every node in
  // turn, each tile delivered to every output it is; rows outside [BeginRow, end) are NaN, as
  // ComputeSymbol makes them.
  Status DeliverTiles(const std::vector<TiledNode>& tiled, std::size_t s0, std::size_t s1) {
    if (tiled.empty()) return Status::OK();
    constexpr std::size_t kTile = ResultSink::kRowTile;
    thread_local std::vector<double> tile(kTile);
    double* o = tile.data();
    for (std::size_t s = s0; s < s1; ++s) {
      const Rows r = rows_[s];
      for (std::size_t t0 = 0; t0 < T_; t0 += kTile) {
        const std::size_t t1 = std::min(T_, t0 + kTile);
        for (const TiledNode& node : tiled) {
          const std::size_t first = r.end > r.first ? BeginRow(node.id, r) : T_;
          const std::size_t end = r.end > r.first ? r.end : T_;
          const std::size_t lo = std::clamp(first, t0, t1), hi = std::clamp(end, lo, t1);
          std::fill(o, o + (lo - t0), kNan);
          if (hi > lo) {
            const std::size_t off = (s - s0) * T_ + lo;
            const double* a = node.in[0] + off;
            const double* b = node.in[1] != nullptr ? node.in[1] + off : a;
            const double* c = node.in[2] != nullptr ? node.in[2] + off : a;
            RunElementwise<Semantics::kNative>(program_.nodes()[node.id].op, a, b, c, o + (lo - t0),
                                               hi - lo);
          }
          std::fill(o + (hi - t0), o + (t1 - t0), kNan);
          for (std::size_t output : plan_.outputs_of[node.id]) {
            QRAFT_RETURN_NOT_OK(sink_.ConsumeRows(output, s, t0, {o, t1 - t0}));
          }
        }
      }
    }
    return Status::OK();
  }

  // A quantile group for symbol s of the chunk starting at s0: one kernel call, one output each.
  void ComputeQuantiles(const std::vector<NodeId>& group, const double* x, std::size_t s,
                        std::size_t s0, const std::vector<double*>& outs) const {
    const Rows r = rows_[s0 + s];
    std::size_t begin = r.end;
    std::vector<double> qs;
    std::vector<double*> o;
    for (NodeId m : group) {
      double* series = outs[m] + s * T_;
      MaskOutside(series, r);
      begin = std::min(begin, BeginRow(m, r));
      qs.push_back(program_.nodes()[m].params[1]);
      o.push_back(series + r.first);
    }
    if (r.end <= r.first) return;
    for (double* series : o)
      std::fill(series, series + (begin - r.first), kNan);
    internal::RunQuantiles(program_.nodes()[group[0]], program_.semantics(), x + s * T_ + r.first,
                           r.end - r.first, {begin - r.first, r.end - r.first}, qs, o.data());
  }

  // Rows [begin, r.end) of one symbol; rows before `begin` are NaN (never read: begin covers
  // every consumer's look-back).
  void ComputeSymbol(const Node& node, const double* const* in, std::size_t s, Rows r,
                     std::size_t begin, double* out) const {
    MaskOutside(out, r);
    if (r.end <= r.first) return;
    std::fill(out + r.first, out + begin, kNan);
    const std::size_t off = s * T_ + r.first;
    const std::size_t len = r.end - r.first;
    const std::size_t skip = begin - r.first;  // rows of the series not recomputed
    double* o = out + r.first;
    const double* x[6];
    for (int j = 0; j < 6; ++j)
      x[j] = in[j] != nullptr ? in[j] + off : nullptr;
    switch (FamilyOf(node.op)) {
      case OpFamily::kLeaf:
        if (node.op == OpCode::kConst) {
          std::fill(o + skip, o + len, node.params[0]);
        } else {  // a field under qlib semantics: Qlib stores float32
          for (std::size_t i = skip; i < len; ++i)
            o[i] = static_cast<float>(x[0][i]);
        }
        return;
      case OpFamily::kElementwise: {
        const double* a = x[0] + skip;
        const double* b = x[1] != nullptr ? x[1] + skip : a;
        const double* c = x[2] != nullptr ? x[2] + skip : a;
        if (qlib_) {
          RunElementwise<Semantics::kQlib>(node.op, a, b, c, o + skip, len - skip);
        } else {
          RunElementwise<Semantics::kNative>(node.op, a, b, c, o + skip, len - skip);
        }
        if (qlib_ && node.dtype == DType::kF32) {
          for (std::size_t i = skip; i < len; ++i)
            o[i] = static_cast<float>(o[i]);
        }
        return;
      }
      case OpFamily::kTimeSeries:
      case OpFamily::kIndicator:
        internal::RunSeries(node, program_.semantics(), x, len, {skip, len}, o);
        return;
      case OpFamily::kCrossSection:
        return;  // computed in RunCrossSections
    }
  }

  // First row of `node` that symbol rows `r` compute: rows from first_row_ - need, aligned
  // down to the kernels' reset period on the symbol's own series so that running sums restart
  // exactly where a full evaluation would have them.
  std::size_t BeginRow(NodeId node, Rows r) const {
    if (first_row_ == 0 || plan_.need[node] == kAll || plan_.need[node] >= first_row_)
      return r.first;
    const std::size_t start = first_row_ - plan_.need[node];
    if (start <= r.first) return r.first;
    if (!AlignsBegin(program_.nodes()[node].op)) return std::min(start, r.end);
    const std::size_t rel = (start - r.first) / kernels::kResetPeriod * kernels::kResetPeriod;
    return std::min(r.first + rel, r.end);
  }

  std::size_t first_row_;
  std::atomic<std::size_t> peak_buffers_{0};
  const Program& program_;
  const Panel& data_;
  ResultSink& sink_;
  Plan plan_;
  std::size_t S_;
  std::size_t T_;
  std::size_t chunk_;
  bool qlib_;
  bool tiles_;  // the sink takes row tiles
  std::vector<const double*> field_ptr_;
  std::vector<Rows> rows_;
  std::vector<std::vector<double>> mat_;
};

class PanelSink : public ResultSink {
 public:
  PanelSink(std::vector<std::span<double>> fields, std::size_t num_times)
      : fields_(std::move(fields)), T_(num_times) {}
  Status Consume(std::size_t output, std::size_t s0, std::size_t s1,
                 std::span<const double> values) override {
    QRAFT_CHECK(values.size() == (s1 - s0) * T_);
    std::copy(values.begin(), values.end(), fields_[output].begin() + s0 * T_);
    return Status::OK();
  }

 private:
  std::vector<std::span<double>> fields_;
  std::size_t T_;
};

}  // namespace

Status Evaluate(const Program& program, const Panel& data, ResultSink& sink,
                const EvalOptions& options, EvalStats* stats) {
  std::size_t chunk = options.chunk_symbols;
  if (chunk == 0)
    chunk = std::clamp<std::size_t>(32768 / std::max<std::size_t>(data.num_times(), 1), 1, 256);
  Executor executor(program, data, sink, chunk, options.first_row);
  Status st = executor.Run();
  if (stats != nullptr) *stats = executor.stats();
  return st;
}

namespace {

// Keeps rows >= first_row of each chunk.
class TailSink : public ResultSink {
 public:
  TailSink(std::vector<std::span<double>> fields, std::size_t num_times, std::size_t first_row)
      : fields_(std::move(fields)), T_(num_times), first_(first_row) {}
  Status Consume(std::size_t output, std::size_t s0, std::size_t s1,
                 std::span<const double> values) override {
    for (std::size_t s = s0; s < s1; ++s) {
      const double* src = values.data() + (s - s0) * T_;
      std::copy(src + first_, src + T_, fields_[output].begin() + s * T_ + first_);
    }
    return Status::OK();
  }

 private:
  std::vector<std::span<double>> fields_;
  std::size_t T_;
  std::size_t first_;
};

}  // namespace

Result<Panel> EvaluateIncremental(const Program& program, const Panel& data, const Panel& previous,
                                  const EvalOptions& options) {
  const std::size_t S = data.num_symbols(), T = data.num_times(), T0 = previous.num_times();
  if (previous.symbols().names() != data.symbols().names()) {
    return Status::InvalidArgument(
        "incremental evaluation: the symbols differ from the previous "
        "result's");
  }
  if (T0 > T || !std::equal(previous.calendar().times().begin(), previous.calendar().times().end(),
                            data.calendar().times().begin())) {
    return Status::InvalidArgument(
        "incremental evaluation: the data's calendar does not extend "
        "the previous result's");
  }
  PanelBuilder builder(std::make_shared<Calendar>(data.calendar()),
                       std::make_shared<SymbolIndex>(data.symbols().names()));
  std::vector<std::span<double>> fields;
  for (const Output& o : program.outputs()) {
    const auto f = previous.FindField(o.name);
    if (!f) {
      return Status::InvalidArgument(
          fmt::format("incremental evaluation: the previous result has no output '{}'", o.name));
    }
    std::span<double> dst = builder.AddField(o.name);
    for (std::size_t s = 0; s < S; ++s) {
      std::span<const double> src = previous.series(*f, s);
      std::copy(src.begin(), src.end(), dst.begin() + s * T);
    }
    fields.push_back(dst);
  }
  TailSink sink(std::move(fields), T, T0);
  EvalOptions tail = options;
  tail.first_row = T0;
  QRAFT_RETURN_NOT_OK(Evaluate(program, data, sink, tail));
  return std::move(builder).Build();
}

Result<Panel> Evaluate(const Program& program, const Panel& data, const EvalOptions& options) {
  PanelBuilder builder(std::make_shared<Calendar>(data.calendar()),
                       std::make_shared<SymbolIndex>(data.symbols().names()));
  std::vector<std::span<double>> fields;
  for (const Output& o : program.outputs())
    fields.push_back(builder.AddField(o.name));
  PanelSink sink(std::move(fields), data.num_times());
  QRAFT_RETURN_NOT_OK(Evaluate(program, data, sink, options));
  return std::move(builder).Build();
}

Result<Panel> EvaluateExpressions(std::span<const ExprSpec> exprs, const Panel& data,
                                  CompileOptions options) {
  options.known_fields = data.field_names();
  QRAFT_ASSIGN_OR_RETURN(Program program, Compile(exprs, options));
  return Evaluate(program, data);
}

}  // namespace qraft::expr
