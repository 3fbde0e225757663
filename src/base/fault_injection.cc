#include "base/fault_injection.h"

#include <cstring>
#include <mutex>

namespace cocomem {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<FaultPoint*> points;
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: points outlive static teardown
  return *r;
}

}  // namespace

FaultPoint::FaultPoint(const char* name) : name_(name) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.points.push_back(this);
}

void FaultPoint::FailNth(int64_t n) { countdown_.store(n > 0 ? n : 0, std::memory_order_relaxed); }

bool FaultPoint::Countdown() {
  // Several threads may race past the armed check; exactly one sees the 1 -> 0 step.
  if (countdown_.fetch_sub(1, std::memory_order_relaxed) == 1) {
    fired_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

FaultPoint* FaultPoint::Find(std::string_view name) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  for (FaultPoint* p : r.points) {
    if (name == p->name()) return p;
  }
  return nullptr;
}

std::vector<FaultPoint*> FaultPoint::All() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  return r.points;
}

void FaultPoint::DisarmAll() {
  for (FaultPoint* p : All()) p->Disarm();
}

}  // namespace cocomem
