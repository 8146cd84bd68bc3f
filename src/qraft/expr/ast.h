// The syntax tree of one factor expression, as the parser produces it.
//
// Operators are already normalised to calls: `a + b` is Call("ADD", a, b), `not x` is
// Call("NOT", x), `if(c, a, b)` is Call("IF", ...). Function names are upper-cased (lookup is
// case-insensitive); field names are lower-cased (`$Close` and `close` are the field "close",
// as in Qlib, whose storage lower-cases them). Positions are 1-based line/column into the text.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

namespace qraft::expr {

struct SourcePos {
  int line = 1;
  int column = 1;
};

struct AstNode {
  enum class Kind {
    kNumber,  // `number`; `is_integer` when written without '.', exponent or fraction
    kField,   // `name` = lower-cased field name ($close, close)
    kString,  // `name` = the quoted text (only a few operators accept strings)
    kParam,   // `name` = parameter of a parameterised expression, written ${name}
    kCall,    // `name` = upper-cased operator; `args`, `arg_names` ("" = positional)
    kFactor,  // `name` = a factor URI, factor://library/name[@version][?param=value&...]
  };

  Kind kind = Kind::kNumber;
  SourcePos pos;
  double number = 0.0;
  bool is_integer = false;
  // True when the node was written inside its own parentheses: `(a > b) & c`. Used to reject
  // expressions whose meaning differs under Qlib's Python precedence.
  bool parenthesized = false;
  // True for calls written as operators (`a & b`), false for `And(a, b)`.
  bool infix = false;
  // Height of this subtree (a leaf is 1); bounded by ParseLimits::max_depth so that every
  // recursive walk over the tree has a bounded stack.
  int height = 1;
  std::string name;
  std::vector<AstNode> args;
  std::vector<std::string> arg_names;
};

/// A readable, canonical rendering of the tree (fully parenthesised infix for operators,
/// NAME(args) for calls). Two texts that differ only in spacing or redundant parentheses render
/// the same. Used in messages and as the default column name.
std::string ToString(const AstNode& node);

}  // namespace qraft::expr
