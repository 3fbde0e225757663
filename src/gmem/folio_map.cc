#include "gmem/folio_map.h"

#include <iterator>

#include "base/check.h"

namespace cocomem::gmem {
namespace {

bool SameState(const Folio& a, const Folio& b) {
  return a.order == b.order && a.uptodate == b.uptodate && a.hwpoison == b.hwpoison &&
         a.pins == b.pins;
}

}  // namespace

FolioMap::Tree::iterator FolioMap::RunAt(uint64_t off) {
  auto it = runs_.upper_bound(off);
  if (it == runs_.begin()) return runs_.end();
  --it;
  return off < it->second.end(it->first) ? it : runs_.end();
}

FolioMap::Tree::const_iterator FolioMap::RunAt(uint64_t off) const {
  return const_cast<FolioMap*>(this)->RunAt(off);
}

std::optional<FolioMap::FolioRef> FolioMap::FolioAt(PgOff off) const {
  auto it = RunAt(off.value());
  if (it == runs_.end()) return std::nullopt;
  const uint64_t start = it->second.order == PageOrder::k4K ? off.value() : it->first;
  return FolioRef{PgOff(start), it->second.state};
}

void FolioMap::CutAt(uint64_t off) {
  auto it = RunAt(off);
  if (it == runs_.end() || it->first == off) return;
  CHECK_MSG(it->second.order == PageOrder::k4K, "cutting inside a huge folio");
  Node tail = it->second;
  tail.npages = static_cast<uint32_t>(it->second.end(it->first) - off);
  it->second.npages = static_cast<uint32_t>(off - it->first);
  runs_.emplace_hint(std::next(it), off, tail);
}

void FolioMap::Coalesce(Tree::iterator it) {
  if (it->second.order != PageOrder::k4K) return;
  auto next = std::next(it);
  if (next != runs_.end() && next->first == it->second.end(it->first) &&
      SameState(next->second.state, it->second.state)) {
    it->second.npages += next->second.npages;
    runs_.erase(next);
  }
  if (it != runs_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end(prev->first) == it->first &&
        SameState(prev->second.state, it->second.state)) {
      prev->second.npages += it->second.npages;
      runs_.erase(it);
    }
  }
}

void FolioMap::Insert(PgOff start, PgOff end, PageOrder order) {
  CHECK(start < end && IsAlignedTo(start, order));
  CHECK(order == PageOrder::k4K || end - start == PagesIn(order));
  DCHECK(RunAt(start.value()) == runs_.end() && RunAt(end.value() - 1) == runs_.end());
  CHECK(end - start <= UINT32_MAX);
  auto it = runs_.emplace(start.value(), Node{static_cast<uint32_t>(end - start), order,
                                              Folio{.order = order}})
                .first;
  present_pages_ += end - start;
  Coalesce(it);
}

void FolioMap::Update(PgOff off, const std::function<void(Folio&)>& fn) {
  auto it = RunAt(off.value());
  CHECK(it != runs_.end());
  if (it->second.order == PageOrder::k4K) {
    CutAt(off.value());
    CutAt(off.value() + 1);
    it = RunAt(off.value());
  }
  fn(it->second.state);
  Coalesce(it);
}

void FolioMap::Split(PgOff start) {
  auto it = runs_.find(start.value());
  CHECK(it != runs_.end() && it->second.order != PageOrder::k4K);
  it->second.order = PageOrder::k4K;
  it->second.state.order = PageOrder::k4K;
  Coalesce(it);
}

bool FolioMap::CanMerge(PgOff start, PageOrder order) const {
  const uint64_t end = start.value() + PagesIn(order);
  uint64_t at = start.value();
  for (auto it = RunAt(at); at < end; ++it) {
    if (it == runs_.end() || it->first > at) return false;
    const Node& n = it->second;
    if (n.order != PageOrder::k4K || n.state.pins != 0 || n.state.hwpoison) return false;
    at = n.end(it->first);
  }
  return true;
}

void FolioMap::Merge(PgOff start, PageOrder order) {
  DCHECK(CanMerge(start, order));
  const uint64_t end = start.value() + PagesIn(order);
  CutAt(start.value());
  CutAt(end);
  bool uptodate = true;
  auto it = runs_.find(start.value());
  auto last = it;
  for (; last != runs_.end() && last->first < end; ++last) uptodate &= last->second.state.uptodate;
  runs_.erase(it, last);
  runs_.emplace(start.value(), Node{static_cast<uint32_t>(PagesIn(order)), order,
                                    Folio{.order = order, .uptodate = uptodate}});
}

void FolioMap::EraseRange(PgOff start, PgOff end) {
  if (!(start < end)) return;
  if (auto it = RunAt(start.value()); it != runs_.end()) {
    CHECK_MSG(it->second.order == PageOrder::k4K || it->first >= start.value(),
              "erasing part of a huge folio");
    CutAt(start.value());
  }
  if (auto it = RunAt(end.value()); it != runs_.end() && it->first < end.value()) {
    CHECK_MSG(it->second.order == PageOrder::k4K, "erasing part of a huge folio");
    CutAt(end.value());
  }
  auto it = runs_.lower_bound(start.value());
  while (it != runs_.end() && it->first < end.value()) {
    CHECK_MSG(it->second.end(it->first) <= end.value(), "erasing part of a huge folio");
    present_pages_ -= it->second.npages;
    it = runs_.erase(it);
  }
}

void FolioMap::ForEachRun(PgOff start, PgOff end, const std::function<void(const Run&)>& fn) const {
  auto it = runs_.upper_bound(start.value());
  if (it != runs_.begin() && std::prev(it)->second.end(std::prev(it)->first) > start.value()) --it;
  for (; it != runs_.end() && it->first < end.value(); ++it) {
    const Node& n = it->second;
    fn(Run{PgOff(std::max(it->first, start.value())), PgOff(std::min(n.end(it->first), end.value())),
           n.order, n.state});
  }
}

uint64_t FolioMap::folio_count() const {
  uint64_t n = 0;
  for (const auto& [s, node] : runs_) n += node.npages >> OrderBits(node.order);
  return n;
}

uint64_t FolioMap::metadata_bytes() const {
  // libstdc++ red-black node: 32-byte header + value, in malloc's 16-byte chunks plus
  // its 8-byte size word.
  constexpr uint64_t kNode = 32 + sizeof(std::pair<const uint64_t, Node>);
  constexpr uint64_t kChunk = (kNode + 8 + 15) / 16 * 16;
  return runs_.size() * kChunk;
}

}  // namespace cocomem::gmem
