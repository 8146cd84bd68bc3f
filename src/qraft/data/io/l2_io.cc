#include "qraft/data/io/l2_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <span>

#include "qraft/data/io/file_reader.h"

namespace qraft::data::io {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kPow10[19] = {1,
                                     10,
                                     100,
                                     1000,
                                     10000,
                                     100000,
                                     1000000,
                                     10000000,
                                     100000000,
                                     1000000000,
                                     10000000000,
                                     100000000000,
                                     1000000000000,
                                     10000000000000,
                                     100000000000000,
                                     1000000000000000,
                                     10000000000000000,
                                     100000000000000000,
                                     1000000000000000000};

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Whole-number text ("1723161256172216566", "-1") to int64; false on anything else.
bool ParseInt(std::string_view s, std::int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

std::string StepText(DecimalStep s) {
  if (s.scale == 0) return std::to_string(s.units);
  std::string digits = std::to_string(s.units);
  if (digits.size() <= static_cast<std::size_t>(s.scale))
    digits.insert(0, static_cast<std::size_t>(s.scale) + 1 - digits.size(), '0');
  digits.insert(digits.size() - static_cast<std::size_t>(s.scale), ".");
  return digits;
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader: one pass over a line into a tape of nodes whose strings and numbers are
// views into the line. Exchange messages are small and flat, and the decimals we need stay text
// (ParseFixed reads them exactly), so a DOM of views is both the simplest and a fast choice.

struct JNode {
  enum Type : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = kNull;
  std::uint32_t child = 0;  // first member/element; 0 = none (node 0 is the root, never a child)
  std::uint32_t next = 0;   // next sibling; 0 = none
  std::string_view key;     // member name inside an object
  std::string_view text;    // number text, string content (escapes left as written), true/false
};

class JsonTape {
 public:
  /// Parses `s` (one JSON value, whitespace around allowed). On failure returns false and sets
  /// *error to what and where.
  bool Parse(std::string_view s, std::string* error) {
    s_ = s;
    pos_ = 0;
    nodes_.clear();
    error_ = nullptr;
    Ws();
    Value(0);  // the root is node 0
    Ws();
    if (error_ == nullptr && pos_ != s_.size()) error_ = "unexpected text after the JSON value";
    if (error_ != nullptr) {
      *error = fmt::format("not JSON at byte {}: {}", pos_, error_);
      return false;
    }
    return true;
  }

  const JNode& root() const { return nodes_[0]; }
  const JNode& at(std::uint32_t i) const { return nodes_[i]; }

  /// The member `key` of an object, or nullptr.
  const JNode* Find(const JNode& obj, std::string_view key) const {
    if (obj.type != JNode::kObject) return nullptr;
    for (std::uint32_t i = obj.child; i != 0; i = nodes_[i].next) {
      if (nodes_[i].key == key) return &nodes_[i];
    }
    return nullptr;
  }

 private:
  static constexpr int kMaxDepth = 32;

  void Ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  // Records the first error; returns node 0, which Value's callers never link as a child.
  std::uint32_t Fail(const char* what) {
    if (error_ == nullptr) error_ = what;
    return 0;
  }

  std::uint32_t NewNode(JNode::Type t) {
    nodes_.push_back(JNode{});
    nodes_.back().type = t;
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  bool String(std::string_view* out) {
    // pos_ at the opening quote.
    const std::size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\') ++pos_;  // an escaped character, kept as written
      ++pos_;
    }
    if (pos_ >= s_.size()) {
      Fail("unterminated string");
      return false;
    }
    *out = s_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }

  std::uint32_t Value(int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    if (pos_ >= s_.size()) return Fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      const bool object = c == '{';
      const std::uint32_t self = NewNode(object ? JNode::kObject : JNode::kArray);
      ++pos_;
      Ws();
      const char close = object ? '}' : ']';
      if (pos_ < s_.size() && s_[pos_] == close) {
        ++pos_;
        return self;
      }
      std::uint32_t prev = 0;
      while (true) {
        std::string_view key;
        if (object) {
          if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a member name");
          if (!String(&key)) return 0;
          Ws();
          if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':'");
          ++pos_;
          Ws();
        }
        const std::uint32_t child = Value(depth + 1);
        if (error_ != nullptr) return 0;
        nodes_[child].key = key;
        if (prev == 0) {
          nodes_[self].child = child;
        } else {
          nodes_[prev].next = child;
        }
        prev = child;
        Ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          Ws();
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == close) {
          ++pos_;
          return self;
        }
        return Fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    if (c == '"') {
      const std::uint32_t self = NewNode(JNode::kString);
      std::string_view v;
      if (!String(&v)) return 0;
      nodes_[self].text = v;
      return self;
    }
    auto word = [&](std::string_view w, JNode::Type t) -> std::uint32_t {
      if (s_.substr(pos_, w.size()) != w) return Fail("unexpected character");
      const std::uint32_t self = NewNode(t);
      nodes_[self].text = w;
      pos_ += w.size();
      return self;
    };
    if (c == 't') return word("true", JNode::kBool);
    if (c == 'f') return word("false", JNode::kBool);
    if (c == 'n') return word("null", JNode::kNull);
    if (c == '-' || IsDigit(c)) {
      const std::size_t start = pos_;
      ++pos_;
      while (pos_ < s_.size() && (IsDigit(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == 'e' ||
                                  s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      const std::uint32_t self = NewNode(JNode::kNumber);
      nodes_[self].text = s_.substr(start, pos_ - start);
      return self;
    }
    return Fail("unexpected character");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const char* error_ = nullptr;
  std::vector<JNode> nodes_;
};

// ---------------------------------------------------------------------------------------------
// Where an error happened, for messages "file:line: ...".

struct Where {
  std::string_view file;
  std::size_t line = 0;
  Status Error(std::string_view what) const {
    return Status::DataError(fmt::format("{}:{}: {}", file, line, what));
  }
};

// Converts decimal text to steps with error messages naming the field.
class Grid {
 public:
  Grid(DecimalStep tick, DecimalStep size) : tick_(tick), size_(size) {}

  Status Price(std::string_view text, const Where& w, std::string_view field,
               std::int64_t* out) const {
    return Convert(text, tick_, "tick size", w, field, out);
  }
  Status Qty(std::string_view text, const Where& w, std::string_view field,
             std::int64_t* out) const {
    QRAFT_RETURN_NOT_OK(Convert(text, size_, "size increment", w, field, out));
    if (*out < 0) {
      return w.Error(fmt::format("field '{}': quantity '{}' is negative", field, text));
    }
    return Status::OK();
  }

 private:
  static Status Convert(std::string_view text, DecimalStep step, std::string_view step_name,
                        const Where& w, std::string_view field, std::int64_t* out) {
    switch (ParseFixed(text, step, out)) {
      case FixedParse::kOk:
        return Status::OK();
      case FixedParse::kMalformed:
        return w.Error(fmt::format("field '{}': '{}' is not a decimal number", field, text));
      case FixedParse::kOffGrid:
        return w.Error(fmt::format("field '{}': '{}' is not a multiple of the {} {}", field, text,
                                   step_name, StepText(step)));
      case FixedParse::kOverflow:
        return w.Error(fmt::format("field '{}': '{}' is too large for the {} {}", field, text,
                                   step_name, StepText(step)));
    }
    return Status::Internal("unreachable");
  }

  DecimalStep tick_, size_;
};

Result<Grid> MakeGrid(const L2ReadOptions& o) {
  auto tick = DecimalStep::FromDouble(o.tick_size);
  if (!tick.ok()) return tick.status().WithContext("tick_size");
  auto size = DecimalStep::FromDouble(o.size_increment);
  if (!size.ok()) return size.status().WithContext("size_increment");
  return Grid(*tick, *size);
}

// ---------------------------------------------------------------------------------------------
// Binance's book synchronisation (header comment): shared by the capture and the CSV readers.

struct DiffHeader {
  std::int64_t first = 0;  // U
  std::int64_t last = 0;   // u
  std::int64_t prev = 0;   // pu (futures)
  bool has_prev = false;
  Timestamp local_ts = 0;
  Where where;
};

class BinanceSync {
 public:
  BinanceSync(const L2ReadOptions& o, L2Data* out) : o_(o), out_(out) {}

  /// A diff message; `levels` are its kDelta events (flags unset). The message is kept for
  /// kResyncWindow so that a later snapshot can replay it.
  Status Diff(const DiffHeader& h, std::span<const L2Event> levels) {
    out_->stats.diffs++;
    Trim(h.local_ts);
    const std::size_t begin = events_base_ + recent_events_.size();
    Recent r{h, begin, begin + levels.size(), Fate::kPending};
    recent_events_.insert(recent_events_.end(), levels.begin(), levels.end());
    recent_.push_back(r);
    return Apply(recent_.back(), false, 0);
  }

  /// A snapshot with lastUpdateId `last_id`; `levels` are its kSnapshot events.
  Status Snapshot(std::int64_t last_id, Timestamp exchange_ts, Timestamp local_ts,
                  std::span<const L2Event> levels) {
    out_->stats.snapshots++;
    L2Event clear;
    clear.kind = L2Kind::kClear;
    clear.exchange_ts = exchange_ts;
    clear.local_ts = local_ts;
    clear.seq = last_id;
    clear.flags = levels.empty() ? kL2Last : 0;
    out_->events.push_back(clear);
    out_->events.insert(out_->events.end(), levels.begin(), levels.end());
    if (!levels.empty()) out_->events.back().flags |= kL2Last;
    state_ = State::kFirst;
    snapshot_id_ = last_id;
    had_book_ = true;
    // The diffs received before the snapshot: the ones that follow it complete the book.
    for (Recent& r : recent_) {
      QRAFT_RETURN_NOT_OK(Apply(r, true, local_ts));
    }
    return Status::OK();
  }

  void Finish() {
    for (const Recent& r : recent_)
      CountDropped(r);
    recent_.clear();
  }

 private:
  static constexpr Timestamp kResyncWindow = 30 * kNanosPerSecond;
  enum class State : std::uint8_t { kNoBook, kFirst, kSynced };
  enum class Fate : std::uint8_t { kPending, kApplied, kStale };
  struct Recent {
    DiffHeader h;
    std::size_t begin, end;  // absolute: recent_events_[begin - events_base_]
    Fate fate;
  };

  void CountDropped(const Recent& r) {
    if (r.fate == Fate::kPending) out_->stats.diffs_without_book++;
  }

  // Forgets diffs older than the window (counted as bookless if never applied).
  void Trim(Timestamp now) {
    while (!recent_.empty() && recent_.front().h.local_ts < now - kResyncWindow) {
      CountDropped(recent_.front());
      recent_.pop_front();
    }
    const std::size_t used_from =
        recent_.empty() ? recent_events_.size() + events_base_ : recent_.front().begin;
    const std::size_t dead = used_from - events_base_;
    if (dead > 4096 && dead * 2 > recent_events_.size()) {
      recent_events_.erase(recent_events_.begin(),
                           recent_events_.begin() + static_cast<std::ptrdiff_t>(dead));
      events_base_ += dead;
    }
  }

  Status Apply(Recent& r, bool replay, Timestamp replay_ts) {
    const DiffHeader& h = r.h;
    bool gap = false;
    switch (state_) {
      case State::kNoBook:
        if (!o_.start_without_snapshot || had_book_) return Status::OK();  // stays pending
        // An empty book to start from: the first diff is taken on trust.
        had_book_ = true;
        PushClear(h.local_ts, 0);
        break;
      case State::kFirst: {
        const bool stale = h.has_prev ? h.last < snapshot_id_ : h.last <= snapshot_id_;
        if (stale) {
          if (r.fate == Fate::kPending) out_->stats.diffs_stale++;
          if (r.fate != Fate::kApplied) r.fate = Fate::kStale;
          return Status::OK();
        }
        gap = h.has_prev ? h.first > snapshot_id_ : h.first > snapshot_id_ + 1;
        if (gap && o_.on_gap == GapPolicy::kFail) {
          return h.where.Error(fmt::format(
              "depth update U={} u={} does not reach back to the snapshot's lastUpdateId {}: "
              "updates between them were lost (L2ReadOptions::on_gap kMark or kResync reads on)",
              h.first, h.last, snapshot_id_));
        }
        break;
      }
      case State::kSynced:
        gap = h.has_prev ? h.prev != last_id_ : h.first != last_id_ + 1;
        if (gap && o_.on_gap == GapPolicy::kFail) {
          return h.where.Error(
              h.has_prev
                  ? fmt::format("depth update U={} u={} pu={} does not follow the previous update "
                                "u={}: updates were lost (L2ReadOptions::on_gap kMark or kResync "
                                "reads on)",
                                h.first, h.last, h.prev, last_id_)
                  : fmt::format("depth update U={} u={} does not follow the previous update u={}: "
                                "updates were lost (L2ReadOptions::on_gap kMark or kResync reads "
                                "on)",
                                h.first, h.last, last_id_));
        }
        break;
    }
    const Timestamp ts = replay ? std::max(h.local_ts, replay_ts) : h.local_ts;
    if (gap) {
      out_->stats.gaps++;
      if (o_.on_gap == GapPolicy::kResync) {
        PushClear(ts, kL2Gap);
        state_ = State::kNoBook;
        return Status::OK();  // stays pending: the next snapshot may replay it
      }
    }
    const std::size_t first = r.begin - events_base_, last = r.end - events_base_;
    const std::size_t at = out_->events.size();
    out_->events.insert(out_->events.end(),
                        recent_events_.begin() + static_cast<std::ptrdiff_t>(first),
                        recent_events_.begin() + static_cast<std::ptrdiff_t>(last));
    for (std::size_t i = at; i < out_->events.size(); ++i) {
      L2Event& e = out_->events[i];
      e.local_ts = ts;
      e.flags = replay ? kL2Replayed : 0;
    }
    if (out_->events.size() > at) {
      if (gap) out_->events[at].flags |= kL2Gap;
      out_->events.back().flags |= kL2Last;
    }
    out_->stats.diffs_applied++;
    r.fate = Fate::kApplied;
    last_id_ = h.last;
    state_ = State::kSynced;
    return Status::OK();
  }

  void PushClear(Timestamp local_ts, std::uint8_t flags) {
    L2Event clear;
    clear.kind = L2Kind::kClear;
    clear.local_ts = local_ts;
    clear.flags = static_cast<std::uint8_t>(flags | kL2Last);
    out_->events.push_back(clear);
  }

  const L2ReadOptions& o_;
  L2Data* out_;
  State state_ = State::kNoBook;
  bool had_book_ = false;
  std::int64_t snapshot_id_ = 0;  // L of the last snapshot
  std::int64_t last_id_ = 0;      // u of the last applied diff
  std::deque<Recent> recent_;
  std::vector<L2Event> recent_events_;
  std::size_t events_base_ = 0;  // absolute index of recent_events_[0]
};

// ---------------------------------------------------------------------------------------------
// Binance websocket capture

// Receive-time units by magnitude: ms stamps have 13 digits, µs 16, ns 19 (for 2001..2286).
int StampDigits(std::int64_t v) {
  if (v < 100'000'000'000'000) return 13;
  if (v < 100'000'000'000'000'000) return 16;
  return 19;
}

Timestamp StampToNanos(std::int64_t v, int digits) {
  return digits == 13 ? v * kNanosPerMilli : digits == 16 ? v * kNanosPerMicro : v;
}

class CaptureReader {
 public:
  CaptureReader(const L2ReadOptions& o, const Grid& grid, L2Data* out)
      : o_(o), grid_(grid), out_(out), sync_(o, out) {}

  Status ReadFile(const fs::path& path) {
    QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadDecompressed(path));
    files_.push_back(path.string());
    Where w{files_.back(), 0};
    int digits = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      ++w.line;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      out_->stats.lines++;
      const std::size_t space = line.find(' ');
      std::int64_t stamp = 0;
      if (space == std::string_view::npos || !ParseInt(line.substr(0, space), &stamp) ||
          stamp <= 0) {
        return w.Error("expected '<receive time> <JSON message>'");
      }
      const int d = StampDigits(stamp);
      if (digits == 0) {
        digits = d;
        out_->stats.local_ts_digits = d;
      } else if (d != digits) {
        return w.Error(fmt::format(
            "receive time {} has {} digits where the file's first line has {} (mixed units)", stamp,
            d, digits));
      }
      std::string err;
      if (!json_.Parse(line.substr(space + 1), &err)) return w.Error(err);
      QRAFT_RETURN_NOT_OK(Message(StampToNanos(stamp, digits), w));
    }
    return Status::OK();
  }

  Status Finish() {
    sync_.Finish();
    if (out_->stats.snapshots + out_->stats.diffs + out_->stats.trades + out_->stats.quotes == 0) {
      return Status::DataError(fmt::format(
          "{}: no Binance depth, trade or bookTicker message (is this a Binance capture?)",
          files_.empty() ? std::string("(no file)") : files_.back()));
    }
    return Status::OK();
  }

 private:
  const JNode* Field(const JNode& obj, std::string_view key) const { return json_.Find(obj, key); }

  Status IntField(const JNode& obj, std::string_view key, const Where& w, std::int64_t* out) const {
    const JNode* n = Field(obj, key);
    if (n == nullptr) return w.Error(fmt::format("field '{}' is missing", key));
    if ((n->type != JNode::kNumber && n->type != JNode::kString) || !ParseInt(n->text, out)) {
      return w.Error(fmt::format("field '{}': expected an integer, got '{}'", key, n->text));
    }
    return Status::OK();
  }

  // The exchange time of a message: T (matching-engine time) when present, else E (event time).
  Status ExchangeTime(const JNode& obj, const Where& w, Timestamp* out) const {
    std::int64_t ms = 0;
    for (std::string_view key : {"T", "E"}) {
      if (Field(obj, key) != nullptr) {
        QRAFT_RETURN_NOT_OK(IntField(obj, key, w, &ms));
        *out = ms * kNanosPerMilli;
        return Status::OK();
      }
    }
    *out = kNoTimestamp;
    return Status::OK();
  }

  Status CheckSymbol(const JNode& obj, std::string_view key, const Where& w) {
    const JNode* s = Field(obj, key);
    if (s == nullptr || s->type != JNode::kString) return Status::OK();
    if (out_->stats.symbol.empty()) {
      out_->stats.symbol = std::string(s->text);
    } else if (out_->stats.symbol != s->text) {
      return w.Error(fmt::format(
          "symbol '{}' after '{}': one capture must hold one symbol (read each symbol's lines "
          "separately)",
          s->text, out_->stats.symbol));
    }
    return Status::OK();
  }

  // Levels [[price, qty], ...] of `arr` (field name `name`) appended to levels_.
  Status Levels(const JNode* arr, std::string_view name, L2Side side, L2Kind kind,
                const L2Event& proto, const Where& w) {
    if (arr == nullptr) return w.Error(fmt::format("field '{}' is missing", name));
    if (arr->type != JNode::kArray) {
      return w.Error(fmt::format("field '{}': expected an array of [price, qty]", name));
    }
    std::size_t k = 0;
    for (std::uint32_t i = arr->child; i != 0; i = json_.at(i).next, ++k) {
      const JNode& lv = json_.at(i);
      const JNode* p = lv.type == JNode::kArray && lv.child ? &json_.at(lv.child) : nullptr;
      const JNode* q = p != nullptr && p->next ? &json_.at(p->next) : nullptr;
      if (q == nullptr) {
        return w.Error(fmt::format("field '{}[{}]': expected [price, qty]", name, k));
      }
      L2Event e = proto;
      e.kind = kind;
      e.side = side;
      QRAFT_RETURN_NOT_OK(grid_.Price(p->text, w, fmt::format("{}[{}][0]", name, k), &e.price));
      QRAFT_RETURN_NOT_OK(grid_.Qty(q->text, w, fmt::format("{}[{}][1]", name, k), &e.qty));
      levels_.push_back(e);
    }
    return Status::OK();
  }

  Status Message(Timestamp local_ts, const Where& w) {
    const JNode& root = json_.root();
    if (root.type != JNode::kObject) return w.Error("expected a JSON object");
    if (Field(root, "lastUpdateId") != nullptr) return Snapshot(root, local_ts, w);
    const JNode* data = Field(root, "data");
    const JNode& msg = data != nullptr && data->type == JNode::kObject ? *data : root;
    // Partial book streams (<symbol>@depth5/10/20) carry the top levels only, in the same shapes
    // as a snapshot or a diff: reading them as either would corrupt the book.
    if (const JNode* stream = Field(root, "stream"); stream != nullptr) {
      const std::size_t at = stream->text.find("@depth");
      if (at != std::string_view::npos && at + 6 < stream->text.size() &&
          IsDigit(stream->text[at + 6])) {
        out_->stats.skipped++;
        return Status::OK();
      }
    }
    const JNode* e = Field(msg, "e");
    const std::string_view type = e != nullptr ? e->text : std::string_view();
    if (type == "depthUpdate") return Diff(msg, local_ts, w);
    if (type == "trade" || type == "aggTrade") return Trade(msg, type, local_ts, w);
    // Spot bookTicker payloads have no "e": {"u", "s", "b", "B", "a", "A"}.
    if (type == "bookTicker" ||
        (e == nullptr && Field(msg, "u") && Field(msg, "B") && Field(msg, "A"))) {
      return Quote(msg, local_ts, w);
    }
    out_->stats.skipped++;
    return Status::OK();
  }

  Status Snapshot(const JNode& msg, Timestamp local_ts, const Where& w) {
    L2Event proto;
    std::int64_t last_id = 0;
    QRAFT_RETURN_NOT_OK(IntField(msg, "lastUpdateId", w, &last_id));
    QRAFT_RETURN_NOT_OK(ExchangeTime(msg, w, &proto.exchange_ts));
    QRAFT_RETURN_NOT_OK(CheckSymbol(msg, "symbol", w));
    proto.local_ts = local_ts;
    proto.seq = last_id;
    levels_.clear();
    QRAFT_RETURN_NOT_OK(
        Levels(Field(msg, "bids"), "bids", L2Side::kBid, L2Kind::kSnapshot, proto, w));
    QRAFT_RETURN_NOT_OK(
        Levels(Field(msg, "asks"), "asks", L2Side::kAsk, L2Kind::kSnapshot, proto, w));
    return sync_.Snapshot(last_id, proto.exchange_ts, local_ts, levels_);
  }

  Status Diff(const JNode& msg, Timestamp local_ts, const Where& w) {
    DiffHeader h;
    h.local_ts = local_ts;
    h.where = w;
    QRAFT_RETURN_NOT_OK(IntField(msg, "U", w, &h.first));
    QRAFT_RETURN_NOT_OK(IntField(msg, "u", w, &h.last));
    if (Field(msg, "pu") != nullptr) {
      QRAFT_RETURN_NOT_OK(IntField(msg, "pu", w, &h.prev));
      h.has_prev = true;
    }
    QRAFT_RETURN_NOT_OK(CheckSymbol(msg, "s", w));
    L2Event proto;
    QRAFT_RETURN_NOT_OK(ExchangeTime(msg, w, &proto.exchange_ts));
    proto.local_ts = local_ts;
    proto.seq = h.last;
    levels_.clear();
    QRAFT_RETURN_NOT_OK(Levels(Field(msg, "b"), "b", L2Side::kBid, L2Kind::kDelta, proto, w));
    QRAFT_RETURN_NOT_OK(Levels(Field(msg, "a"), "a", L2Side::kAsk, L2Kind::kDelta, proto, w));
    return sync_.Diff(h, levels_);
  }

  Status Trade(const JNode& msg, std::string_view type, Timestamp local_ts, const Where& w) {
    out_->stats.trades++;
    QRAFT_RETURN_NOT_OK(CheckSymbol(msg, "s", w));
    if (!o_.trades) return Status::OK();
    L2Event e;
    e.kind = L2Kind::kTrade;
    e.local_ts = local_ts;
    QRAFT_RETURN_NOT_OK(ExchangeTime(msg, w, &e.exchange_ts));
    QRAFT_RETURN_NOT_OK(IntField(msg, type == "trade" ? "t" : "a", w, &e.seq));
    const JNode* p = Field(msg, "p");
    const JNode* q = Field(msg, "q");
    const JNode* m = Field(msg, "m");
    if (p == nullptr || q == nullptr || m == nullptr || m->type != JNode::kBool) {
      return w.Error(fmt::format("{}: fields 'p', 'q' and 'm' (true/false) are required", type));
    }
    QRAFT_RETURN_NOT_OK(grid_.Price(p->text, w, "p", &e.price));
    QRAFT_RETURN_NOT_OK(grid_.Qty(q->text, w, "q", &e.qty));
    // m: the buyer was the maker, so the seller hit the bid.
    e.side = m->text == "true" ? L2Side::kAsk : L2Side::kBid;
    e.flags = kL2Last;
    out_->events.push_back(e);
    return Status::OK();
  }

  Status Quote(const JNode& msg, Timestamp local_ts, const Where& w) {
    out_->stats.quotes++;
    QRAFT_RETURN_NOT_OK(CheckSymbol(msg, "s", w));
    if (!o_.quotes) return Status::OK();
    L2Event bid;
    bid.kind = L2Kind::kQuote;
    bid.local_ts = local_ts;
    QRAFT_RETURN_NOT_OK(ExchangeTime(msg, w, &bid.exchange_ts));
    QRAFT_RETURN_NOT_OK(IntField(msg, "u", w, &bid.seq));
    L2Event ask = bid;
    bid.side = L2Side::kBid;
    ask.side = L2Side::kAsk;
    ask.flags = kL2Last;
    const JNode* fields[4] = {Field(msg, "b"), Field(msg, "B"), Field(msg, "a"), Field(msg, "A")};
    constexpr std::string_view kNames[4] = {"b", "B", "a", "A"};
    for (int i = 0; i < 4; ++i) {
      if (fields[i] == nullptr) return w.Error(fmt::format("field '{}' is missing", kNames[i]));
    }
    QRAFT_RETURN_NOT_OK(grid_.Price(fields[0]->text, w, "b", &bid.price));
    QRAFT_RETURN_NOT_OK(grid_.Qty(fields[1]->text, w, "B", &bid.qty));
    QRAFT_RETURN_NOT_OK(grid_.Price(fields[2]->text, w, "a", &ask.price));
    QRAFT_RETURN_NOT_OK(grid_.Qty(fields[3]->text, w, "A", &ask.qty));
    out_->events.push_back(bid);
    out_->events.push_back(ask);
    return Status::OK();
  }

  const L2ReadOptions& o_;
  const Grid& grid_;
  L2Data* out_;
  BinanceSync sync_;
  JsonTape json_;
  std::vector<L2Event> levels_;
  std::deque<std::string> files_;  // stable storage for the names in Where
};

// ---------------------------------------------------------------------------------------------
// CSV helpers (Tardis and NautilusTrader write plain CSV: no quoting, LF or CRLF)

class CsvLines {
 public:
  explicit CsvLines(std::string_view text) : text_(text) {}

  /// The next non-empty line split at commas into `fields`; false at the end.
  bool Next(std::vector<std::string_view>* fields) {
    while (pos_ < text_.size()) {
      std::size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      fields->clear();
      std::size_t start = 0;
      while (true) {
        const std::size_t comma = line.find(',', start);
        if (comma == std::string_view::npos) {
          fields->push_back(line.substr(start));
          break;
        }
        fields->push_back(line.substr(start, comma - start));
        start = comma + 1;
      }
      return true;
    }
    return false;
  }
  std::size_t line() const { return line_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
};

// Column positions by header name; Status names the file and the missing column.
class Header {
 public:
  Header(std::vector<std::string_view> names, const Where& w) : names_(std::move(names)), w_(w) {}
  Status Need(std::string_view name, std::size_t* out) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) {
        *out = i;
        return Status::OK();
      }
    }
    return w_.Error(fmt::format("header: column '{}' is missing", name));
  }
  std::size_t size() const { return names_.size(); }
  const std::vector<std::string_view>& names() const { return names_; }

 private:
  std::vector<std::string_view> names_;
  Where w_;
};

Status CsvInt(const std::vector<std::string_view>& f, std::size_t col, std::string_view name,
              const Where& w, std::int64_t* out) {
  if (!ParseInt(f[col], out)) {
    return w.Error(fmt::format("field '{}': expected an integer, got '{}'", name, f[col]));
  }
  return Status::OK();
}

Status CheckWidth(const std::vector<std::string_view>& f, std::size_t width, const Where& w) {
  if (f.size() != width) {
    return w.Error(fmt::format("expected {} fields as in the header, got {}", width, f.size()));
  }
  return Status::OK();
}

Status CheckCsvSymbol(std::string_view symbol, const Where& w, L2Stats* stats) {
  if (stats->symbol.empty()) {
    stats->symbol = std::string(symbol);
  } else if (stats->symbol != symbol) {
    return w.Error(fmt::format("symbol '{}' after '{}': one file must hold one symbol", symbol,
                               stats->symbol));
  }
  return Status::OK();
}

Status TardisSide(std::string_view text, const Where& w, L2Side* side) {
  if (text == "bid") {
    *side = L2Side::kBid;
  } else if (text == "ask") {
    *side = L2Side::kAsk;
  } else {
    return w.Error(fmt::format("field 'side': expected bid or ask, got '{}'", text));
  }
  return Status::OK();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<DecimalStep> DecimalStep::FromDouble(double step) {
  if (!std::isfinite(step) || step <= 0) {
    return Status::InvalidArgument(fmt::format("step {} must be a positive number", step));
  }
  for (int scale = 0; scale <= 18; ++scale) {
    const double x = step * static_cast<double>(kPow10[scale]);
    if (x >= 9.2e18) break;
    const double r = std::round(x);
    if (r >= 1 && std::abs(x - r) <= 1e-9 * x) {
      return DecimalStep{static_cast<std::int64_t>(r), scale};
    }
  }
  return Status::InvalidArgument(
      fmt::format("step {} is not a decimal with at most 18 decimals", step));
}

FixedParse ParseFixed(std::string_view s, DecimalStep step, std::int64_t* out) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  // Integer and fraction digits; the fraction's trailing zeros do not change the value.
  const std::size_t int_begin = i;
  while (i < s.size() && IsDigit(s[i]))
    ++i;
  std::string_view int_part = s.substr(int_begin, i - int_begin);
  std::string_view frac_part;
  if (i < s.size() && s[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < s.size() && IsDigit(s[i]))
      ++i;
    frac_part = s.substr(frac_begin, i - frac_begin);
  }
  if (int_part.empty() && frac_part.empty()) return FixedParse::kMalformed;
  std::int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) exp_negative = s[i++] == '-';
    const std::size_t exp_begin = i;
    while (i < s.size() && IsDigit(s[i]) && i - exp_begin < 6) {
      exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_begin) return FixedParse::kMalformed;
    if (exp_negative) exponent = -exponent;
  }
  if (i != s.size()) return FixedParse::kMalformed;
  while (!frac_part.empty() && frac_part.back() == '0')
    frac_part.remove_suffix(1);
  while (!int_part.empty() && int_part.front() == '0')
    int_part.remove_prefix(1);

  // value = mantissa x 10^(exponent - fraction digits); the mantissa must fit int64.
  std::int64_t mantissa = 0;
  for (std::string_view part : {int_part, frac_part}) {
    for (char c : part) {
      if (__builtin_mul_overflow(mantissa, 10, &mantissa) ||
          __builtin_add_overflow(mantissa, c - '0', &mantissa)) {
        return FixedParse::kOverflow;
      }
    }
  }
  if (mantissa == 0) {
    *out = 0;
    return FixedParse::kOk;
  }
  // value / step = mantissa x 10^k / units.
  const std::int64_t k = exponent - static_cast<std::int64_t>(frac_part.size()) + step.scale;
  std::int64_t q = 0;
  if (k >= 0) {
    if (k > 18) return FixedParse::kOverflow;
    std::int64_t num = 0;
    if (__builtin_mul_overflow(mantissa, kPow10[k], &num)) return FixedParse::kOverflow;
    if (num % step.units != 0) return FixedParse::kOffGrid;
    q = num / step.units;
  } else {
    if (-k > 18) return FixedParse::kOffGrid;  // finer than any 18-digit mantissa can fill
    std::int64_t den = 0;
    if (__builtin_mul_overflow(step.units, kPow10[-k], &den)) return FixedParse::kOffGrid;
    if (mantissa % den != 0) return FixedParse::kOffGrid;
    q = mantissa / den;
  }
  *out = negative ? -q : q;
  return FixedParse::kOk;
}

Result<L2Data> ReadBinanceCapture(const std::vector<fs::path>& paths,
                                  const L2ReadOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(const Grid grid, MakeGrid(options));
  if (paths.empty()) return Status::InvalidArgument("ReadBinanceCapture: no file given");
  L2Data out;
  CaptureReader reader(options, grid, &out);
  for (const fs::path& p : paths)
    QRAFT_RETURN_NOT_OK(reader.ReadFile(p));
  QRAFT_RETURN_NOT_OK(reader.Finish());
  return out;
}

Result<L2Data> ReadTardisIncrementalL2(const fs::path& path, const L2ReadOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(const Grid grid, MakeGrid(options));
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadDecompressed(path));
  const std::string file = path.string();
  CsvLines lines(text);
  std::vector<std::string_view> f;
  Where w{file, 0};
  if (!lines.Next(&f)) return Status::DataError(fmt::format("{}: empty file", file));
  w.line = lines.line();
  const Header header(f, w);
  std::size_t c_symbol = 0, c_ts = 0, c_local = 0, c_snap = 0, c_side = 0, c_price = 0,
              c_amount = 0;
  QRAFT_RETURN_NOT_OK(header.Need("symbol", &c_symbol));
  QRAFT_RETURN_NOT_OK(header.Need("timestamp", &c_ts));
  QRAFT_RETURN_NOT_OK(header.Need("local_timestamp", &c_local));
  QRAFT_RETURN_NOT_OK(header.Need("is_snapshot", &c_snap));
  QRAFT_RETURN_NOT_OK(header.Need("side", &c_side));
  QRAFT_RETURN_NOT_OK(header.Need("price", &c_price));
  QRAFT_RETURN_NOT_OK(header.Need("amount", &c_amount));

  L2Data out;
  bool in_snapshot = false;
  Timestamp prev_local = kNoTimestamp;
  auto end_message = [&] {
    if (!out.events.empty()) out.events.back().flags |= kL2Last;
  };
  while (lines.Next(&f)) {
    w.line = lines.line();
    out.stats.lines++;
    QRAFT_RETURN_NOT_OK(CheckWidth(f, header.size(), w));
    QRAFT_RETURN_NOT_OK(CheckCsvSymbol(f[c_symbol], w, &out.stats));
    L2Event e;
    std::int64_t us = 0;
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_ts, "timestamp", w, &us));
    e.exchange_ts = us * kNanosPerMicro;
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_local, "local_timestamp", w, &us));
    e.local_ts = us * kNanosPerMicro;
    bool snapshot = false;
    if (f[c_snap] == "true") {
      snapshot = true;
    } else if (f[c_snap] != "false") {
      return w.Error(
          fmt::format("field 'is_snapshot': expected true or false, got '{}'", f[c_snap]));
    }
    QRAFT_RETURN_NOT_OK(TardisSide(f[c_side], w, &e.side));
    QRAFT_RETURN_NOT_OK(grid.Price(f[c_price], w, "price", &e.price));
    QRAFT_RETURN_NOT_OK(grid.Qty(f[c_amount], w, "amount", &e.qty));
    // One message = the rows of one local_timestamp (Tardis' advice); a snapshot run after
    // updates, or at the start, replaces the book.
    if (e.local_ts != prev_local || snapshot != in_snapshot) end_message();
    if (snapshot && !in_snapshot) {
      L2Event clear = e;
      clear.kind = L2Kind::kClear;
      clear.side = L2Side::kNone;
      clear.price = clear.qty = 0;
      out.events.push_back(clear);
      out.stats.snapshots++;
    }
    if (!snapshot) {
      out.stats.diffs++;
      out.stats.diffs_applied++;
    }
    e.kind = snapshot ? L2Kind::kSnapshot : L2Kind::kDelta;
    out.events.push_back(e);
    in_snapshot = snapshot;
    prev_local = e.local_ts;
  }
  end_message();
  return out;
}

Result<L2Data> ReadTardisBookSnapshot(const fs::path& path, const L2ReadOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(const Grid grid, MakeGrid(options));
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadDecompressed(path));
  const std::string file = path.string();
  CsvLines lines(text);
  std::vector<std::string_view> f;
  Where w{file, 0};
  if (!lines.Next(&f)) return Status::DataError(fmt::format("{}: empty file", file));
  w.line = lines.line();
  const Header header(f, w);
  std::size_t c_symbol = 0, c_ts = 0, c_local = 0;
  QRAFT_RETURN_NOT_OK(header.Need("symbol", &c_symbol));
  QRAFT_RETURN_NOT_OK(header.Need("timestamp", &c_ts));
  QRAFT_RETURN_NOT_OK(header.Need("local_timestamp", &c_local));
  struct LevelColumns {
    L2Side side;
    std::size_t price, amount;
    std::string price_name, amount_name;
  };
  std::vector<LevelColumns> cols;
  for (const auto& [side, name] : {std::pair{L2Side::kBid, "bids"}, {L2Side::kAsk, "asks"}}) {
    for (int i = 0;; ++i) {
      LevelColumns c{side, 0, 0, fmt::format("{}[{}].price", name, i),
                     fmt::format("{}[{}].amount", name, i)};
      if (!header.Need(c.price_name, &c.price).ok()) break;
      QRAFT_RETURN_NOT_OK(header.Need(c.amount_name, &c.amount));
      cols.push_back(std::move(c));
    }
  }
  if (cols.empty()) return w.Error("header: no bids[0].price or asks[0].price column");

  L2Data out;
  while (lines.Next(&f)) {
    w.line = lines.line();
    out.stats.lines++;
    out.stats.snapshots++;
    QRAFT_RETURN_NOT_OK(CheckWidth(f, header.size(), w));
    QRAFT_RETURN_NOT_OK(CheckCsvSymbol(f[c_symbol], w, &out.stats));
    L2Event e;
    std::int64_t us = 0;
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_ts, "timestamp", w, &us));
    e.exchange_ts = us * kNanosPerMicro;
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_local, "local_timestamp", w, &us));
    e.local_ts = us * kNanosPerMicro;
    e.kind = L2Kind::kClear;
    out.events.push_back(e);
    e.kind = L2Kind::kSnapshot;
    for (const LevelColumns& c : cols) {
      // A book shallower than N leaves the deeper columns empty.
      if (f[c.price].empty() && f[c.amount].empty()) continue;
      e.side = c.side;
      QRAFT_RETURN_NOT_OK(grid.Price(f[c.price], w, c.price_name, &e.price));
      QRAFT_RETURN_NOT_OK(grid.Qty(f[c.amount], w, c.amount_name, &e.qty));
      out.events.push_back(e);
    }
    out.events.back().flags |= kL2Last;
  }
  return out;
}

namespace {

// One file of NautilusTrader's Binance depth CSV format into `sync`: rows grouped by
// (first_update_id, last_update_id, update_type) are one message. `file` (the path's name) must
// outlive `sync`, which keeps it for messages about buffered diffs.
Status ReadDepthCsvFile(const fs::path& path, std::string_view file, const Grid& grid,
                        BinanceSync* sync, L2Stats* stats) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadDecompressed(path));
  CsvLines lines(text);
  std::vector<std::string_view> f;
  Where w{file, 0};
  if (!lines.Next(&f)) return Status::DataError(fmt::format("{}: empty file", file));
  w.line = lines.line();
  const Header header(f, w);
  std::size_t c_symbol = 0, c_ts = 0, c_first = 0, c_last = 0, c_side = 0, c_type = 0, c_price = 0,
              c_qty = 0, c_pu = 0;
  QRAFT_RETURN_NOT_OK(header.Need("symbol", &c_symbol));
  QRAFT_RETURN_NOT_OK(header.Need("timestamp", &c_ts));
  QRAFT_RETURN_NOT_OK(header.Need("first_update_id", &c_first));
  QRAFT_RETURN_NOT_OK(header.Need("last_update_id", &c_last));
  QRAFT_RETURN_NOT_OK(header.Need("side", &c_side));
  QRAFT_RETURN_NOT_OK(header.Need("update_type", &c_type));
  QRAFT_RETURN_NOT_OK(header.Need("price", &c_price));
  QRAFT_RETURN_NOT_OK(header.Need("qty", &c_qty));
  const bool has_pu = header.Need("pu", &c_pu).ok();

  std::vector<L2Event> levels;
  DiffHeader h;
  bool open = false, open_snapshot = false;
  auto flush = [&]() -> Status {
    if (!open) return Status::OK();
    open = false;
    if (open_snapshot)
      return sync->Snapshot(h.last, levels.front().exchange_ts, h.local_ts, levels);
    return sync->Diff(h, levels);
  };
  while (lines.Next(&f)) {
    w.line = lines.line();
    stats->lines++;
    QRAFT_RETURN_NOT_OK(CheckWidth(f, header.size(), w));
    QRAFT_RETURN_NOT_OK(CheckCsvSymbol(f[c_symbol], w, stats));
    std::int64_t ms = 0, first = 0, last = 0, pu = -1;
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_ts, "timestamp", w, &ms));
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_first, "first_update_id", w, &first));
    QRAFT_RETURN_NOT_OK(CsvInt(f, c_last, "last_update_id", w, &last));
    if (has_pu) QRAFT_RETURN_NOT_OK(CsvInt(f, c_pu, "pu", w, &pu));
    bool snapshot = false;
    if (f[c_type] == "snap") {
      snapshot = true;
    } else if (f[c_type] != "set") {
      return w.Error(fmt::format("field 'update_type': expected snap or set, got '{}'", f[c_type]));
    }
    if (!open || first != h.first || last != h.last || snapshot != open_snapshot) {
      QRAFT_RETURN_NOT_OK(flush());
      open = true;
      open_snapshot = snapshot;
      levels.clear();
      h = DiffHeader{};
      h.first = first;
      h.last = last;
      h.prev = pu;
      h.has_prev = pu >= 0;  // -1: no pu (spot, or a snapshot row)
      h.local_ts = ms * kNanosPerMilli;
      h.where = w;
    }
    L2Event e;
    e.exchange_ts = e.local_ts = ms * kNanosPerMilli;
    e.seq = last;
    e.kind = snapshot ? L2Kind::kSnapshot : L2Kind::kDelta;
    if (f[c_side] == "b" || f[c_side] == "bid") {
      e.side = L2Side::kBid;
    } else if (f[c_side] == "a" || f[c_side] == "ask") {
      e.side = L2Side::kAsk;
    } else {
      return w.Error(fmt::format("field 'side': expected b or a, got '{}'", f[c_side]));
    }
    QRAFT_RETURN_NOT_OK(grid.Price(f[c_price], w, "price", &e.price));
    QRAFT_RETURN_NOT_OK(grid.Qty(f[c_qty], w, "qty", &e.qty));
    levels.push_back(e);
  }
  return flush();
}

}  // namespace

Result<L2Data> ReadBinanceDepthCsv(const fs::path& snapshot_path, const fs::path& updates_path,
                                   const L2ReadOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(const Grid grid, MakeGrid(options));
  const std::string snapshot_name = snapshot_path.string(), updates_name = updates_path.string();
  L2Data out;
  BinanceSync sync(options, &out);
  QRAFT_RETURN_NOT_OK(ReadDepthCsvFile(snapshot_path, snapshot_name, grid, &sync, &out.stats));
  QRAFT_RETURN_NOT_OK(ReadDepthCsvFile(updates_path, updates_name, grid, &sync, &out.stats));
  sync.Finish();
  return out;
}

Result<L2Format> ParseL2Format(std::string_view name) {
  if (name == "binance") return L2Format::kBinance;
  if (name == "tardis") return L2Format::kTardis;
  if (name == "tardis-snapshot") return L2Format::kTardisSnapshot;
  if (name == "binance-csv") return L2Format::kBinanceCsv;
  return Status::InvalidArgument(fmt::format(
      "unknown order-book format '{}': expected binance, tardis, tardis-snapshot or binance-csv",
      name));
}

Result<L2Data> ReadL2(L2Format format, const std::vector<std::filesystem::path>& paths,
                      const L2ReadOptions& options) {
  const std::size_t want = format == L2Format::kBinanceCsv ? 2 : 1;
  if (paths.empty() || (format != L2Format::kBinance && paths.size() != want)) {
    return Status::InvalidArgument(
        fmt::format("order-book data: {} file(s) given, this format reads {}", paths.size(),
                    format == L2Format::kBinance ? "one or more" : std::to_string(want)));
  }
  switch (format) {
    case L2Format::kBinance:
      return ReadBinanceCapture(paths, options);
    case L2Format::kTardis:
      return ReadTardisIncrementalL2(paths[0], options);
    case L2Format::kTardisSnapshot:
      return ReadTardisBookSnapshot(paths[0], options);
    case L2Format::kBinanceCsv:
      return ReadBinanceDepthCsv(paths[0], paths[1], options);
  }
  return Status::Internal("ReadL2: unknown format");
}

}  // namespace qraft::data::io
