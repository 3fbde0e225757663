#include "sys/mapping_table.h"

#include <algorithm>
#include <iterator>

namespace cocomem::sys {

void MappingTable::Add(uintptr_t start, uintptr_t end, std::shared_ptr<File> file) {
  MutexLock l(&mu_);
  entries_[start] = Entry{end, std::move(file)};
}

std::vector<MappingTable::Piece> MappingTable::Overlapping(uintptr_t start, uintptr_t end) const {
  MutexLock l(&mu_);
  std::vector<Piece> out;
  auto it = entries_.upper_bound(start);
  if (it != entries_.begin() && std::prev(it)->second.end > start) --it;
  for (; it != entries_.end() && it->first < end; ++it) {
    out.push_back(Piece{std::max(it->first, start), std::min(it->second.end, end), it->second.file});
  }
  return out;
}

std::vector<MappingTable::Piece> MappingTable::Remove(uintptr_t start, uintptr_t end) {
  MutexLock l(&mu_);
  std::vector<Piece> out;
  auto it = entries_.upper_bound(start);
  if (it != entries_.begin() && std::prev(it)->second.end > start) --it;
  while (it != entries_.end() && it->first < end) {
    const uintptr_t s = it->first;
    Entry e = it->second;
    it = entries_.erase(it);
    out.push_back(Piece{std::max(s, start), std::min(e.end, end), e.file});
    if (s < start) entries_[s] = Entry{start, e.file};
    if (end < e.end) it = entries_.emplace(end, Entry{e.end, e.file}).first, ++it;
  }
  return out;
}

std::shared_ptr<File> MappingTable::Find(uintptr_t addr) const {
  MutexLock l(&mu_);
  auto it = entries_.upper_bound(addr);
  if (it == entries_.begin()) return nullptr;
  --it;
  return addr < it->second.end ? it->second.file : nullptr;
}

}  // namespace cocomem::sys
