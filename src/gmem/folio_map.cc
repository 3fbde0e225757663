#include "gmem/folio_map.h"

#include <cerrno>
#include <iterator>

#include "base/check.h"

namespace cocomem::gmem {

std::optional<FolioMap::Entry> FolioMap::Find(PgOff off) {
  auto it = folios_.upper_bound(off.value());
  if (it == folios_.begin()) return std::nullopt;
  --it;
  if (off.value() >= it->first + PagesIn(it->second.order)) return std::nullopt;
  return Entry{PgOff(it->first), &it->second};
}

std::optional<FolioMap::Entry> FolioMap::Find(PgOff off) const {
  return const_cast<FolioMap*>(this)->Find(off);
}

FolioMap::Entry FolioMap::Insert(PgOff start, PageOrder order) {
  CHECK(IsAlignedTo(start, order));
  DCHECK(!Find(start).has_value());
  auto [it, inserted] = folios_.emplace(start.value(), Folio{.order = order});
  CHECK(inserted);
  present_pages_ += PagesIn(order);
  return Entry{start, &it->second};
}

void FolioMap::Split(PgOff start) {
  auto it = folios_.find(start.value());
  CHECK(it != folios_.end() && it->second.order != PageOrder::k4K);
  const Folio huge = it->second;
  const uint64_t n = PagesIn(huge.order);
  // Child entries first, the parent replaced last (publish-last, like a page-table split).
  auto hint = std::next(it);
  for (uint64_t i = n; i-- > 1;) {
    hint = folios_.emplace_hint(hint, start.value() + i,
                                Folio{.order = PageOrder::k4K,
                                      .uptodate = huge.uptodate,
                                      .hwpoison = huge.hwpoison,
                                      .pins = 0});
  }
  it->second = Folio{.order = PageOrder::k4K, .uptodate = huge.uptodate,
                     .hwpoison = huge.hwpoison, .pins = huge.pins};
}

bool FolioMap::CanMerge(PgOff start, PageOrder order) const {
  const uint64_t n = PagesIn(order);
  auto it = folios_.find(start.value());
  for (uint64_t i = 0; i < n; ++i, ++it) {
    if (it == folios_.end() || it->first != start.value() + i) return false;
    const Folio& f = it->second;
    if (f.order != PageOrder::k4K || f.pins != 0 || f.hwpoison) return false;
  }
  return true;
}

void FolioMap::Merge(PgOff start, PageOrder order) {
  DCHECK(CanMerge(start, order));
  auto first = folios_.find(start.value());
  bool uptodate = true;
  auto it = first;
  for (uint64_t i = 0; i < PagesIn(order); ++i, ++it) uptodate &= it->second.uptodate;
  folios_.erase(std::next(first), it);
  first->second = Folio{.order = order, .uptodate = uptodate};
}

void FolioMap::EraseRange(PgOff start, PgOff end,
                          const std::function<void(PgOff, const Folio&)>& fn) {
  auto it = folios_.upper_bound(start.value());
  if (it != folios_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + PagesIn(prev->second.order) > start.value()) it = prev;
  }
  while (it != folios_.end() && it->first < end.value()) {
    const uint64_t n = PagesIn(it->second.order);
    CHECK_MSG(it->first >= start.value() && it->first + n <= end.value(),
              "erasing part of a huge folio");
    fn(PgOff(it->first), it->second);
    present_pages_ -= n;
    it = folios_.erase(it);
  }
}

void FolioMap::ForEachIn(PgOff start, PgOff end, const std::function<void(PgOff, Folio&)>& fn) {
  auto it = folios_.upper_bound(start.value());
  if (it != folios_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + PagesIn(prev->second.order) > start.value()) it = prev;
  }
  for (; it != folios_.end() && it->first < end.value(); ++it) fn(PgOff(it->first), it->second);
}

void FolioMap::ForEachIn(PgOff start, PgOff end,
                         const std::function<void(PgOff, const Folio&)>& fn) const {
  const_cast<FolioMap*>(this)->ForEachIn(start, end, [&](PgOff s, Folio& f) { fn(s, f); });
}

uint64_t FolioMap::metadata_bytes() const {
  // libstdc++ red-black node: 32-byte header + value, rounded to malloc's 16-byte chunks
  // plus its 8-byte size word.
  constexpr uint64_t kNode = 32 + sizeof(std::pair<const uint64_t, Folio>);
  constexpr uint64_t kChunk = (kNode + 8 + 15) / 16 * 16;
  return folios_.size() * kChunk;
}

}  // namespace cocomem::gmem
