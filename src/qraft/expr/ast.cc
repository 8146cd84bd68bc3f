#include "qraft/expr/ast.h"

#include <fmt/format.h>

#include <string_view>

namespace qraft::expr {
namespace {

struct Infix {
  std::string_view name;
  std::string_view symbol;
};
constexpr Infix kInfix[] = {
    {"ADD", "+"}, {"SUB", "-"},   {"MUL", "*"}, {"DIV", "/"}, {"POWER", "^"},
    {"GT", ">"},  {"GE", ">="},   {"LT", "<"},  {"LE", "<="}, {"EQ", "=="},
    {"NE", "!="}, {"AND", "and"}, {"OR", "or"},
};

std::string Number(double v) {
  return fmt::format("{}", v);
}

}  // namespace

std::string ToString(const AstNode& node) {
  switch (node.kind) {
    case AstNode::Kind::kNumber:
      return Number(node.number);
    case AstNode::Kind::kField:
      return "$" + node.name;
    case AstNode::Kind::kString:
      return "'" + node.name + "'";
    case AstNode::Kind::kParam:
      return "${" + node.name + "}";
    case AstNode::Kind::kFactor:
      return node.name;
    case AstNode::Kind::kCall:
      break;
  }
  if (node.args.size() == 2 && node.arg_names[0].empty() && node.arg_names[1].empty()) {
    for (const Infix& op : kInfix) {
      if (node.name == op.name) {
        return fmt::format("({} {} {})", ToString(node.args[0]), op.symbol, ToString(node.args[1]));
      }
    }
  }
  if (node.args.size() == 1 && node.name == "NEG") return "(-" + ToString(node.args[0]) + ")";
  if (node.args.size() == 1 && node.name == "NOT") return "(not " + ToString(node.args[0]) + ")";
  std::string out = node.name + "(";
  for (std::size_t i = 0; i < node.args.size(); ++i) {
    if (i > 0) out += ", ";
    if (!node.arg_names[i].empty()) out += node.arg_names[i] + "=";
    out += ToString(node.args[i]);
  }
  return out + ")";
}

}  // namespace qraft::expr
