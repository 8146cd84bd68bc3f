// Internal: calls the kernel that computes one node (evaluator.cc's only link to kernels/).
#pragma once

#include <cstddef>
#include <span>

#include "qraft/expr/compiler.h"
#include "qraft/expr/kernels/kernel.h"

namespace qraft::expr::internal {

/// A time-series or indicator node over one symbol: in[k] and out point at the symbol's first
/// bar; computes rows `rows` of the `len`-row series (rows.end == len).
void RunSeries(const Node& node, Semantics semantics, const double* const* in, std::size_t len,
               kernels::Range rows, double* out);

/// Quantile nodes sharing input and window (`node` is one of them) for the quantiles `qs`.
void RunQuantiles(const Node& node, Semantics semantics, const double* x, std::size_t len,
                  kernels::Range rows, std::span<const double> qs, double* const* outs);

/// A cross-sectional node over timestamps `times` of an S×T symbol-major block.
void RunCrossSection(const Node& node, const double* const* in, std::size_t num_symbols,
                     std::size_t num_times, kernels::Range times, double* out);

}  // namespace qraft::expr::internal
