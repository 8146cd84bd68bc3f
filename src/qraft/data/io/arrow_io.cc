#include "qraft/data/io/arrow_io.h"

#include <arrow/api.h>
#include <arrow/io/api.h>
#include <arrow/ipc/api.h>
#include <arrow/util/decimal.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "qraft/core/parallel.h"
#include "qraft/data/io/file_reader.h"

namespace qraft::data::io {
namespace {

// Arrow Status/Result -> Qraft Status, with the file named.
Status FromArrow(const arrow::Status& st, const std::filesystem::path& path,
                 std::string_view what) {
  if (st.ok()) return Status::OK();
  const std::string msg = fmt::format("{}: {}: {}", path.string(), what, st.message());
  if (st.IsIOError()) return Status::IOError(msg);
  return Status::DataError(msg);
}

#define QRAFT_ARROW_ASSIGN(lhs, expr, path, what)                        \
  auto QRAFT_CONCAT(_ar_, __LINE__) = (expr);                            \
  if (!QRAFT_CONCAT(_ar_, __LINE__).ok()) {                              \
    return FromArrow(QRAFT_CONCAT(_ar_, __LINE__).status(), path, what); \
  }                                                                      \
  lhs = std::move(QRAFT_CONCAT(_ar_, __LINE__)).ValueUnsafe()

std::shared_ptr<arrow::KeyValueMetadata> ToMetadata(const KeyValues& kv) {
  auto m = std::make_shared<arrow::KeyValueMetadata>();
  for (const auto& [k, v] : kv)
    m->Append(k, v);
  return m;
}

std::shared_ptr<arrow::Array> StringArray(const std::vector<std::string>& values) {
  arrow::StringBuilder b;
  (void)b.AppendValues(values);
  std::shared_ptr<arrow::Array> out;
  (void)b.Finish(&out);
  return out;
}

// A float64 array over memory we do not own (the Panel outlives the write).
std::shared_ptr<arrow::Array> WrapDoubles(const double* data, std::int64_t n) {
  auto buf = std::make_shared<arrow::Buffer>(reinterpret_cast<const std::uint8_t*>(data),
                                             n * static_cast<std::int64_t>(sizeof(double)));
  return arrow::MakeArray(arrow::ArrayData::Make(arrow::float64(), n, {nullptr, buf}, 0));
}

}  // namespace

Status WritePanelArrow(const Panel& panel, const std::filesystem::path& path,
                       const KeyValues& meta) {
  const auto S = static_cast<std::int64_t>(panel.num_symbols());
  const auto T = static_cast<std::int64_t>(panel.num_times());
  const std::int64_t N = S * T;

  auto indices_buf = arrow::AllocateBuffer(N * 4);
  auto times_buf = arrow::AllocateBuffer(N * 8);
  if (!indices_buf.ok() || !times_buf.ok())
    return Status::IOError("out of memory writing panel.arrow");
  std::shared_ptr<arrow::Buffer> idx = std::move(*indices_buf);
  std::shared_ptr<arrow::Buffer> tim = std::move(*times_buf);
  auto* ip = reinterpret_cast<std::int32_t*>(idx->mutable_data());
  auto* tp = reinterpret_cast<std::int64_t*>(tim->mutable_data());
  for (std::int64_t s = 0; s < S; ++s) {
    for (std::int64_t t = 0; t < T; ++t)
      ip[s * T + t] = static_cast<std::int32_t>(s);
    if (T > 0)
      std::memcpy(tp + s * T, panel.calendar().times().data(), static_cast<std::size_t>(T) * 8);
  }
  auto dict_type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto indices = arrow::MakeArray(arrow::ArrayData::Make(arrow::int32(), N, {nullptr, idx}, 0));
  auto symbols =
      arrow::DictionaryArray::FromArrays(dict_type, indices, StringArray(panel.symbols().names()));
  if (!symbols.ok()) return FromArrow(symbols.status(), path, "building the symbol column");
  auto time_type = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  auto times = arrow::MakeArray(arrow::ArrayData::Make(time_type, N, {nullptr, tim}, 0));

  arrow::FieldVector fields = {arrow::field("symbol", dict_type, false),
                               arrow::field("time", time_type, false)};
  arrow::ArrayVector columns = {*symbols, times};
  for (std::size_t f = 0; f < panel.num_fields(); ++f) {
    fields.push_back(arrow::field(panel.field_names()[f], arrow::float64(), false));
    columns.push_back(WrapDoubles(panel.field(f).data(), N));
  }
  KeyValues all = meta;
  all.emplace_back("qraft.num_symbols", std::to_string(S));
  all.emplace_back("qraft.num_times", std::to_string(T));
  auto schema = arrow::schema(fields, ToMetadata(all));
  auto batch = arrow::RecordBatch::Make(schema, N, columns);

  QRAFT_ARROW_ASSIGN(auto sink, arrow::io::FileOutputStream::Open(path.string()), path,
                     "cannot create");
  auto options = arrow::ipc::IpcWriteOptions::Defaults();
  options.alignment = 64;  // buffer lengths padded to 64 bytes; offsets in the file are 8-aligned
  QRAFT_ARROW_ASSIGN(auto writer, arrow::ipc::MakeFileWriter(sink, schema, options), path,
                     "cannot write");
  QRAFT_RETURN_NOT_OK(FromArrow(writer->WriteRecordBatch(*batch), path, "write failed"));
  QRAFT_RETURN_NOT_OK(FromArrow(writer->Close(), path, "write failed"));
  return FromArrow(sink->Close(), path, "close failed");
}

Result<Panel> ReadPanelArrow(const std::filesystem::path& path) {
  QRAFT_ARROW_ASSIGN(auto file,
                     arrow::io::MemoryMappedFile::Open(path.string(), arrow::io::FileMode::READ),
                     path, "cannot open");
  QRAFT_ARROW_ASSIGN(auto reader, arrow::ipc::RecordBatchFileReader::Open(file), path,
                     "not an Arrow IPC file");
  auto bad = [&](std::string_view what) {
    return Status::DataError(fmt::format("{}: not a Qraft panel file: {}", path.string(), what));
  };
  const auto& md = reader->schema()->metadata();
  if (!md) return bad("no schema metadata");
  auto s_text = md->Get("qraft.num_symbols");
  auto t_text = md->Get("qraft.num_times");
  if (!s_text.ok() || !t_text.ok()) return bad("missing qraft.num_symbols/num_times");
  const std::int64_t S = std::stoll(*s_text), T = std::stoll(*t_text);
  if (reader->num_record_batches() != 1) return bad("expected one record batch");
  QRAFT_ARROW_ASSIGN(std::shared_ptr<arrow::RecordBatch> batch, reader->ReadRecordBatch(0), path,
                     "cannot read");
  if (batch->num_rows() != S * T || batch->num_columns() < 2)
    return bad("row count does not match its shape");

  auto sym_col = std::dynamic_pointer_cast<arrow::DictionaryArray>(batch->column(0));
  auto time_col = std::dynamic_pointer_cast<arrow::TimestampArray>(batch->column(1));
  if (!sym_col || !time_col) return bad("first columns must be symbol and time");
  auto dict = std::dynamic_pointer_cast<arrow::StringArray>(sym_col->dictionary());
  if (!dict || dict->length() != S) return bad("symbol dictionary does not match its shape");
  std::vector<std::string> symbols;
  symbols.reserve(static_cast<std::size_t>(S));
  for (std::int64_t i = 0; i < S; ++i)
    symbols.emplace_back(dict->GetView(i));
  std::vector<Timestamp> times(time_col->raw_values(), time_col->raw_values() + (S > 0 ? T : 0));

  // The batch owns the mapped buffers; every field keeps it alive.
  std::shared_ptr<const void> owner = batch;
  PanelBuilder builder(Calendar(std::move(times)), std::move(symbols));
  for (int c = 2; c < batch->num_columns(); ++c) {
    auto col = std::dynamic_pointer_cast<arrow::DoubleArray>(batch->column(c));
    if (!col || col->null_count() != 0)
      return bad(fmt::format("column {} is not a dense float64 column", c));
    builder.AddExternalField(batch->schema()->field(c)->name(), col->raw_values(), owner);
  }
  return std::move(builder).Build();
}

namespace {

// Long-format writer shared by bars and computed values; rows of symbol s are
// span[s].first..span[s].second (first >= T: none).
Status WriteLongParquet(const Panel& panel, bool daily,
                        std::span<const std::pair<std::size_t, std::size_t>> span,
                        bool values_layout, const std::filesystem::path& path,
                        const KeyValues& meta) {
  const std::size_t S = panel.num_symbols(), T = panel.num_times(), F = panel.num_fields();
  auto rows_of = [&](std::size_t s) -> std::int64_t {
    return span[s].first < T ? static_cast<std::int64_t>(span[s].second - span[s].first + 1) : 0;
  };

  auto dict_type = arrow::dictionary(arrow::int32(), arrow::utf8());
  const std::shared_ptr<arrow::Array> dictionary = StringArray(panel.symbols().names());
  auto time_type = daily ? arrow::date32() : arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  arrow::FieldVector fields = {arrow::field("symbol", dict_type, false),
                               arrow::field(daily ? "date" : "time", time_type, false)};
  if (values_layout) {
    fields = {arrow::field("datetime", time_type, false), arrow::field("symbol", dict_type, false)};
  }
  for (std::size_t f = 0; f < F; ++f)
    fields.push_back(arrow::field(panel.field_names()[f], arrow::float64(), true));
  auto schema = arrow::schema(fields, ToMetadata(meta));

  QRAFT_ARROW_ASSIGN(auto sink, arrow::io::FileOutputStream::Open(path.string()), path,
                     "cannot create");
  // Snappy, Parquet's default codec: every reader has it, and on this data it writes about 1.4x
  // faster than zstd level 1 for a file 1.5x larger (bench/RESULTS.md has the ingest figures).
  // Dictionary-encoding doubles costs more time than it saves space (prices rarely repeat);
  // the symbol column keeps it.
  // Row groups are cut below, never by the writer.
  auto props = parquet::WriterProperties::Builder()
                   .compression(parquet::Compression::SNAPPY)
                   ->disable_dictionary()
                   ->enable_dictionary("symbol")
                   ->max_row_group_length(std::numeric_limits<std::int64_t>::max())
                   ->build();
  // Columns are encoded and compressed in parallel on Arrow's CPU pool (buffered row groups), then
  // written in schema order: the bytes do not depend on the thread count. A ThreadLimit of one
  // (--threads 1) keeps the encoding on this thread. Our callers never run on Arrow's pool, so
  // the writer's deadlock caveat does not apply.
  auto arrow_props = parquet::ArrowWriterProperties::Builder()
                         .store_schema()
                         ->set_use_threads(MaxParallelism() > 1)
                         ->build();
  QRAFT_ARROW_ASSIGN(auto writer,
                     parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(), sink,
                                                      props, arrow_props),
                     path, "cannot write");

  // One row group per run of whole symbols of about a million rows: memory stays bounded by the
  // row group, not the panel, and the layout depends only on the data.
  constexpr std::int64_t kRowGroup = 1 << 20;
  for (std::size_t s0 = 0; s0 < S;) {
    std::size_t s1 = s0;
    std::int64_t rows = 0;
    while (s1 < S && (rows == 0 || rows + rows_of(s1) <= kRowGroup))
      rows += rows_of(s1++);
    arrow::Int32Builder idx;
    (void)idx.Reserve(rows);
    std::shared_ptr<arrow::Array> time_array;
    if (daily) {
      arrow::Date32Builder tb;
      (void)tb.Reserve(rows);
      for (std::size_t s = s0; s < s1; ++s) {
        for (std::size_t t = span[s].first; t <= span[s].second && t < T; ++t) {
          idx.UnsafeAppend(static_cast<std::int32_t>(s));
          tb.UnsafeAppend(static_cast<std::int32_t>(DayNumber(panel.calendar()[t])));
        }
      }
      (void)tb.Finish(&time_array);
    } else {
      arrow::TimestampBuilder tb(time_type, arrow::default_memory_pool());
      (void)tb.Reserve(rows);
      for (std::size_t s = s0; s < s1; ++s) {
        for (std::size_t t = span[s].first; t <= span[s].second && t < T; ++t) {
          idx.UnsafeAppend(static_cast<std::int32_t>(s));
          tb.UnsafeAppend(panel.calendar()[t]);
        }
      }
      (void)tb.Finish(&time_array);
    }
    std::shared_ptr<arrow::Array> indices;
    (void)idx.Finish(&indices);
    auto symbols = arrow::DictionaryArray::FromArrays(dict_type, indices, dictionary);
    if (!symbols.ok()) return FromArrow(symbols.status(), path, "building the symbol column");
    arrow::ArrayVector columns = {*symbols, time_array};
    if (values_layout) columns = {time_array, *symbols};
    const std::size_t first_value = columns.size();
    columns.resize(first_value + F);
    ParallelFor(F, 1, [&](std::size_t f0, std::size_t f1) {
      std::vector<std::uint8_t> valid;
      for (std::size_t f = f0; f < f1; ++f) {
        arrow::DoubleBuilder b;
        (void)b.Reserve(rows);
        for (std::size_t s = s0; s < s1; ++s) {
          if (span[s].first >= T) continue;
          auto x = panel.series(f, s).subspan(span[s].first, span[s].second - span[s].first + 1);
          valid.resize(x.size());
          for (std::size_t i = 0; i < x.size(); ++i)
            valid[i] = !std::isnan(x[i]);
          (void)b.AppendValues(x.data(), static_cast<std::int64_t>(x.size()), valid.data());
        }
        (void)b.Finish(&columns[first_value + f]);
      }
    });
    QRAFT_RETURN_NOT_OK(FromArrow(writer->NewBufferedRowGroup(), path, "write failed"));
    QRAFT_RETURN_NOT_OK(
        FromArrow(writer->WriteRecordBatch(*arrow::RecordBatch::Make(schema, rows, columns)), path,
                  "write failed"));
    s0 = s1;
  }
  QRAFT_RETURN_NOT_OK(FromArrow(writer->Close(), path, "write failed"));
  return FromArrow(sink->Close(), path, "close failed");
}

}  // namespace

Status WriteBarsParquet(const Panel& panel, bool daily, const std::filesystem::path& path,
                        const KeyValues& meta) {
  // Rows: each symbol's span from its first to its last bar ({T, 0}: no rows).
  std::vector<std::pair<std::size_t, std::size_t>> span(panel.num_symbols(),
                                                        {panel.num_times(), 0});
  for (std::size_t s = 0; s < panel.num_symbols(); ++s) {
    if (auto bars = panel.BarSpan(s)) span[s] = *bars;
  }
  return WriteLongParquet(panel, daily, span, false, path, meta);
}

Status WriteValuesParquet(const Panel& values, bool daily,
                          std::span<const std::pair<std::size_t, std::size_t>> rows,
                          const std::filesystem::path& path, const KeyValues& meta) {
  std::vector<std::pair<std::size_t, std::size_t>> span(rows.begin(), rows.end());
  for (auto& r : span) {
    if (r.first > r.second) r = {values.num_times(), 0};
  }
  return WriteLongParquet(values, daily, span, true, path, meta);
}

Status WriteTableParquet(std::span<const TableColumn> columns, const std::filesystem::path& path,
                         const KeyValues& meta) {
  const auto length = [](const TableColumn& c) {
    return std::visit([](const auto& v) { return static_cast<std::int64_t>(v.size()); }, c.values);
  };
  const std::int64_t rows = columns.empty() ? 0 : length(columns.front());
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const TableColumn& c : columns) {
    if (length(c) != rows) {
      return Status::InvalidArgument(fmt::format("{}: column '{}' has {} rows, the first column {}",
                                                 path.string(), c.name, length(c), rows));
    }
    for (const auto& f : fields) {
      if (f->name() == c.name) {
        return Status::InvalidArgument(
            fmt::format("{}: duplicate column name '{}'", path.string(), c.name));
      }
    }
    std::shared_ptr<arrow::Array> array;
    arrow::Status st;
    if (const auto* d = std::get_if<std::vector<double>>(&c.values)) {
      std::vector<std::uint8_t> valid(d->size());
      for (std::size_t i = 0; i < d->size(); ++i)
        valid[i] = !std::isnan((*d)[i]);
      arrow::DoubleBuilder b;
      // No rows: nothing to append (Arrow would memcpy from a null pointer).
      if (rows > 0) st = b.AppendValues(d->data(), rows, valid.data());
      if (st.ok()) st = b.Finish(&array);
      fields.push_back(arrow::field(c.name, arrow::float64(), true));
    } else if (const auto* n = std::get_if<std::vector<std::int64_t>>(&c.values)) {
      arrow::Int64Builder b;
      if (rows > 0) st = b.AppendValues(n->data(), rows);
      if (st.ok()) st = b.Finish(&array);
      fields.push_back(arrow::field(c.name, arrow::int64(), false));
    } else {
      arrow::StringBuilder b;
      st = b.AppendValues(std::get<std::vector<std::string>>(c.values));
      if (st.ok()) st = b.Finish(&array);
      fields.push_back(arrow::field(c.name, arrow::utf8(), false));
    }
    QRAFT_RETURN_NOT_OK(FromArrow(st, path, fmt::format("building column '{}'", c.name)));
    arrays.push_back(std::move(array));
  }
  auto schema = arrow::schema(fields, ToMetadata(meta));
  auto table = arrow::Table::Make(schema, arrays, rows);
  QRAFT_ARROW_ASSIGN(auto sink, arrow::io::FileOutputStream::Open(path.string()), path,
                     "cannot create");
  auto props =
      parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
  auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  QRAFT_RETURN_NOT_OK(
      FromArrow(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink,
                                           std::max<std::int64_t>(rows, 1), props, arrow_props),
                path, "write failed"));
  return FromArrow(sink->Close(), path, "close failed");
}

namespace {

// Numeric Arrow arrays -> double, null -> NaN. Returns false for non-numeric types.
bool AppendNumeric(const arrow::Array& a, std::vector<double>& out) {
  const std::int64_t n = a.length();
  auto put = [&](auto getter) {
    for (std::int64_t i = 0; i < n; ++i) {
      out.push_back(a.IsNull(i) ? std::numeric_limits<double>::quiet_NaN()
                                : static_cast<double>(getter(i)));
    }
  };
  switch (a.type_id()) {
    case arrow::Type::DOUBLE:
      put([&](std::int64_t i) { return static_cast<const arrow::DoubleArray&>(a).Value(i); });
      return true;
    case arrow::Type::FLOAT:
      put([&](std::int64_t i) { return static_cast<const arrow::FloatArray&>(a).Value(i); });
      return true;
    case arrow::Type::INT64:
      put([&](std::int64_t i) { return static_cast<const arrow::Int64Array&>(a).Value(i); });
      return true;
    case arrow::Type::INT32:
      put([&](std::int64_t i) { return static_cast<const arrow::Int32Array&>(a).Value(i); });
      return true;
    case arrow::Type::INT16:
      put([&](std::int64_t i) { return static_cast<const arrow::Int16Array&>(a).Value(i); });
      return true;
    case arrow::Type::INT8:
      put([&](std::int64_t i) { return static_cast<const arrow::Int8Array&>(a).Value(i); });
      return true;
    case arrow::Type::UINT64:
      put([&](std::int64_t i) { return static_cast<const arrow::UInt64Array&>(a).Value(i); });
      return true;
    case arrow::Type::UINT32:
      put([&](std::int64_t i) { return static_cast<const arrow::UInt32Array&>(a).Value(i); });
      return true;
    case arrow::Type::UINT16:
      put([&](std::int64_t i) { return static_cast<const arrow::UInt16Array&>(a).Value(i); });
      return true;
    case arrow::Type::UINT8:
      put([&](std::int64_t i) { return static_cast<const arrow::UInt8Array&>(a).Value(i); });
      return true;
    case arrow::Type::BOOL:
      put([&](std::int64_t i) {
        return static_cast<const arrow::BooleanArray&>(a).Value(i) ? 1 : 0;
      });
      return true;
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Array&>(a);
      const int scale = static_cast<const arrow::Decimal128Type&>(*a.type()).scale();
      put([&](std::int64_t i) { return arrow::Decimal128(d.GetValue(i)).ToDouble(scale); });
      return true;
    }
    default:
      return false;
  }
}

std::optional<std::string_view> StringAt(const arrow::Array& a, std::int64_t i) {
  if (a.IsNull(i)) return std::nullopt;
  switch (a.type_id()) {
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(a).GetView(i);
    case arrow::Type::LARGE_STRING:
      return static_cast<const arrow::LargeStringArray&>(a).GetView(i);
    case arrow::Type::STRING_VIEW:
      return static_cast<const arrow::StringViewArray&>(a).GetView(i);
    case arrow::Type::DICTIONARY: {
      const auto& d = static_cast<const arrow::DictionaryArray&>(a);
      return StringAt(*d.dictionary(), d.GetValueIndex(i));
    }
    default:
      return std::nullopt;
  }
}

bool IsStringType(const arrow::DataType& t) {
  if (t.id() == arrow::Type::DICTIONARY)
    return IsStringType(*static_cast<const arrow::DictionaryType&>(t).value_type());
  return t.id() == arrow::Type::STRING || t.id() == arrow::Type::LARGE_STRING ||
         t.id() == arrow::Type::STRING_VIEW;
}

Timestamp UnitToNanos(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return kNanosPerSecond;
    case arrow::TimeUnit::MILLI:
      return kNanosPerMilli;
    case arrow::TimeUnit::MICRO:
      return kNanosPerMicro;
    default:
      return 1;
  }
}

}  // namespace

Result<SourceTable> ReadColumnarFile(const std::filesystem::path& path,
                                     const ColumnMapping& mapping, const TimeLabeler& labeler) {
  const std::string ext = DataExtension(path);
  std::shared_ptr<arrow::Table> table;
  QRAFT_ARROW_ASSIGN(auto file, arrow::io::ReadableFile::Open(path.string()), path, "cannot open");
  if (ext == ".parquet" || ext == ".pq") {
    QRAFT_ARROW_ASSIGN(auto reader, parquet::arrow::OpenFile(file, arrow::default_memory_pool()),
                       path, "not a Parquet file");
    QRAFT_ARROW_ASSIGN(table, reader->ReadTable(), path, "cannot read");
  } else {
    QRAFT_ARROW_ASSIGN(auto reader, arrow::ipc::RecordBatchFileReader::Open(file), path,
                       "not an Arrow IPC / Feather v2 file");
    QRAFT_ARROW_ASSIGN(table, reader->ToTable(), path, "cannot read");
  }
  SourceTable out;
  out.source = path.string();
  out.row_numbers = true;
  std::vector<std::string> header;
  for (const auto& f : table->schema()->fields())
    header.push_back(f->name());
  QRAFT_ASSIGN_OR_RETURN(ColumnPlan plan, PlanColumns(header, mapping, out.source));
  const std::int64_t n = table->num_rows();
  if (n == 0) return Status::DataError(fmt::format("{}: no rows", out.source));

  // Time.
  const int tc = plan.time_col >= 0 ? plan.time_col : plan.date_col;
  const auto& tcol = *table->column(tc);
  const auto& ttype = *tcol.type();
  const std::string& tname = header[static_cast<std::size_t>(tc)];
  out.time.reserve(static_cast<std::size_t>(n));
  std::optional<TimeFormat> format;
  if (!mapping.time_format.empty()) {
    QRAFT_ASSIGN_OR_RETURN(format, TimeFormat::Compile(mapping.time_format));
  }
  QRAFT_ASSIGN_OR_RETURN(const EpochUnit unit, ParseEpochUnit(mapping.epoch_unit));
  std::int64_t row = 0;
  for (const auto& chunk : tcol.chunks()) {
    for (std::int64_t i = 0; i < chunk->length(); ++i, ++row) {
      auto where = [&] {
        return fmt::format("{} row {}: column '{}'", out.source, row + 1, tname);
      };
      if (chunk->IsNull(i)) return Status::DataError(fmt::format("{}: time is missing", where()));
      Timestamp label;
      switch (ttype.id()) {
        case arrow::Type::TIMESTAMP: {
          const auto& tt = static_cast<const arrow::TimestampType&>(ttype);
          const Timestamp v =
              static_cast<const arrow::TimestampArray&>(*chunk).Value(i) * UnitToNanos(tt.unit());
          if (tt.timezone().empty()) {
            QRAFT_ASSIGN_OR_RETURN(label, labeler.FromWallClock(v));
          } else {
            label = labeler.FromInstant(v);
          }
          break;
        }
        case arrow::Type::DATE32: {
          const Timestamp v =
              static_cast<Timestamp>(static_cast<const arrow::Date32Array&>(*chunk).Value(i)) *
              kNanosPerDay;
          QRAFT_ASSIGN_OR_RETURN(label, labeler.FromWallClock(v));
          break;
        }
        case arrow::Type::DATE64: {
          const Timestamp v =
              static_cast<const arrow::Date64Array&>(*chunk).Value(i) * kNanosPerMilli;
          QRAFT_ASSIGN_OR_RETURN(label, labeler.FromWallClock(v));
          break;
        }
        case arrow::Type::INT64:
        case arrow::Type::INT32: {
          const std::int64_t v = ttype.id() == arrow::Type::INT64
                                     ? static_cast<const arrow::Int64Array&>(*chunk).Value(i)
                                     : static_cast<const arrow::Int32Array&>(*chunk).Value(i);
          const std::optional<Timestamp> instant = EpochToTimestamp(v, unit);
          if (!instant) {
            return Status::DataError(
                fmt::format("{}: epoch time {} is outside the years 1677 to 2262", where(), v));
          }
          label = labeler.FromInstant(*instant);
          break;
        }
        default: {
          auto text = StringAt(*chunk, i);
          if (!text) {
            return Status::DataError(
                fmt::format("{}: expected a timestamp, date, epoch or text column, got type {}",
                            where(), ttype.ToString()));
          }
          auto t = format ? format->Parse(*text) : ParseIsoDateTime(*text);
          if (!t)
            return Status::DataError(
                fmt::format("{}: expected a date or date-time, got '{}'", where(), *text));
          QRAFT_ASSIGN_OR_RETURN(label, labeler.FromText(*t));
        }
      }
      out.time.push_back(label);
      out.line.push_back(static_cast<std::uint32_t>(row + 1));
    }
  }

  // Symbol.
  SymbolInterner interner(out);
  out.symbol.reserve(static_cast<std::size_t>(n));
  if (plan.symbol_col >= 0) {
    const auto& scol = *table->column(plan.symbol_col);
    if (!IsStringType(*scol.type())) {
      return Status::DataError(
          fmt::format("{}: symbol column '{}' must be text, got type {}", out.source,
                      header[static_cast<std::size_t>(plan.symbol_col)], scol.type()->ToString()));
    }
    row = 0;
    for (const auto& chunk : scol.chunks()) {
      for (std::int64_t i = 0; i < chunk->length(); ++i, ++row) {
        auto s = StringAt(*chunk, i);
        if (!s || s->empty()) {
          return Status::DataError(
              fmt::format("{} row {}: symbol is missing", out.source, row + 1));
        }
        out.symbol.push_back(interner.Intern(*s));
      }
    }
  } else {
    QRAFT_ASSIGN_OR_RETURN(std::string sym, SymbolFromFileName(path, mapping));
    out.symbol.assign(static_cast<std::size_t>(n), interner.Intern(sym));
  }

  // Fields.
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (plan.roles[c] != ColumnRole::kField) continue;
    const auto& col = *table->column(static_cast<int>(c));
    std::vector<double> values;
    values.reserve(static_cast<std::size_t>(n));
    bool numeric = true;
    for (const auto& chunk : col.chunks())
      numeric = numeric && AppendNumeric(*chunk, values);
    if (!numeric) {
      if (plan.optional[c]) {
        out.notes.push_back(
            fmt::format("ignored non-numeric column '{}' ({})", header[c], col.type()->ToString()));
        continue;
      }
      return Status::DataError(
          fmt::format("{}: column '{}' (field '{}') must be numeric, got type {}", out.source,
                      header[c], plan.field_names[c], col.type()->ToString()));
    }
    for (std::size_t r = 0; r < values.size(); ++r) {
      if (std::isinf(values[r])) {
        return Status::DataError(
            fmt::format("{} row {}: column '{}': expected a finite number, got {}", out.source,
                        r + 1, header[c], values[r]));
      }
    }
    out.field_names.push_back(plan.field_names[c]);
    out.fields.push_back(std::move(values));
  }
  return out;
}

}  // namespace qraft::data::io
