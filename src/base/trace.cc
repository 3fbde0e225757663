#include "base/trace.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace cocomem::trace {
namespace internal {
std::atomic<Sink*> g_sink{nullptr};
}

void SetSink(Sink* sink) { internal::g_sink.store(sink, std::memory_order_release); }

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint32_t ThreadId() {
  thread_local const uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  return tid;
}

void Instant(const char* category, const char* name, std::string args) {
  Sink* sink = internal::g_sink.load(std::memory_order_acquire);
  if (!sink) return;
  sink->Record(Event{category, name, NowNs(), 0, ThreadId(), std::move(args)});
}

Scope::~Scope() {
  if (!start_) return;
  Sink* sink = internal::g_sink.load(std::memory_order_acquire);
  if (!sink) return;
  const uint64_t end = NowNs();
  sink->Record(Event{category_, name_, start_, end > start_ ? end - start_ : 1, ThreadId(),
                     std::move(args_)});
}

void Scope::Arg(const char* key, const std::string& json_value) {
  if (!start_) return;
  if (!args_.empty()) args_ += ',';
  args_ += '"';
  args_ += key;
  args_ += "\":";
  args_ += json_value;
}

void Scope::Arg(const char* key, uint64_t value) {
  if (start_) Arg(key, std::to_string(value));
}

}  // namespace cocomem::trace
