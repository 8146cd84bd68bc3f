// Parser of the factor expression language.
//
// Grammar (lowest to highest precedence; documented for users in docs/expressions.md):
//   or      := and  (('or' | '|' | '||') and)*
//   and     := not  (('and' | '&' | '&&') not)*
//   not     := ('not' | '~' | '!') not | compare
//   compare := sum [('>' | '>=' | '<' | '<=' | '==' | '!=') sum]      -- never chained
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary [('^' | '**') unary]                            -- right-associative
//   primary := number | '$'name | name | name '(' [arg (',' arg)*] ')' | '${' name '}'
//            | factor://library/name[@version][?param=value&...] | 'string' | "string"
//            | '(' or ')'
//   arg     := [name '='] or
// Comparisons bind tighter than and/or (ordinary mathematics), unlike Qlib where `&` and `|`
// bind tighter than comparisons; `-x^2` is -(x^2). Keywords and function names are
// case-insensitive. `#` starts a comment to the end of the line.
//
// Errors are InvalidArgument with "line:column: message", positions 1-based.
// Thread-safety: pure function.
#pragma once

#include <string_view>

#include "qraft/core/status.h"
#include "qraft/expr/ast.h"

namespace qraft::expr {

struct ParseLimits {
  int max_depth = 256;       // nesting depth of the tree
  int max_nodes = 100'000;   // nodes in one expression
  int max_length = 1 << 20;  // characters
};

Result<AstNode> Parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace qraft::expr
