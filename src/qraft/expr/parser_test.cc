#include "qraft/expr/parser.h"

#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>

#include "qraft/expr/compiler.h"

namespace qraft::expr {
namespace {

std::string Canon(std::string_view text) {
  Result<AstNode> ast = Parse(text);
  EXPECT_TRUE(ast.ok()) << text << ": " << ast.status().ToString();
  return ast.ok() ? ToString(*ast) : "";
}

std::string ErrorOf(std::string_view text) {
  Result<AstNode> ast = Parse(text);
  EXPECT_FALSE(ast.ok()) << text << " parsed as " << (ast.ok() ? ToString(*ast) : "");
  return ast.ok() ? "" : std::string(ast.status().message());
}

TEST(ParserTest, OrdinaryPrecedence) {
  EXPECT_EQ(Canon("1 + 2 * 3"), "(1 + (2 * 3))");
  EXPECT_EQ(Canon("1 - 2 - 3"), "((1 - 2) - 3)");
  EXPECT_EQ(Canon("2 ^ 3 ^ 2"), "(2 ^ (3 ^ 2))");
  EXPECT_EQ(Canon("-$x ^ 2"), "(-($x ^ 2))");
  EXPECT_EQ(Canon("$x ** 0.5"), "($x ^ 0.5)");
  // Comparisons bind tighter than and/or, unlike Qlib's Python precedence.
  EXPECT_EQ(Canon("$close > 1 & $open < 2"), "(($close > 1) and ($open < 2))");
  EXPECT_EQ(Canon("a > b and c < d or not e"), "((($a > $b) and ($c < $d)) or (not $e))");
  EXPECT_EQ(Canon("a or b and c"), "($a or ($b and $c))");
  EXPECT_EQ(Canon("~a | b"), "((not $a) or $b)");
  EXPECT_EQ(Canon("x <> y"), "($x != $y)");
  // Qlib's function spellings of the logic operators.
  EXPECT_EQ(Canon("And($x>$y, $x>3)"), "(($x > $y) and ($x > 3))");
  EXPECT_EQ(Canon("Not($x>$y)"), "(not ($x > $y))");
}

TEST(ParserTest, FieldsCallsAndArguments) {
  EXPECT_EQ(Canon("$Close"), "$close");
  EXPECT_EQ(Canon("close"), "$close");
  EXPECT_EQ(Canon("Mean ($close, 5)"), "MEAN($close, 5)");
  EXPECT_EQ(Canon("ema(close, ${fast})"), "EMA($close, ${fast})");
  EXPECT_EQ(Canon("Ref($close, -1)"), "REF($close, -1)");
  EXPECT_EQ(Canon("ZSCORE(x, by=industry)"), "ZSCORE($x, by=$industry)");
  EXPECT_EQ(Canon("if(c, 1, 0)"), "IF($c, 1, 0)");
  EXPECT_EQ(Canon("F()"), "F()");
  EXPECT_EQ(Canon("1e-12 + .5 + 3."), "((1e-12 + 0.5) + 3)");
  EXPECT_EQ(Canon("(($x))"), "$x");
  EXPECT_EQ(Canon("$x # comment\n + 1"), "($x + 1)");
}

TEST(ParserTest, IntegerLiteralsAreMarked) {
  Result<AstNode> a = Parse("Mean($x, 0)");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->args[1].is_integer);
  Result<AstNode> b = Parse("Mean($x, 0.5)");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->args[1].is_integer);
  Result<AstNode> c = Parse("Ref($x, -2)");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->args[1].kind, AstNode::Kind::kNumber);
  EXPECT_EQ(c->args[1].number, -2);
}

TEST(ParserTest, ErrorsHaveLineAndColumn) {
  EXPECT_EQ(ErrorOf(""), "1:1: empty expression");
  EXPECT_EQ(ErrorOf("Mean($close, 5"),
            "1:15: expected ',' or ')' in the call to MEAN opened at 1:5, got end of expression");
  EXPECT_EQ(ErrorOf("1 +"), "1:4: expected a value, got end of expression");
  EXPECT_EQ(ErrorOf("$close )"), "1:8: unbalanced ')'");
  EXPECT_EQ(ErrorOf("a < b < c"),
            "1:7: chained comparison (a < b < c) is ambiguous; write (a < b) and (b < c)");
  EXPECT_EQ(ErrorOf("$close @ 2"), "1:8: unexpected character '@'");
  EXPECT_EQ(ErrorOf("a = b"),
            "1:3: '=' is not a comparison; write '==' (or name=value inside a function call)");
  EXPECT_EQ(ErrorOf("Mean(x,\n  n=5, 3)"), "2:8: positional argument after a named argument");
  EXPECT_EQ(ErrorOf("F(n=1, n=2)"), "1:8: argument 'n' given twice");
  EXPECT_EQ(ErrorOf("12abc"), "1:1: malformed number '12a'");
  EXPECT_EQ(ErrorOf("1e+"), "1:1: malformed number: expected digits after the exponent");
  EXPECT_EQ(ErrorOf("'abc"), "1:1: unterminated string");
  EXPECT_EQ(ErrorOf("${x"), "1:4: expected '}' to close the parameter ${x");
  EXPECT_EQ(ErrorOf("$$roewa_q"), "1:1: point-in-time fields ($$name) are not supported");
  EXPECT_EQ(ErrorOf("$close(1)"), "1:7: '$close' is a field and cannot be called");
  EXPECT_EQ(ErrorOf("x\x01"), "1:2: unexpected control character 0x01");
}

TEST(ParserTest, LimitsBoundDepthAndSize) {
  std::string deep(300, '(');
  deep += "1" + std::string(300, ')');
  EXPECT_NE(ErrorOf(deep).find("nested deeper than 256"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 400; ++i)
    chain += "+1";
  EXPECT_NE(ErrorOf(chain).find("nested deeper than 256"), std::string::npos);
  ParseLimits small;
  small.max_nodes = 5;
  EXPECT_FALSE(Parse("1+2+3+4", small).ok());
  small.max_length = 3;
  EXPECT_FALSE(Parse("1+2+3", small).ok());
}

// Every prefix of valid expressions and a set of garbage inputs: no crash, an error or a tree.
TEST(ParserTest, FuzzCorpusNeverCrashes) {
  const std::string corpus[] = {
      "($close-Min($low, 5))/(Max($high, 5)-Min($low, 5)+1e-12)",
      "Corr($close/Ref($close,1), Log($volume/Ref($volume, 1)+1), 5)",
      "EMA(close,10) > EMA(close,30) and PCT_RANK(ROC(close,20)) > 0.7",
      "ZSCORE(x, by=industry) ^ -2 ** 3",
      "if(not a, 'x', ${p}) <> ~b || c && d",
  };
  int parsed = 0;
  for (const std::string& text : corpus) {
    for (std::size_t n = 0; n <= text.size(); ++n)
      parsed += Parse(text.substr(0, n)).ok();
    std::string mutated = text;
    for (std::size_t i = 0; i < mutated.size(); i += 3) {
      std::string m = mutated;
      m[i] = static_cast<char>((m[i] * 31 + 7) % 128);
      parsed += Parse(m).ok();
    }
  }
  EXPECT_GT(parsed, 10);
}

// Random token soup from the language's own alphabet: every input either parses or fails with a
// "line:column: message" error, and whatever parses also compiles or fails cleanly.
TEST(ParserTest, RandomTokenFuzz) {
  const char* tokens[] = {"$close",
                          "close",
                          "volume",
                          "1",
                          "-2",
                          "0.5",
                          "1e-12",
                          "(",
                          ")",
                          ",",
                          "+",
                          "-",
                          "*",
                          "/",
                          "^",
                          "**",
                          ">",
                          ">=",
                          "<",
                          "==",
                          "!=",
                          "and",
                          "or",
                          "not",
                          "&",
                          "|",
                          "~",
                          "Mean(",
                          "Ref(",
                          "EMA(",
                          "IF(",
                          "CS_RANK(",
                          "ZSCORE(",
                          "Corr(",
                          "Quantile(",
                          "n=",
                          "by=",
                          "${p}",
                          "'s'",
                          "\n",
                          "factor://common/roc",
                          "#",
                          "@",
                          "Greater(",
                          "Rank(",
                          "RSI("};
  std::mt19937_64 rng(7);
  int parsed = 0, compiled = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 14);
    for (int k = 0; k < n; ++k) {
      text += tokens[rng() % std::size(tokens)];
      text += ' ';
    }
    Result<AstNode> ast = Parse(text);
    if (!ast.ok()) {
      const std::string msg(ast.status().message());
      ASSERT_TRUE(std::isdigit(static_cast<unsigned char>(msg[0])) &&
                  msg.find(':') != std::string::npos)
          << text << " -> " << msg;
      continue;
    }
    ++parsed;
    CompileOptions options;
    options.params = {{"p", 3}};
    options.known_fields = std::vector<std::string>{"close", "volume"};
    std::vector<ExprSpec> exprs = {{"f", text}};
    compiled += Compile(exprs, options).ok();
  }
  EXPECT_GT(parsed, 500);
  EXPECT_GT(compiled, 100);
}

}  // namespace
}  // namespace qraft::expr
