// ChromeTraceSink: collects the library's trace points and writes Chrome trace-event JSON
// (the format chrome://tracing and ui.perfetto.dev open): one "X" (complete) or "i"
// (instant) event per trace point, per thread, plus thread names the runner gives.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/trace.h"

namespace cocomem::cli {

class ChromeTraceSink final : public trace::Sink {
 public:
  // Installs itself as the process-wide sink; uninstalls in the destructor.
  ChromeTraceSink();
  ~ChromeTraceSink() override;
  ChromeTraceSink(const ChromeTraceSink&) = delete;
  ChromeTraceSink& operator=(const ChromeTraceSink&) = delete;

  void Record(trace::Event event) override;
  // Names the calling thread in the trace ("vmm", "vcpu0 host", ...).
  void NameThread(const std::string& name);
  size_t event_count() const;
  // Stops recording and writes the JSON to `path`; false (errno set) if it cannot.
  bool Write(const std::string& path);

 private:
  mutable std::mutex mu_;
  std::vector<trace::Event> events_;
  std::map<uint32_t, std::string> thread_names_;
  uint64_t origin_ns_;
};

}  // namespace cocomem::cli
