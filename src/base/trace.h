// Trace points: timed events (ioctls, exits, faults, conversions, SEAMCALLs) for whoever
// installs a sink, such as `cocomem run --trace`, which writes Chrome trace-event JSON.
//
// With no sink installed a trace point costs one relaxed atomic load. Events carry the
// recording thread's id; `args` is a JSON object body ("\"gpa\":4096") or empty.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace cocomem::trace {

struct Event {
  const char* category;  // "ioctl", "exit", "fault", "gmem", "seamcall", "tdcall", ...
  const char* name;      // static string
  uint64_t start_ns;     // CLOCK_MONOTONIC
  uint64_t duration_ns;  // 0 for instant events
  uint32_t tid;
  std::string args;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Called on the recording thread; must be thread-safe.
  virtual void Record(Event event) = 0;
};

namespace internal {
extern std::atomic<Sink*> g_sink;
}

// Installs (or with nullptr removes) the process-wide sink. The caller keeps it alive
// until it is removed and no trace point can still be running.
void SetSink(Sink* sink);
inline bool Enabled() { return internal::g_sink.load(std::memory_order_relaxed) != nullptr; }
uint64_t NowNs();
uint32_t ThreadId();

// A point event.
void Instant(const char* category, const char* name, std::string args = {});

// A complete event covering the scope's lifetime. Args may be added while it runs.
class Scope {
 public:
  Scope(const char* category, const char* name)
      : category_(category), name_(name), start_(Enabled() ? NowNs() : 0) {}
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  bool active() const { return start_ != 0; }
  // Appends "key":value (value already JSON).
  void Arg(const char* key, const std::string& json_value);
  void Arg(const char* key, uint64_t value);

 private:
  const char* category_;
  const char* name_;
  uint64_t start_;
  std::string args_;
};

}  // namespace cocomem::trace
