#include "cli/chrome_trace.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace cocomem::cli {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

ChromeTraceSink::ChromeTraceSink() : origin_ns_(trace::NowNs()) {
  trace::SetSink(this);
}

ChromeTraceSink::~ChromeTraceSink() {
  trace::SetSink(nullptr);
}

void ChromeTraceSink::Record(trace::Event event) {
  std::lock_guard<std::mutex> l(mu_);
  events_.push_back(std::move(event));
}

void ChromeTraceSink::NameThread(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  thread_names_[trace::ThreadId()] = name;
}

size_t ChromeTraceSink::event_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return events_.size();
}

bool ChromeTraceSink::Write(const std::string& path) {
  trace::SetSink(nullptr);
  std::lock_guard<std::mutex> l(mu_);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::sort(events_.begin(), events_.end(),
            [](const trace::Event& a, const trace::Event& b) { return a.start_ns < b.start_ns; });
  const int pid = static_cast<int>(getpid());
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  out += fmt::format(
      "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"tid\":0,"
      "\"args\":{{\"name\":\"cocomem run\"}}}}",
      pid);
  for (const auto& [tid, name] : thread_names_) {
    out += fmt::format(
        ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},"
        "\"args\":{{\"name\":{}}}}}",
        pid, tid, JsonString(name));
  }
  for (const trace::Event& e : events_) {
    const double ts = static_cast<double>(e.start_ns - std::min(e.start_ns, origin_ns_)) / 1000.0;
    if (e.duration_ns == 0) {
      out += fmt::format(
          ",\n{{\"name\":{},\"cat\":{},\"ph\":\"i\",\"s\":\"t\",\"ts\":{:.3f},"
          "\"pid\":{},\"tid\":{},\"args\":{{{}}}}}",
          JsonString(e.name), JsonString(e.category), ts, pid, e.tid, e.args);
    } else {
      out += fmt::format(
          ",\n{{\"name\":{},\"cat\":{},\"ph\":\"X\",\"ts\":{:.3f},\"dur\":{:.3f},"
          "\"pid\":{},\"tid\":{},\"args\":{{{}}}}}",
          JsonString(e.name), JsonString(e.category), ts,
          static_cast<double>(e.duration_ns) / 1000.0, pid, e.tid, e.args);
    }
  }
  out += "\n]}\n";
  const bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace cocomem::cli
