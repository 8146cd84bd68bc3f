#include "qraft/expr/parser.h"

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace qraft::expr {
namespace {

enum class Tok {
  kEnd,
  kNumber,
  kIdent,   // name or keyword
  kDollar,  // $name
  kParam,   // ${name}
  kString,
  kFactor,  // factor://...
  kLParen,
  kRParen,
  kComma,
  kAssign,  // =
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPow,  // ^ or **
  kGt,
  kGe,
  kLt,
  kLe,
  kEq,
  kNe,
  kAnd,  // & && and
  kOr,   // | || or
  kNot,  // ~ ! not
};

struct Token {
  Tok kind = Tok::kEnd;
  SourcePos pos;
  std::string text;  // identifier/field/param name, string contents, or the operator as written
  double number = 0.0;
  bool is_integer = false;
};

bool IsIdentStart(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}
bool IsIdentChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c >= 0x80;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<Token> Next() {
    SkipSpaceAndComments();
    Token tok;
    tok.pos = pos_;
    if (i_ >= text_.size()) return tok;
    const unsigned char c = static_cast<unsigned char>(text_[i_]);
    if (std::isdigit(c) || (c == '.' && i_ + 1 < text_.size() &&
                            std::isdigit(static_cast<unsigned char>(text_[i_ + 1])))) {
      return LexNumber(tok);
    }
    if (text_.substr(i_, 9) == "factor://") {
      // A factor URI runs to the first character that cannot belong to it.
      const std::size_t start = i_;
      Advance(9);
      while (i_ < text_.size() &&
             (IsIdentChar(static_cast<unsigned char>(text_[i_])) ||
              std::string_view("/@.?=&-").find(text_[i_]) != std::string_view::npos)) {
        Advance(1);
      }
      tok.text = std::string(text_.substr(start, i_ - start));
      tok.kind = Tok::kFactor;
      return tok;
    }
    if (IsIdentStart(c)) {
      tok.text = TakeIdent();
      const std::string up = Upper(tok.text);
      tok.kind = up == "AND"   ? Tok::kAnd
                 : up == "OR"  ? Tok::kOr
                 : up == "NOT" ? Tok::kNot
                               : Tok::kIdent;
      return tok;
    }
    if (c == '$') {
      Advance(1);
      if (Peek() == '{') {
        Advance(1);
        if (i_ >= text_.size() || !IsIdentStart(static_cast<unsigned char>(text_[i_]))) {
          return Error(tok.pos, "expected a parameter name after '${'");
        }
        tok.text = TakeIdent();
        if (Peek() != '}') return Error(pos_, "expected '}' to close the parameter ${" + tok.text);
        Advance(1);
        tok.kind = Tok::kParam;
        return tok;
      }
      if (Peek() == '$') {
        return Error(tok.pos, "point-in-time fields ($$name) are not supported");
      }
      if (i_ >= text_.size() || !IsIdentChar(static_cast<unsigned char>(text_[i_]))) {
        return Error(tok.pos, "expected a field name after '$'");
      }
      tok.text = TakeIdent();
      tok.kind = Tok::kDollar;
      return tok;
    }
    if (c == '\'' || c == '"') return LexString(tok, static_cast<char>(c));
    auto two = [&](char next) { return i_ + 1 < text_.size() && text_[i_ + 1] == next; };
    auto op = [&](Tok kind, std::size_t len) {
      tok.kind = kind;
      tok.text = std::string(text_.substr(i_, len));
      Advance(len);
      return tok;
    };
    switch (c) {
      case '(':
        return op(Tok::kLParen, 1);
      case ')':
        return op(Tok::kRParen, 1);
      case ',':
        return op(Tok::kComma, 1);
      case '+':
        return op(Tok::kPlus, 1);
      case '-':
        return op(Tok::kMinus, 1);
      case '*':
        return two('*') ? op(Tok::kPow, 2) : op(Tok::kStar, 1);
      case '/':
        return op(Tok::kSlash, 1);
      case '^':
        return op(Tok::kPow, 1);
      case '>':
        return two('=') ? op(Tok::kGe, 2) : op(Tok::kGt, 1);
      case '<':
        return two('=') ? op(Tok::kLe, 2) : two('>') ? op(Tok::kNe, 2) : op(Tok::kLt, 1);
      case '=':
        return two('=') ? op(Tok::kEq, 2) : op(Tok::kAssign, 1);
      case '!':
        return two('=') ? op(Tok::kNe, 2) : op(Tok::kNot, 1);
      case '~':
        return op(Tok::kNot, 1);
      case '&':
        return two('&') ? op(Tok::kAnd, 2) : op(Tok::kAnd, 1);
      case '|':
        return two('|') ? op(Tok::kOr, 2) : op(Tok::kOr, 1);
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      return Error(tok.pos, fmt::format("unexpected control character 0x{:02x}", c));
    }
    return Error(tok.pos, fmt::format("unexpected character '{}'", static_cast<char>(c)));
  }

  static Status Error(SourcePos pos, std::string_view message) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", pos.line, pos.column, message));
  }

 private:
  char Peek() const { return i_ < text_.size() ? text_[i_] : '\0'; }

  void Advance(std::size_t n) {
    for (std::size_t k = 0; k < n && i_ < text_.size(); ++k, ++i_) {
      if (text_[i_] == '\n') {
        ++pos_.line;
        pos_.column = 1;
      } else {
        ++pos_.column;
      }
    }
  }

  void SkipSpaceAndComments() {
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance(1);
      } else if (c == '#') {
        while (i_ < text_.size() && text_[i_] != '\n')
          Advance(1);
      } else {
        break;
      }
    }
  }

  std::string TakeIdent() {
    const std::size_t start = i_;
    while (i_ < text_.size() && IsIdentChar(static_cast<unsigned char>(text_[i_])))
      Advance(1);
    return std::string(text_.substr(start, i_ - start));
  }

  Result<Token> LexNumber(Token tok) {
    const std::size_t start = i_;
    bool integer = true;
    while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_])))
      Advance(1);
    if (Peek() == '.') {
      integer = false;
      Advance(1);
      while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_])))
        Advance(1);
    }
    if (Peek() == 'e' || Peek() == 'E') {
      integer = false;
      Advance(1);
      if (Peek() == '+' || Peek() == '-') Advance(1);
      if (!std::isdigit(static_cast<unsigned char>(Peek()))) {
        return Error(tok.pos, "malformed number: expected digits after the exponent");
      }
      while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_])))
        Advance(1);
    }
    if (i_ < text_.size() && IsIdentStart(static_cast<unsigned char>(text_[i_]))) {
      return Error(tok.pos, fmt::format("malformed number '{}{}'", text_.substr(start, i_ - start),
                                        text_[i_]));
    }
    tok.text = std::string(text_.substr(start, i_ - start));
    const auto res =
        fast_float::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), tok.number);
    if (res.ec != std::errc() || res.ptr != tok.text.data() + tok.text.size()) {
      return Error(tok.pos, fmt::format("malformed number '{}'", tok.text));
    }
    tok.kind = Tok::kNumber;
    tok.is_integer = integer;
    return tok;
  }

  Result<Token> LexString(Token tok, char quote) {
    Advance(1);
    while (i_ < text_.size() && text_[i_] != quote && text_[i_] != '\n') {
      tok.text.push_back(text_[i_]);
      Advance(1);
    }
    if (Peek() != quote) return Error(tok.pos, "unterminated string");
    Advance(1);
    tok.kind = Tok::kString;
    return tok;
  }

  std::string_view text_;
  std::size_t i_ = 0;
  SourcePos pos_;
};

const char* Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of expression";
    case Tok::kNumber:
      return "a number";
    case Tok::kIdent:
      return "a name";
    case Tok::kDollar:
      return "a field";
    case Tok::kParam:
      return "a parameter";
    case Tok::kString:
      return "a string";
    case Tok::kFactor:
      return "a factor";
    default:
      return nullptr;
  }
}

std::string Quote(const Token& t) {
  if (const char* d = Describe(t)) {
    return t.kind == Tok::kEnd ? std::string(d) : fmt::format("{} '{}'", d, t.text);
  }
  return fmt::format("'{}'", t.text);
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : lexer_(text), limits_(limits) {}

  Result<AstNode> ParseAll() {
    QRAFT_RETURN_NOT_OK(Advance());
    if (cur_.kind == Tok::kEnd) return Lexer::Error(cur_.pos, "empty expression");
    QRAFT_ASSIGN_OR_RETURN(AstNode root, ParseOr());
    if (cur_.kind != Tok::kEnd) {
      if (cur_.kind == Tok::kRParen) return Lexer::Error(cur_.pos, "unbalanced ')'");
      return Lexer::Error(cur_.pos, "expected an operator or the end, got " + Quote(cur_));
    }
    return root;
  }

 private:
  Status Advance() {
    QRAFT_ASSIGN_OR_RETURN(cur_, lexer_.Next());
    return Status::OK();
  }

  Status Enter(SourcePos pos) {
    if (++depth_ > limits_.max_depth) {
      return Lexer::Error(pos, fmt::format("expression nested deeper than {}", limits_.max_depth));
    }
    return Status::OK();
  }

  Result<AstNode> Make(AstNode node) {
    for (const AstNode& arg : node.args)
      node.height = std::max(node.height, arg.height + 1);
    if (node.height > limits_.max_depth) {
      return Lexer::Error(node.pos,
                          fmt::format("expression nested deeper than {}", limits_.max_depth));
    }
    if (++nodes_ > limits_.max_nodes) {
      return Lexer::Error(node.pos,
                          fmt::format("expression has more than {} nodes", limits_.max_nodes));
    }
    return node;
  }

  Result<AstNode> Call(std::string name, SourcePos pos, std::vector<AstNode> args) {
    AstNode n;
    n.kind = AstNode::Kind::kCall;
    n.name = std::move(name);
    n.pos = pos;
    n.arg_names.assign(args.size(), std::string());
    n.args = std::move(args);
    n.infix = true;
    return Make(std::move(n));
  }

  template <class Sub>
  Result<AstNode> LeftAssoc(Sub sub, std::initializer_list<std::pair<Tok, const char*>> ops) {
    QRAFT_ASSIGN_OR_RETURN(AstNode lhs, (this->*sub)());
    while (true) {
      const char* name = nullptr;
      for (const auto& [tok, op] : ops) {
        if (cur_.kind == tok) name = op;
      }
      if (name == nullptr) return lhs;
      const SourcePos pos = cur_.pos;
      QRAFT_RETURN_NOT_OK(Advance());
      QRAFT_ASSIGN_OR_RETURN(AstNode rhs, (this->*sub)());
      std::vector<AstNode> args;
      args.push_back(std::move(lhs));
      args.push_back(std::move(rhs));
      QRAFT_ASSIGN_OR_RETURN(lhs, Call(name, pos, std::move(args)));
    }
  }

  Result<AstNode> ParseOr() { return LeftAssoc(&Parser::ParseAnd, {{Tok::kOr, "OR"}}); }
  Result<AstNode> ParseAnd() { return LeftAssoc(&Parser::ParseNot, {{Tok::kAnd, "AND"}}); }

  Result<AstNode> ParseNot() {
    if (cur_.kind != Tok::kNot) return ParseCompare();
    const SourcePos pos = cur_.pos;
    QRAFT_RETURN_NOT_OK(Enter(pos));
    QRAFT_RETURN_NOT_OK(Advance());
    QRAFT_ASSIGN_OR_RETURN(AstNode operand, ParseNot());
    --depth_;
    std::vector<AstNode> args;
    args.push_back(std::move(operand));
    return Call("NOT", pos, std::move(args));
  }

  static const char* CompareName(Tok t) {
    switch (t) {
      case Tok::kGt:
        return "GT";
      case Tok::kGe:
        return "GE";
      case Tok::kLt:
        return "LT";
      case Tok::kLe:
        return "LE";
      case Tok::kEq:
        return "EQ";
      case Tok::kNe:
        return "NE";
      default:
        return nullptr;
    }
  }

  Result<AstNode> ParseCompare() {
    QRAFT_ASSIGN_OR_RETURN(AstNode lhs, ParseSum());
    const char* name = CompareName(cur_.kind);
    if (name == nullptr) {
      if (cur_.kind == Tok::kAssign) {
        return Lexer::Error(cur_.pos,
                            "'=' is not a comparison; write '==' (or name=value inside "
                            "a function call)");
      }
      return lhs;
    }
    const SourcePos pos = cur_.pos;
    QRAFT_RETURN_NOT_OK(Advance());
    QRAFT_ASSIGN_OR_RETURN(AstNode rhs, ParseSum());
    if (CompareName(cur_.kind) != nullptr) {
      return Lexer::Error(cur_.pos,
                          "chained comparison (a < b < c) is ambiguous; write "
                          "(a < b) and (b < c)");
    }
    std::vector<AstNode> args;
    args.push_back(std::move(lhs));
    args.push_back(std::move(rhs));
    return Call(name, pos, std::move(args));
  }

  Result<AstNode> ParseSum() {
    return LeftAssoc(&Parser::ParseProduct, {{Tok::kPlus, "ADD"}, {Tok::kMinus, "SUB"}});
  }
  Result<AstNode> ParseProduct() {
    return LeftAssoc(&Parser::ParseUnary, {{Tok::kStar, "MUL"}, {Tok::kSlash, "DIV"}});
  }

  Result<AstNode> ParseUnary() {
    if (cur_.kind != Tok::kMinus && cur_.kind != Tok::kPlus) return ParsePower();
    const bool minus = cur_.kind == Tok::kMinus;
    const SourcePos pos = cur_.pos;
    QRAFT_RETURN_NOT_OK(Enter(pos));
    QRAFT_RETURN_NOT_OK(Advance());
    QRAFT_ASSIGN_OR_RETURN(AstNode operand, ParseUnary());
    --depth_;
    if (!minus) return operand;
    if (operand.kind == AstNode::Kind::kNumber && !operand.parenthesized) {
      // A negative literal stays a literal: Ref($close, -1) must see the integer -1.
      operand.number = -operand.number;
      operand.pos = pos;
      return operand;
    }
    std::vector<AstNode> args;
    args.push_back(std::move(operand));
    return Call("NEG", pos, std::move(args));
  }

  Result<AstNode> ParsePower() {
    QRAFT_ASSIGN_OR_RETURN(AstNode base, ParsePrimary());
    if (cur_.kind != Tok::kPow) return base;
    const SourcePos pos = cur_.pos;
    QRAFT_RETURN_NOT_OK(Enter(pos));
    QRAFT_RETURN_NOT_OK(Advance());
    QRAFT_ASSIGN_OR_RETURN(AstNode exponent, ParseUnary());
    --depth_;
    std::vector<AstNode> args;
    args.push_back(std::move(base));
    args.push_back(std::move(exponent));
    return Call("POWER", pos, std::move(args));
  }

  Result<AstNode> ParsePrimary() {
    AstNode n;
    n.pos = cur_.pos;
    switch (cur_.kind) {
      case Tok::kNumber:
        n.kind = AstNode::Kind::kNumber;
        n.number = cur_.number;
        n.is_integer = cur_.is_integer;
        QRAFT_RETURN_NOT_OK(Advance());
        return Make(std::move(n));
      case Tok::kDollar:
        n.kind = AstNode::Kind::kField;
        n.name = Lower(cur_.text);
        QRAFT_RETURN_NOT_OK(Advance());
        if (cur_.kind == Tok::kLParen) {
          return Lexer::Error(cur_.pos, "'$" + n.name + "' is a field and cannot be called");
        }
        return Make(std::move(n));
      case Tok::kParam:
        n.kind = AstNode::Kind::kParam;
        n.name = cur_.text;
        QRAFT_RETURN_NOT_OK(Advance());
        return Make(std::move(n));
      case Tok::kFactor:
        n.kind = AstNode::Kind::kFactor;
        n.name = cur_.text;
        QRAFT_RETURN_NOT_OK(Advance());
        return Make(std::move(n));
      case Tok::kString:
        n.kind = AstNode::Kind::kString;
        n.name = cur_.text;
        QRAFT_RETURN_NOT_OK(Advance());
        return Make(std::move(n));
      case Tok::kAnd:
      case Tok::kOr:
        // Qlib's And(a, b) / Or(a, b): the keyword in operand position is a function name.
        if (!IsIdentStart(static_cast<unsigned char>(cur_.text[0]))) {
          return Lexer::Error(cur_.pos, "expected a value, got " + Quote(cur_));
        }
        [[fallthrough]];
      case Tok::kIdent: {
        std::string name = cur_.text;
        QRAFT_RETURN_NOT_OK(Advance());
        if (cur_.kind != Tok::kLParen) {
          n.kind = AstNode::Kind::kField;
          n.name = Lower(name);
          return Make(std::move(n));
        }
        return ParseCall(Upper(name), n.pos);
      }
      case Tok::kLParen: {
        QRAFT_RETURN_NOT_OK(Enter(cur_.pos));
        const SourcePos open = cur_.pos;
        QRAFT_RETURN_NOT_OK(Advance());
        QRAFT_ASSIGN_OR_RETURN(AstNode inner, ParseOr());
        if (cur_.kind != Tok::kRParen) {
          return Lexer::Error(
              cur_.pos, fmt::format("expected ')' to close the '(' at {}:{}, got {}", open.line,
                                    open.column, Quote(cur_)));
        }
        QRAFT_RETURN_NOT_OK(Advance());
        --depth_;
        inner.parenthesized = true;
        return inner;
      }
      default:
        return Lexer::Error(cur_.pos, "expected a value, got " + Quote(cur_));
    }
  }

  Result<AstNode> ParseCall(std::string name, SourcePos pos) {
    QRAFT_RETURN_NOT_OK(Enter(pos));
    const SourcePos open = cur_.pos;
    QRAFT_RETURN_NOT_OK(Advance());  // '('
    AstNode call;
    call.kind = AstNode::Kind::kCall;
    call.name = std::move(name);
    call.pos = pos;
    if (cur_.kind != Tok::kRParen) {
      while (true) {
        std::string arg_name;
        SourcePos arg_pos = cur_.pos;
        if (cur_.kind == Tok::kIdent) {
          // name=value: look ahead one token without consuming the identifier twice.
          Lexer saved = lexer_;
          Token ident = cur_;
          QRAFT_RETURN_NOT_OK(Advance());
          if (cur_.kind == Tok::kAssign) {
            arg_name = Lower(ident.text);
            QRAFT_RETURN_NOT_OK(Advance());
          } else {
            lexer_ = saved;
            cur_ = std::move(ident);
          }
        }
        if (arg_name.empty()) {
          for (const std::string& prev : call.arg_names) {
            if (!prev.empty()) {
              return Lexer::Error(arg_pos, "positional argument after a named argument");
            }
          }
        } else {
          for (const std::string& prev : call.arg_names) {
            if (prev == arg_name) {
              return Lexer::Error(arg_pos, "argument '" + arg_name + "' given twice");
            }
          }
        }
        QRAFT_ASSIGN_OR_RETURN(AstNode arg, ParseOr());
        call.args.push_back(std::move(arg));
        call.arg_names.push_back(std::move(arg_name));
        if (cur_.kind == Tok::kComma) {
          QRAFT_RETURN_NOT_OK(Advance());
          continue;
        }
        if (cur_.kind == Tok::kRParen) break;
        return Lexer::Error(cur_.pos,
                            fmt::format("expected ',' or ')' in the call to {} opened at {}:{}, "
                                        "got {}",
                                        call.name, open.line, open.column, Quote(cur_)));
      }
    }
    QRAFT_RETURN_NOT_OK(Advance());  // ')'
    --depth_;
    return Make(std::move(call));
  }

  Lexer lexer_;
  ParseLimits limits_;
  Token cur_;
  int depth_ = 0;
  int nodes_ = 0;
};

}  // namespace

Result<AstNode> Parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > static_cast<std::size_t>(limits.max_length)) {
    return Status::InvalidArgument(
        fmt::format("1:1: expression longer than {} characters", limits.max_length));
  }
  Parser parser(text, limits);
  return parser.ParseAll();
}

}  // namespace qraft::expr
