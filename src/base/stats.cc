#include "base/stats.h"

namespace cocomem {

Counter::Counter(StatsGroup& group, std::string_view name, std::string_view description)
    : name_(name), description_(description) {
  group.counters_.push_back(this);
}

std::vector<StatsGroup::Entry> StatsGroup::Snapshot() const {
  std::vector<Entry> out;
  out.reserve(counters_.size());
  for (const Counter* c : counters_) {
    out.push_back(Entry{name_ + "." + c->name(), c->description(), c->value()});
  }
  return out;
}

uint64_t StatsGroup::Get(std::string_view counter) const {
  for (const Counter* c : counters_) {
    if (c->name() == counter) return c->value();
  }
  return 0;
}

}  // namespace cocomem
