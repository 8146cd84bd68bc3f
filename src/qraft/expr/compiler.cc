#include "qraft/expr/compiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <unordered_map>
#include <utility>

#include "qraft/expr/elementwise.h"

namespace qraft::expr {

Result<Semantics> ParseSemantics(std::string_view name) {
  if (name == "native") return Semantics::kNative;
  if (name == "qlib") return Semantics::kQlib;
  return Status::InvalidArgument(
      fmt::format("unknown semantics '{}': expected 'native' or 'qlib'", name));
}

std::string_view SemanticsName(Semantics s) {
  return s == Semantics::kQlib ? "qlib" : "native";
}

int Program::lookback() const {
  int most = 0;
  for (const Output& o : outputs_) {
    const int lb = nodes_[o.node].lookback;
    if (lb == kUnbounded) return kUnbounded;
    most = std::max(most, lb);
  }
  return most;
}

int Program::lookahead() const {
  int most = 0;
  for (const Output& o : outputs_)
    most = std::max(most, nodes_[o.node].lookahead);
  return most;
}

std::string Program::Explain() const {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    out += fmt::format("%{} = {}", i, OpCodeName(n.op));
    if (n.op == OpCode::kField) out += " $" + n.field;
    if (n.op == OpCode::kConst) out += fmt::format(" {}", n.params[0]);
    for (NodeId in : n.inputs)
      out += fmt::format(" %{}", in);
    if (n.op != OpCode::kConst && !n.params.empty()) {
      out += " [";
      for (std::size_t p = 0; p < n.params.size(); ++p) {
        out += fmt::format("{}{}", p ? ", " : "", n.params[p]);
      }
      out += "]";
    }
    if (n.output != 0) out += fmt::format(" out={}", n.output);
    out += fmt::format("  lookback={}", n.lookback == kUnbounded ? std::string("unbounded")
                                                                 : std::to_string(n.lookback));
    if (n.lookahead > 0) out += fmt::format(" lookahead={}", n.lookahead);
    out += "\n";
  }
  for (const Output& o : outputs_)
    out += fmt::format("{} = %{}\n", o.name, o.node);
  return out;
}

namespace {

bool IsCommutative(OpCode op) {
  switch (op) {
    case OpCode::kAdd:
    case OpCode::kMul:
    case OpCode::kEq:
    case OpCode::kNe:
    case OpCode::kAnd:
    case OpCode::kOr:
    case OpCode::kGreater:
    case OpCode::kLess:
      return true;
    default:
      return false;
  }
}

// Qlib's base Rolling dispatch sends a float window in (0, 1) to an EWM mean for these.
bool TakesEwmWindow(OpCode op) {
  switch (op) {
    case OpCode::kMean:
    case OpCode::kSum:
    case OpCode::kStd:
    case OpCode::kVar:
    case OpCode::kSkew:
    case OpCode::kKurt:
    case OpCode::kMax:
    case OpCode::kMin:
    case OpCode::kMed:
    case OpCode::kCount:
    case OpCode::kEma:
      return true;
    default:
      return false;
  }
}

// Indicators whose value depends on the whole history (recursions).
bool IsRecursive(OpCode op) {
  switch (op) {
    case OpCode::kEma:
    case OpCode::kDema:
    case OpCode::kTema:
    case OpCode::kKama:
    case OpCode::kRsi:
    case OpCode::kMacd:
    case OpCode::kAtr:
    case OpCode::kNatr:
    case OpCode::kAdx:
    case OpCode::kObv:
    case OpCode::kQlibEma:
    case OpCode::kEwm:
      return true;
    default:
      return false;
  }
}

int AddLookback(int a, int b) {
  return (a == kUnbounded || b == kUnbounded) ? kUnbounded : a + b;
}

std::string Signature(const FunctionDef& f) {
  std::string out = std::string(f.name) + "(";
  bool optional = false;
  for (std::size_t i = 0; i < f.args.size(); ++i) {
    const ArgSpec& a = f.args[i];
    const bool has_default = a.default_field.has_value() || a.default_number.has_value();
    if (has_default && !optional) {
      out += "[";
      optional = true;
    }
    out += (i ? ", " : "") + std::string(a.name);
  }
  return out + (optional ? "])" : ")");
}

bool LooksNumeric(const AstNode& n) {
  return n.kind == AstNode::Kind::kNumber || n.kind == AstNode::Kind::kParam;
}

}  // namespace

class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : opt_(options), params_(options.params) {
    program_.semantics_ = options.semantics;
  }

  // Parameter values for the expressions added next (CompileGrid).
  void SetParams(std::map<std::string, double> params) { params_ = std::move(params); }

  Status Add(const ExprSpec& spec) {
    const std::string label = spec.name.empty() ? spec.text : spec.name;
    auto fail = [&](const Status& st) {
      return Status(st.code(), label + ": " + std::string(st.message()));
    };
    Result<AstNode> ast = Parse(spec.text, opt_.limits);
    if (!ast.ok()) return fail(ast.status());
    Result<NodeId> root = Lower(*ast);
    if (!root.ok()) return fail(root.status());
    if (!names_.insert(label).second) {
      return Status::InvalidArgument(fmt::format("output name '{}' is used twice", label));
    }
    program_.outputs_.push_back({label, spec.text, *root});
    return Status::OK();
  }

  Program Finish() && {
    Prune();
    std::set<std::string> fields;
    for (const Node& n : program_.nodes_) {
      if (n.op == OpCode::kField) fields.insert(n.field);
    }
    program_.fields_.assign(fields.begin(), fields.end());
    return std::move(program_);
  }

 private:
  bool qlib() const { return opt_.semantics == Semantics::kQlib; }

  Status Error(SourcePos pos, std::string_view message) const {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", pos.line, pos.column, message));
  }

  // ---- nodes ------------------------------------------------------------------------------

  Result<NodeId> Intern(Node node) {
    if (IsCommutative(node.op)) std::sort(node.inputs.begin(), node.inputs.end());
    std::string key = fmt::format("{}|{}|{}|{}|", static_cast<int>(node.op),
                                  static_cast<int>(node.dtype), node.field, node.output);
    for (NodeId in : node.inputs)
      key += fmt::format("{},", in);
    key += "|";
    for (double p : node.params)
      key += fmt::format("{:x},", std::bit_cast<std::uint64_t>(p));
    if (auto it = interned_.find(key); it != interned_.end()) return it->second;
    if (program_.nodes_.size() >= static_cast<std::size_t>(opt_.max_nodes)) {
      return Status::InvalidArgument(
          fmt::format("the expressions need more than {} graph nodes", opt_.max_nodes));
    }
    const NodeId id = static_cast<NodeId>(program_.nodes_.size());
    program_.nodes_.push_back(std::move(node));
    interned_.emplace(std::move(key), id);
    return id;
  }

  const Node& node(NodeId id) const { return program_.nodes_[id]; }

  Result<NodeId> Const(double v) {
    Node n;
    n.op = OpCode::kConst;
    n.dtype = DType::kScalar;
    n.params = {v};
    return Intern(std::move(n));
  }

  // Qlib dtype of an elementwise result: float64 wins, then float32 (bool counts as float32),
  // constants follow the array (numpy value-based casting keeps float32 + Python float float32).
  DType Promote(const std::vector<NodeId>& inputs) const {
    DType out = DType::kScalar;
    for (NodeId in : inputs) {
      const DType d = node(in).dtype;
      if (d == DType::kF64) return DType::kF64;
      if (d == DType::kF32 || d == DType::kBool) out = DType::kF32;
    }
    return out;
  }

  Result<NodeId> Elementwise(OpCode op, std::vector<NodeId> inputs) {
    bool all_const = true;
    for (NodeId in : inputs)
      all_const = all_const && node(in).op == OpCode::kConst;
    if (all_const) {
      double v[3] = {0, 0, 0};
      for (std::size_t i = 0; i < inputs.size(); ++i)
        v[i] = node(inputs[i]).params[0];
      return Const(ApplyElementwise(opt_.semantics, op, v[0], v[1], v[2]));
    }
    Node n;
    n.op = op;
    if (!qlib()) {
      n.dtype = DType::kF64;
    } else {
      switch (op) {
        case OpCode::kGt:
        case OpCode::kGe:
        case OpCode::kLt:
        case OpCode::kLe:
        case OpCode::kEq:
        case OpCode::kNe:
        case OpCode::kAnd:
        case OpCode::kOr:
        case OpCode::kNot:
        case OpCode::kIsNan:
          n.dtype = DType::kBool;
          break;
        case OpCode::kSign:
          n.dtype = DType::kF32;
          break;  // Qlib casts to float32 first
        case OpCode::kIf:
          n.dtype = Promote({inputs[1], inputs[2]});
          if (n.dtype == DType::kScalar) n.dtype = DType::kF64;
          break;
        default:
          n.dtype = Promote(inputs);
          break;
      }
      // A constant meeting a float32 array is cast to float32 first (numpy value-based casting).
      if (n.dtype == DType::kF32) {
        for (std::size_t i = (op == OpCode::kIf ? 1 : 0); i < inputs.size(); ++i) {
          if (node(inputs[i]).op == OpCode::kConst) {
            const double v = node(inputs[i]).params[0];
            QRAFT_ASSIGN_OR_RETURN(inputs[i], Const(static_cast<float>(v)));
          }
        }
      }
    }
    n.inputs = std::move(inputs);
    return Finish(std::move(n), 0, 0);
  }

  // Fills in the derived properties and interns.
  Result<NodeId> Finish(Node n, int own_lookback, int own_lookahead) {
    int lb = 0;
    int la = 0;
    bool cs = FamilyOf(n.op) == OpFamily::kCrossSection;
    for (NodeId in : n.inputs) {
      const Node& i = node(in);
      lb = (lb == kUnbounded || i.lookback == kUnbounded) ? kUnbounded : std::max(lb, i.lookback);
      la = std::max(la, i.lookahead);
      cs = cs || i.cross_section;
    }
    n.own_lookback = own_lookback;
    n.lookback = AddLookback(lb, own_lookback);
    n.lookahead = la + own_lookahead;
    n.cross_section = cs;
    return Intern(std::move(n));
  }

  // ---- lowering ---------------------------------------------------------------------------

  Result<NodeId> Lower(const AstNode& a) {
    switch (a.kind) {
      case AstNode::Kind::kNumber:
        return Const(a.number);
      case AstNode::Kind::kParam: {
        auto it = params_.find(a.name);
        if (it == params_.end()) {
          return Error(a.pos, fmt::format("parameter ${{{}}} has no value", a.name));
        }
        return Const(it->second);
      }
      case AstNode::Kind::kString:
        return Error(a.pos, fmt::format("a string ('{}') is not a value here", a.name));
      case AstNode::Kind::kField:
        return Field(a.name, a.pos);
      case AstNode::Kind::kFactor:
        return FactorRef(a);
      case AstNode::Kind::kCall:
        return Call(a);
    }
    return Status::Internal("unreachable");
  }

  // A factor URI is compiled as its expression (so its nodes are shared like any other).
  Result<NodeId> FactorRef(const AstNode& a) {
    if (!opt_.resolve_factor) {
      return Error(a.pos, fmt::format("factor references ({}) need the factor library", a.name));
    }
    if (++factor_depth_ > 16) {
      return Error(a.pos, fmt::format("factor references nest deeper than 16 at {}", a.name));
    }
    Result<std::string> text = opt_.resolve_factor(a.name);
    if (!text.ok()) return Error(a.pos, text.status().message());
    Result<AstNode> ast = Parse(*text, opt_.limits);
    if (!ast.ok()) {
      return Error(a.pos, fmt::format("{}: {}", a.name, ast.status().message()));
    }
    Result<NodeId> id = Lower(*ast);
    --factor_depth_;
    if (!id.ok()) return Error(a.pos, fmt::format("{}: {}", a.name, id.status().message()));
    return id;
  }

  Result<NodeId> Field(const std::string& name, SourcePos pos) {
    if (opt_.known_fields && std::find(opt_.known_fields->begin(), opt_.known_fields->end(),
                                       name) == opt_.known_fields->end()) {
      std::string known;
      for (const std::string& f : *opt_.known_fields)
        known += (known.empty() ? "" : ", ") + f;
      return Error(pos, fmt::format("unknown field '{}' (the data has: {})", name, known));
    }
    Node n;
    n.op = OpCode::kField;
    n.dtype = qlib() ? DType::kF32 : DType::kF64;
    n.field = name;
    return Intern(std::move(n));
  }

  Result<NodeId> Call(const AstNode& a) {
    const FunctionDef* def = FindFunction(a.name);
    if (def == nullptr) {
      static const std::set<std::string> kQlibOnly = {"TRESAMPLE", "P", "PREF", "PFEATURE",
                                                      "FEATURE"};
      if (kQlibOnly.count(a.name) != 0) {
        return Error(a.pos, fmt::format("Qlib operator {} (resampling or point-in-time) is not "
                                        "supported",
                                        a.name));
      }
      std::string hint = SuggestFunctions(a.name);
      return Error(a.pos, fmt::format("unknown operator '{}'{}", a.name,
                                      hint.empty() ? "" : " (did you mean " + hint + "?)"));
    }
    if (qlib()) {
      // Qlib's Python precedence makes `a > b & c < d` mean something else entirely.
      if (a.infix && (def->op == OpCode::kAnd || def->op == OpCode::kOr)) {
        for (const AstNode& arg : a.args) {
          const FunctionDef* inner = arg.kind == AstNode::Kind::kCall && !arg.parenthesized
                                         ? FindFunction(arg.name)
                                         : nullptr;
          if (inner != nullptr && inner->op >= OpCode::kGt && inner->op <= OpCode::kNe) {
            return Error(arg.pos,
                         "under qlib semantics parenthesise comparisons joined by "
                         "'&'/'|': Qlib's Python precedence would read this differently");
          }
        }
      }
    }

    // Bind arguments to the specification.
    const std::span<const ArgSpec> spec = def->args;
    std::vector<const AstNode*> bound(spec.size(), nullptr);
    std::size_t positional = 0;
    while (positional < a.args.size() && a.arg_names[positional].empty())
      ++positional;
    std::size_t slot = 0;
    if (positional > 0 && LooksNumeric(a.args[0])) {
      // RSI(14) means RSI(close, 14): skip the leading series arguments that have defaults.
      while (slot < spec.size() && spec[slot].kind == ArgKind::kSeries &&
             spec[slot].default_field.has_value() && !spec[slot].default_field->empty()) {
        ++slot;
      }
    }
    if (slot + positional > spec.size()) {
      return Error(a.args[spec.size() - slot].pos,
                   fmt::format("too many arguments: {}", Signature(*def)));
    }
    for (std::size_t i = 0; i < positional; ++i)
      bound[slot + i] = &a.args[i];
    for (std::size_t i = positional; i < a.args.size(); ++i) {
      auto it = std::find_if(spec.begin(), spec.end(),
                             [&](const ArgSpec& s) { return s.name == a.arg_names[i]; });
      if (it == spec.end()) {
        return Error(a.args[i].pos, fmt::format("{} has no argument '{}': {}", def->name,
                                                a.arg_names[i], Signature(*def)));
      }
      const std::size_t k = static_cast<std::size_t>(it - spec.begin());
      if (bound[k] != nullptr) {
        return Error(a.args[i].pos, fmt::format("argument '{}' given twice", a.arg_names[i]));
      }
      bound[k] = &a.args[i];
    }

    std::vector<NodeId> inputs;
    std::vector<double> params;
    std::string symbol;  // a kSymbol argument
    bool has_group = false;
    std::vector<SourcePos> param_pos;
    for (std::size_t k = 0; k < spec.size(); ++k) {
      const ArgSpec& s = spec[k];
      const AstNode* arg = bound[k];
      if (s.kind == ArgKind::kSymbol) {
        if (arg == nullptr || arg->kind != AstNode::Kind::kString || arg->name.empty()) {
          return Error(arg ? arg->pos : a.pos,
                       fmt::format("argument '{}' of {} must be a quoted symbol name such as "
                                   "'SH000300'",
                                   s.name, def->name));
        }
        symbol = arg->name;
        continue;
      }
      if (s.kind == ArgKind::kSeries || s.kind == ArgKind::kGroup) {
        if (arg == nullptr) {
          if (!s.default_field) {
            return Error(a.pos, fmt::format("{}: missing argument '{}'", Signature(*def), s.name));
          }
          if (s.default_field->empty()) continue;  // optional input, absent
          QRAFT_ASSIGN_OR_RETURN(NodeId f, Field(std::string(*s.default_field), a.pos));
          inputs.push_back(f);
          continue;
        }
        if (s.kind == ArgKind::kGroup) {
          if (arg->kind != AstNode::Kind::kField) {
            return Error(arg->pos, fmt::format("argument '{}' of {} must be a field of category "
                                               "codes, e.g. by=industry",
                                               s.name, def->name));
          }
          has_group = true;
        }
        QRAFT_ASSIGN_OR_RETURN(NodeId in, Lower(*arg));
        inputs.push_back(in);
        continue;
      }
      if (arg == nullptr) {
        if (!s.default_number) {
          return Error(a.pos, fmt::format("{}: missing argument '{}'", Signature(*def), s.name));
        }
        params.push_back(*s.default_number);
        param_pos.push_back(a.pos);
        continue;
      }
      QRAFT_ASSIGN_OR_RETURN(NodeId c, Lower(*arg));
      if (node(c).op != OpCode::kConst) {
        return Error(arg->pos, fmt::format("argument '{}' of {} must be a constant number", s.name,
                                           def->name));
      }
      params.push_back(node(c).params[0]);
      param_pos.push_back(arg->pos);
    }

    // Validate numeric arguments.
    std::size_t p = 0;
    for (const ArgSpec& s : spec) {
      if (s.kind == ArgKind::kSeries || s.kind == ArgKind::kGroup || s.kind == ArgKind::kSymbol) {
        continue;
      }
      const double v = params[p];
      const SourcePos pos = param_pos[p];
      ++p;
      const bool integral = std::isfinite(v) && v == std::floor(v);
      switch (s.kind) {
        case ArgKind::kWindow:
          if (qlib() && TakesEwmWindow(def->op) && v > 0 && v < 1) break;  // EWM alpha
          if (!integral || v < 0 || v > 1e7) {
            return Error(pos, fmt::format("window '{}' of {} must be a non-negative integer "
                                          "(0 = expanding), got {}",
                                          s.name, def->name, v));
          }
          break;
        case ArgKind::kPeriod:
          if (s.name == "min_periods" && v == 0) break;  // 0 = the semantics' default
          if (!integral || v < 1 || v > 1e7) {
            return Error(pos, fmt::format("'{}' of {} must be a positive integer, got {}", s.name,
                                          def->name, v));
          }
          break;
        case ArgKind::kLag:
          if (!integral || std::fabs(v) > 1e7) {
            return Error(
                pos, fmt::format("'{}' of {} must be an integer, got {}", s.name, def->name, v));
          }
          if (v < 0 && !opt_.allow_future) {
            return Error(pos, fmt::format("{}(…, {}) refers to the future ({} bar{} ahead); only "
                                          "labels may look ahead",
                                          def->name, v, -v, v == -1 ? "" : "s"));
          }
          break;
        case ArgKind::kFraction:
          if (!(v >= 0 && v <= 1)) {
            return Error(
                pos, fmt::format("'{}' of {} must be within [0, 1], got {}", s.name, def->name, v));
          }
          break;
        case ArgKind::kNumber:
          if (!std::isfinite(v)) {
            return Error(pos, fmt::format("'{}' of {} must be finite", s.name, def->name));
          }
          break;
        default:
          break;
      }
    }

    return Build(*def, a.pos, std::move(inputs), std::move(params), has_group, std::move(symbol));
  }

  Result<NodeId> Build(const FunctionDef& def, SourcePos pos, std::vector<NodeId> inputs,
                       std::vector<double> params, bool has_group, std::string symbol) {
    OpCode op = def.op;
    const OpFamily family = FamilyOf(op);
    if (family == OpFamily::kElementwise) return Elementwise(op, std::move(inputs));

    Node n;
    n.output = def.output;
    n.dtype = DType::kF64;
    int own_lookback = 0;
    int own_lookahead = 0;

    // Semantics-dependent meanings.
    if (qlib() && op == OpCode::kEma) op = OpCode::kQlibEma;
    if (qlib() && op == OpCode::kTaWma) op = OpCode::kWma;
    if (!qlib() && (op == OpCode::kEma || op == OpCode::kTaWma) && params[0] < 1) {
      return Error(
          pos, fmt::format("period of {} must be a positive integer, got {}", def.name, params[0]));
    }
    if (op == OpCode::kWma) params.push_back(1);  // min_periods (Qlib: partial windows)

    if (family == OpFamily::kTimeSeries || op == OpCode::kQlibEma || op == OpCode::kWma) {
      if (op == OpCode::kRef || op == OpCode::kDelta) {
        const int k = static_cast<int>(params[0]);
        // shift() keeps the dtype: Ref of float32 data is float32 under Qlib.
        if (qlib() && node(inputs[0]).dtype == DType::kF32) n.dtype = DType::kF32;
        own_lookback = std::max(k, 0);
        own_lookahead = std::max(-k, 0);
        if (op == OpCode::kDelta && k < 0) own_lookback = 0;
        if (qlib() && k == 0) own_lookback = kUnbounded;  // Qlib: Ref(x, 0) is the first value
      } else if (op == OpCode::kQlibEma) {
        if (params[0] > 0 && params[0] < 1) {
          op = OpCode::kEwm;  // Qlib: EMA(x, 0.5) is ewm(alpha=0.5)
        } else if (params[0] != std::floor(params[0])) {
          return Error(
              pos, fmt::format("span of EMA must be an integer or in (0, 1), got {}", params[0]));
        }
        own_lookback = kUnbounded;
      } else {
        const double window = params[0];
        if (window > 0 && window < 1) {  // Qlib float window: EWM mean, whatever the operator
          op = OpCode::kEwm;
          params = {window};
          own_lookback = kUnbounded;
        } else {
          if (op == OpCode::kSkew && window != 0 && window < 3) {
            return Error(pos, fmt::format("the window of Skew must be at least 3, got {}", window));
          }
          if (op == OpCode::kKurt && window != 0 && window < 4) {
            return Error(pos, fmt::format("the window of Kurt must be at least 4, got {}", window));
          }
          // min_periods: the last parameter; 0 means the semantics' default.
          double& min_periods = params.back();
          if (min_periods == 0) min_periods = qlib() ? 1 : std::max(window, 1.0);
          if (window > 0 && min_periods > window) {
            return Error(
                pos, fmt::format("min_periods ({}) exceeds the window ({})", min_periods, window));
          }
          own_lookback = window == 0 ? kUnbounded : static_cast<int>(window) - 1;
        }
      }
    } else if (family == OpFamily::kIndicator) {
      if (IsRecursive(op)) {
        own_lookback = kUnbounded;
      } else {
        // A safe upper bound: chained windows (STOCH's %K then %D) read at most the sum of
        // their periods, plus the previous bar some indicators difference against.
        double sum = 1;
        for (double v : params)
          sum += v;
        own_lookback = static_cast<int>(sum);
      }
    } else if (family == OpFamily::kCrossSection) {
      if (op == OpCode::kCsWinsorize && (params[0] < 0 || params[1] > 0.5)) {
        return Error(pos, fmt::format("WINSORIZE needs k >= 0 (got {}) and q in [0, 0.5] (got {})",
                                      params[0], params[1]));
      }
      params.insert(params.begin(), has_group ? 1.0 : 0.0);
      if (op == OpCode::kInstrument) {
        if (qlib()) {  // Qlib's storage lower-cases instrument names; keep the type of x
          std::transform(symbol.begin(), symbol.end(), symbol.begin(), ::tolower);
          n.dtype = node(inputs[0]).dtype == DType::kF32 ? DType::kF32 : DType::kF64;
        }
        n.field = std::move(symbol);
      }
    }
    n.op = op;
    n.inputs = std::move(inputs);
    n.params = std::move(params);
    return Finish(std::move(n), own_lookback, own_lookahead);
  }

  // Drops nodes no output reaches (constant folding leaves some behind) and renumbers.
  void Prune() {
    std::vector<Node>& nodes = program_.nodes_;
    std::vector<char> live(nodes.size(), 0);
    for (const Output& o : program_.outputs_)
      live[o.node] = 1;
    for (std::size_t i = nodes.size(); i-- > 0;) {
      if (!live[i]) continue;
      for (NodeId in : nodes[i].inputs)
        live[in] = 1;
    }
    std::vector<NodeId> remap(nodes.size(), 0);
    std::vector<Node> kept;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!live[i]) continue;
      remap[i] = static_cast<NodeId>(kept.size());
      Node n = std::move(nodes[i]);
      for (NodeId& in : n.inputs)
        in = remap[in];
      kept.push_back(std::move(n));
    }
    nodes = std::move(kept);
    for (Output& o : program_.outputs_)
      o.node = remap[o.node];
  }

  const CompileOptions& opt_;
  Program program_;
  std::unordered_map<std::string, NodeId> interned_;
  std::set<std::string> names_;
  int factor_depth_ = 0;
  std::map<std::string, double> params_;
};

Result<Program> Compile(std::span<const ExprSpec> exprs, const CompileOptions& options) {
  Compiler compiler(options);
  for (const ExprSpec& e : exprs)
    QRAFT_RETURN_NOT_OK(compiler.Add(e));
  return std::move(compiler).Finish();
}

Result<GridProgram> CompileGrid(std::span<const ExprSpec> exprs, const ParamGrid& grid,
                                const CompileOptions& options) {
  std::size_t total = 1;
  for (const auto& [name, values] : grid.domains) {
    if (values.empty()) {
      return Status::InvalidArgument(fmt::format("parameter '{}' has no values", name));
    }
    total *= values.size();
    if (total > 1'000'000) {
      return Status::InvalidArgument("the parameter grid has more than 1,000,000 combinations");
    }
  }
  // In `where`, bare names are the parameters: "fast < slow" means "${fast} < ${slow}".
  std::string where_text;
  if (!grid.where.empty()) {
    Result<AstNode> ast = Parse(grid.where, options.limits);
    if (!ast.ok()) {
      return Status::InvalidArgument(fmt::format("where: {}", ast.status().message()));
    }
    std::function<void(AstNode&)> to_params = [&](AstNode& n) {
      if (n.kind == AstNode::Kind::kField) {
        for (const auto& [name, values] : grid.domains) {
          if (name == n.name) n.kind = AstNode::Kind::kParam;
        }
      }
      for (AstNode& a : n.args)
        to_params(a);
    };
    to_params(*ast);
    where_text = ToString(*ast);
  }
  std::vector<std::map<std::string, double>> kept;
  std::vector<std::size_t> digit(grid.domains.size(), 0);
  for (std::size_t k = 0; k < total; ++k) {
    std::map<std::string, double> combo = options.params;
    for (std::size_t d = 0; d < grid.domains.size(); ++d) {
      combo[grid.domains[d].first] = grid.domains[d].second[digit[d]];
    }
    // Advance the odometer (last parameter fastest).
    for (std::size_t d = grid.domains.size(); d-- > 0;) {
      if (++digit[d] < grid.domains[d].second.size()) break;
      digit[d] = 0;
    }
    if (!grid.where.empty()) {
      CompileOptions constant = options;
      constant.params = combo;
      constant.known_fields.reset();  // a field makes `where` non-constant: reported below
      std::vector<ExprSpec> where = {{"where", where_text}};
      QRAFT_ASSIGN_OR_RETURN(Program p, Compile(where, constant));
      const Node& root = p.nodes()[p.outputs()[0].node];
      if (root.op != OpCode::kConst) {
        return Status::InvalidArgument(
            fmt::format("where '{}' must depend on parameters only", grid.where));
      }
      if (!(root.params[0] != 0) || std::isnan(root.params[0])) continue;
    }
    kept.push_back(std::move(combo));
  }
  return CompileCombinations(exprs, kept, options);
}

Result<GridProgram> CompileCombinations(std::span<const ExprSpec> exprs,
                                        std::span<const std::map<std::string, double>> combinations,
                                        const CompileOptions& options) {
  GridProgram out;
  Compiler compiler(options);
  for (const std::map<std::string, double>& combo : combinations) {
    std::string label;
    for (const auto& [name, value] : combo) {
      label += fmt::format("{}{}={}", label.empty() ? "" : ",", name, value);
    }
    compiler.SetParams(combo);
    for (const ExprSpec& e : exprs) {
      ExprSpec named = e;
      named.name = fmt::format("{}[{}]", e.name.empty() ? e.text : e.name, label);
      QRAFT_RETURN_NOT_OK(compiler.Add(named));
    }
    out.combinations.push_back(combo);
  }
  out.exprs_per_combination = exprs.size();
  out.program = std::move(compiler).Finish();
  return out;
}

}  // namespace qraft::expr
