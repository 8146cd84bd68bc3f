// Evaluator: runs a compiled Program over a Panel.
//
// Execution model. The graph is cut into stages at cross-sectional operators. Within a stage,
// symbols are processed in chunks (a few dozen symbols, so that a chunk's intermediates stay in
// cache): every node of the stage runs over the chunk into a pooled buffer that is recycled after
// the node's last consumer, so memory grows with the number of *live* intermediates, not with
// the number of nodes. Chunks run in parallel. Values needed across stages (inputs of
// cross-sectional operators) are materialised for the whole panel; cross-sectional operators
// then run in parallel over blocks of timestamps.
//
// Each symbol is evaluated from its first bar (Panel::BarSpan) to the end of the calendar; rows
// before its first bar are NaN in every result. Rows after its last bar are computed too (mostly
// NaN): cutting them would use the knowledge that the symbol never trades again, which is not
// available at the time. Under qlib semantics this is Qlib's model (an instrument's series starts
// at its first stored value; min_periods=1 windows start there); fields are read as float32 and
// results are cast to float32.
//
// Determinism: chunk boundaries depend only on the panel's shape, kernels are pure, so results
// are bit-identical whatever the thread count.
// Thread-safety: Evaluate may be called concurrently; the sink is called from many threads for
// disjoint symbol ranges.
#pragma once

#include <cstddef>
#include <span>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/expr/compiler.h"

namespace qraft::expr {

/// Receives results chunk by chunk.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  /// `values` holds output `output` for symbols [symbol_begin, symbol_end) × all times,
  /// symbol-major; valid only during the call. Called concurrently for disjoint symbol ranges.
  virtual Status Consume(std::size_t output, std::size_t symbol_begin, std::size_t symbol_end,
                         std::span<const double> values) = 0;

  /// Row tiles. A sink that answers true may receive some outputs through ConsumeRows instead of
  /// Consume: those an elementwise node computes (a comparison, an arithmetic combination) and
  /// nothing else reads, under native semantics. They are then computed one tile at a time and
  /// never stored whole: at millions of rows per symbol, a whole series per output is memory
  /// traffic, not arithmetic. Every output still arrives exactly once per symbol, one way or
  /// the other.
  virtual bool WantsRowTiles() const { return false; }
  static constexpr std::size_t kRowTile = 4096;
  /// Rows [row_begin, row_begin + values.size()) of output `output` for one symbol; row_begin is
  /// a multiple of kRowTile and the tiles of one (output, symbol) arrive in row order, all
  /// within one thread; distinct symbols concurrently. Only called when WantsRowTiles().
  virtual Status ConsumeRows(std::size_t output, std::size_t symbol, std::size_t row_begin,
                             std::span<const double> values);
};

struct EvalOptions {
  // Symbols per chunk; 0 = chosen from the panel's length (about 256 KiB per buffer).
  std::size_t chunk_symbols = 0;
  // Only output rows >= first_row are wanted (rows before it are unspecified in the sink's
  // values): each node is computed from as far back as its consumers' look-back requires.
  // EvaluateIncremental uses it.
  std::size_t first_row = 0;
};

/// What an evaluation used (filled when passed to Evaluate).
struct EvalStats {
  // Most chunk buffers alive at once in any chunk: the live intermediates, whatever the number
  // of nodes.
  std::size_t peak_chunk_buffers = 0;
  std::size_t materialized_arrays = 0;  // whole-panel arrays (cross-sectional inputs/outputs)
};

/// Streams every output to `sink`. Errors: a field the program reads is missing from `data`.
Status Evaluate(const Program& program, const Panel& data, ResultSink& sink,
                const EvalOptions& options = {}, EvalStats* stats = nullptr);

/// Evaluates into a Panel with one field per output (named after it), on data's calendar and
/// symbols.
Result<Panel> Evaluate(const Program& program, const Panel& data, const EvalOptions& options = {});

/// Incremental evaluation after new bars arrive. `previous` holds the outputs of `program` on a
/// prefix of `data` (same symbols in the same order, data's calendar extends previous'; the
/// bars there unchanged). Only rows from previous.num_times() on are recomputed, reaching back
/// as far as the look-back needs (the whole history for unbounded ones); the result equals
/// Evaluate(program, data) bit for bit. Errors: outputs, symbols or calendar do not match.
Result<Panel> EvaluateIncremental(const Program& program, const Panel& data, const Panel& previous,
                                  const EvalOptions& options = {});

/// Convenience: compile and evaluate expressions against `data` (fields checked against it).
Result<Panel> EvaluateExpressions(std::span<const ExprSpec> exprs, const Panel& data,
                                  CompileOptions options = {});

}  // namespace qraft::expr
