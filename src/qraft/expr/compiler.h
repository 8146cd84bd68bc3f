// Compiler: expressions → one shared DAG → an execution plan.
//
// All expressions compiled together form one graph. Nodes are hash-consed on a canonical key
// (operator, inputs, parameters, field; commutative inputs ordered), so `Mean($close, 5)` used by
// ten factors is computed once. Constant subexpressions are folded; only nodes reachable from an
// output exist. Every node carries its Qlib dtype (float32 fields stay float32 through elementwise
// arithmetic, rolling results are float64), its look-back (rows of history it reads, kUnbounded
// for recursions and expanding windows) and its look-ahead (rows of future it reads; only labels
// may have any).
//
// Errors: InvalidArgument "NAME: line:column: message" with the expression's name (or text).
// Thread-safety: a Program is immutable and may be evaluated from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/expr/kernels/kernel.h"
#include "qraft/expr/ops.h"
#include "qraft/expr/parser.h"

namespace qraft::expr {

using kernels::Semantics;

/// Parses "native" / "qlib".
Result<Semantics> ParseSemantics(std::string_view name);
std::string_view SemanticsName(Semantics s);

using NodeId = std::uint32_t;
inline constexpr int kUnbounded = -1;

/// The value type a node has under Qlib semantics (native semantics is float64 throughout).
enum class DType : std::uint8_t { kF64, kF32, kBool, kScalar };

struct Node {
  OpCode op = OpCode::kConst;
  DType dtype = DType::kF64;
  std::vector<NodeId> inputs;  // series inputs, in the kernel's order
  std::vector<double> params;  // numeric parameters, in the function's argument order
  std::string field;           // kField: the field name
  int output = 0;              // which output of a multi-output indicator
  int own_lookback = 0;        // rows of its inputs' history this node itself reads
  int lookback = 0;            // rows of history read, including inputs'; kUnbounded
  int lookahead = 0;           // rows of future read, including inputs'
  bool cross_section = false;  // this node or an input mixes symbols
};

struct ExprSpec {
  std::string name;  // column name; empty = the expression text
  std::string text;
};

struct CompileOptions {
  Semantics semantics = Semantics::kNative;
  // Future references (Ref(x, -k)) are rejected unless allowed: only labels may look ahead.
  bool allow_future = false;
  ParseLimits limits;
  int max_nodes = 1'000'000;  // nodes in the whole graph
  // Values for ${name} parameters.
  std::map<std::string, double> params;
  // Fields the data has; unknown fields are errors. nullopt = not checked (compiling without data).
  std::optional<std::vector<std::string>> known_fields;
  // Resolves a factor URI used inside an expression to the factor's expression text (its
  // parameters substituted). Unset: factor URIs are errors. The factor layer provides it.
  std::function<Result<std::string>(std::string_view uri)> resolve_factor;
};

struct Output {
  std::string name;
  std::string text;
  NodeId node = 0;
};

class Program {
 public:
  Semantics semantics() const { return semantics_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Output>& outputs() const { return outputs_; }
  /// Fields read, sorted.
  const std::vector<std::string>& fields() const { return fields_; }
  /// Largest look-back over the outputs (kUnbounded if any is unbounded).
  int lookback() const;
  /// Largest look-ahead over the outputs.
  int lookahead() const;
  /// A readable listing of the plan: one line per node.
  std::string Explain() const;

 private:
  friend class Compiler;
  Semantics semantics_ = Semantics::kNative;
  std::vector<Node> nodes_;  // topological order: inputs before consumers
  std::vector<Output> outputs_;
  std::vector<std::string> fields_;
};

/// Compiles `exprs` together. Output names must be unique.
Result<Program> Compile(std::span<const ExprSpec> exprs, const CompileOptions& options);

/// Parameter domains for a sweep: the cartesian product of the values (the last parameter
/// varies fastest), filtered by `where`, a constant expression over the parameters such as
/// "fast < slow" (empty: keep all).
struct ParamGrid {
  std::vector<std::pair<std::string, std::vector<double>>> domains;
  std::string where;
};

struct GridProgram {
  /// Outputs: for each kept combination in grid order, one per expression, named
  /// "NAME[p1=v1,p2=v2]". Every node that does not depend on a parameter is shared by all
  /// combinations, and nodes that depend only on some parameters are shared across the others.
  Program program;
  std::vector<std::map<std::string, double>> combinations;
  std::size_t exprs_per_combination = 0;
};

/// Compiles `exprs` once per parameter combination in `combinations` (in that order) into one
/// graph; outputs are named as by CompileGrid.
Result<GridProgram> CompileCombinations(std::span<const ExprSpec> exprs,
                                        std::span<const std::map<std::string, double>> combinations,
                                        const CompileOptions& options);

/// Expands and compiles `exprs` over `grid` into one graph. Errors: a parameter without a
/// domain, a `where` that is not constant, compile errors (naming the combination).
Result<GridProgram> CompileGrid(std::span<const ExprSpec> exprs, const ParamGrid& grid,
                                const CompileOptions& options);

}  // namespace qraft::expr
