#include "gmem/inode.h"

#include <cocomem/kvm.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "gmem/poison_signal.h"

namespace cocomem::gmem {

Result<std::shared_ptr<Inode>> Inode::Create(host::Arena& arena, const Config& config) {
  CHECK(config.size > 0 && config.size % BytesIn(config.order) == 0);
  const uint64_t npages = config.size >> kPageShift;
  ASSIGN_OR_RETURN(host::PfnRange pfns, arena.Reserve(npages, config.order));
  if (config.no_direct_map) {
    // The reservation belongs to this file alone, so removing the direct map of all of
    // it now is the same as removing it per folio as folios arrive, and cheaper: every
    // PFN the file can ever use is unreachable through the direct map until release.
    if (Status s = arena.RemoveDirectMap(pfns); !s.ok()) {
      arena.Release(pfns);
      return Error(s.error());
    }
  }
  return std::shared_ptr<Inode>(new Inode(arena, config, pfns));
}

Inode::Inode(host::Arena& arena, const Config& config, host::PfnRange pfns)
    : arena_(arena), config_(config), pfns_(pfns) {
  WriterLock l(&invalidate_lock_);
  attrs_.Assign(PgOff(0), PgOff(npages()), config.initial);
}

Inode::~Inode() {
  {
    // The facade keeps the file (and so the inode) alive while it is mapped; a mapping
    // still here was made through Inode directly. It must not keep reaching PFNs that the
    // arena may hand to another file: make it SIGBUS.
    MutexLock l(&mappings_mu_);
    for (const UserMapping& m : mappings_) {
      UnregisterPoisonedRange(m.base, m.npages << kPageShift);
      CHECK(MapSigbus(m, m.first, m.end()).ok());
    }
  }
  arena_.Release(pfns_);  // punches every page and restores the direct map
}

// ---- folios -----------------------------------------------------------------------------

Status Inode::AllocateLocked(PgOff start, PgOff end) {
  const PageOrder order = config_.order;
  start = AlignDown(start, order);
  // The free gaps of [start, end), allocated a huge page (or a run of 4K folios) at a time.
  std::vector<std::pair<PgOff, PgOff>> gaps;
  PgOff at = start;
  folios_.ForEachRun(start, end, [&](const FolioMap::Run& r) {
    if (at < r.start) gaps.emplace_back(at, r.start);
    at = r.end;
  });
  if (at < end) gaps.emplace_back(at, end);
  for (auto [gs, ge] : gaps) {
    if (order == PageOrder::k4K) {
      if (kFolioAllocFault.ShouldFail()) return Error(ENOMEM);
      folios_.Insert(gs, ge, order);
      folios_allocated_.Add(ge - gs);
      continue;
    }
    for (PgOff h = gs; h < ge; h += PagesIn(order)) {
      if (kFolioAllocFault.ShouldFail()) return Error(ENOMEM);
      folios_allocated_.Add();
      if (attrs_.AllEqual(h, h + PagesIn(order), MemAttr::kPrivate)) {
        folios_.Insert(h, h + PagesIn(order), order);
      } else {
        // A huge page allocated over a range that is not entirely private is split right
        // away (__maybe_split_fresh_folio): shared pages are always 4K folios.
        folios_.Insert(h, h + PagesIn(order), PageOrder::k4K);
        splits_.Add();
      }
    }
  }
  return Ok();
}

Result<FolioMap::FolioRef> Inode::GetOrAllocFolioLocked(PgOff off) {
  if (auto f = folios_.FolioAt(off)) return *f;
  const PgOff start = AlignDown(off, config_.order);
  RETURN_IF_ERROR(AllocateLocked(start, start + PagesIn(config_.order)));
  return *folios_.FolioAt(off);
}

Status Inode::Allocate(PgOff start, PgOff end) {
  ReaderLock l(&invalidate_lock_);
  {
    MutexLock f(&folios_mu_);
    RETURN_IF_ERROR(AllocateLocked(start, end));
  }
  // Like the kernel's allocation, this really takes the memory (the arena's pages are
  // allocated now, and read zero when first touched).
  if (fallocate(arena_.memfd(), 0, static_cast<off_t>(arena_offset() + ByteOf(start)),
                static_cast<off_t>(ByteOf(end) - ByteOf(start))) != 0) {
    return Error(errno == ENOSPC ? ENOMEM : errno);
  }
  return Ok();
}

void Inode::TryMergeLocked(PgOff start, PgOff end) {
  const PageOrder order = config_.order;
  if (order == PageOrder::k4K) return;
  for (PgOff b = AlignDown(start, order); b < end; b += PagesIn(order)) {
    const PgOff e = b + PagesIn(order);
    if (!attrs_.AllEqual(b, e, MemAttr::kPrivate) || !folios_.CanMerge(b, order)) continue;
    if (kFolioMergeFault.ShouldFail()) continue;  // stays split; still a valid state
    folios_.Merge(b, order);
    merges_.Add();
  }
}

// ---- invalidation -----------------------------------------------------------------------

ZapFilter Inode::FilterOverLocked(PgOff start, PgOff end) const {
  ZapFilter f = ZapFilter::kNone;
  attrs_.ForEachIn(start, end, [&](PgOff, PgOff, MemAttr a) { f = f | FilterFor(a); });
  return f;
}

Status Inode::BeginInvalidateLocked(PgOff start, PgOff end, bool split) {
  for (InvalidationListener* l : listeners_) l->InvalidateBegin(start, end);
  if (split) {
    for (InvalidationListener* l : listeners_) {
      if (Status s = l->SplitCrossBoundary(start, end); !s.ok()) {
        for (InvalidationListener* x : listeners_) x->InvalidateEnd(start, end);
        return s;
      }
    }
  }
  invalidations_.Add();
  return Ok();
}

// ---- punch ------------------------------------------------------------------------------

Status Inode::Punch(PgOff start, PgOff end) {
  WriterLock l(&invalidate_lock_);
  end = std::min(end, PgOff(npages()));
  if (!(start < end)) return Ok();  // at or past EOF: nothing to do
  RETURN_IF_ERROR(BeginInvalidateLocked(start, end, /*split=*/true));
  for (InvalidationListener* x : listeners_) x->Zap(start, end, ZapFilter::kBoth);
  {
    MutexLock m(&mappings_mu_);
    {
      MutexLock f(&folios_mu_);
      folios_.EraseRange(start, end);
    }
    CHECK(arena_.Punch(host::PfnRange{PfnOf(start), end - start}).ok());
    // Poison is gone with the folios: shared pages map the (now empty) arena pages again.
    RefreshMappingsLocked(start, end);
  }
  for (InvalidationListener* x : listeners_) x->InvalidateEnd(start, end);
  punches_.Add();
  punched_pages_.Add(end - start);
  return Ok();
}

// ---- conversion -------------------------------------------------------------------------

Status Inode::SetAttributes(PgOff start, PgOff end, MemAttr attr, PgOff* error_index) {
  WriterLock l(&invalidate_lock_);
  if (attrs_.AllEqual(start, end, attr)) return Ok();
  *error_index = start;
  if (kAttrPreallocFault.ShouldFail()) return Error(ENOMEM);

  const bool to_private = attr == MemAttr::kPrivate;
  bool needs_split = false;
  {
    MutexLock f(&folios_mu_);
    if (to_private) {
      // Only guest_memfd itself may hold a folio that turns private (safe refcount).
      std::optional<PgOff> pinned;
      folios_.ForEachRun(start, end, [&](const FolioMap::Run& r) {
        if (!pinned && r.state.pins != 0) pinned = r.start;
      });
      if (pinned) {
        *error_index = *pinned;
        conversions_eagain_.Add();
        return Error(EAGAIN);
      }
    } else {
      folios_.ForEachRun(start, end,
                         [&](const FolioMap::Run& r) { needs_split |= r.order != PageOrder::k4K; });
      if (needs_split && kFolioSplitFault.ShouldFail()) return Error(ENOMEM);
    }
  }
  const ZapFilter filter = FilterOverLocked(start, end);
  RETURN_IF_ERROR(BeginInvalidateLocked(start, end, /*split=*/!to_private));

  // ---- commit: nothing below can fail ----
  for (InvalidationListener* x : listeners_) x->Zap(start, end, filter);
  MutexLock m(&mappings_mu_);
  {
    MutexLock f(&folios_mu_);
    if (needs_split) {
      std::vector<PgOff> huge;
      folios_.ForEachRun(start, end, [&](const FolioMap::Run& r) {
        if (r.order != PageOrder::k4K) huge.push_back(AlignDown(r.start, r.order));
      });
      for (PgOff s : huge) {
        folios_.Split(s);
        splits_.Add();
      }
    }
    attrs_.Assign(start, end, attr);
    if (to_private) TryMergeLocked(start, end);
  }
  // Host mappings: private pages must be unreachable before anyone can see the new state
  // (we still hold the invalidate lock), shared pages become reachable.
  RefreshMappingsLocked(start, end);
  for (InvalidationListener* x : listeners_) x->InvalidateEnd(start, end);
  conversions_.Add();
  return Ok();
}

MemAttr Inode::AttrAt(PgOff off) const {
  ReaderLock l(&invalidate_lock_);
  return attrs_.Lookup(off).value_or(MemAttr::kShared);
}

bool Inode::RangeHasAttr(PgOff start, PgOff end, MemAttr attr) const {
  ReaderLock l(&invalidate_lock_);
  return attrs_.AllEqual(start, end, attr);
}

std::optional<PageOrder> Inode::FolioOrderAt(PgOff off) const {
  MutexLock f(&folios_mu_);
  auto ref = folios_.FolioAt(off);
  if (!ref) return std::nullopt;
  return ref->folio.order;
}

std::vector<std::pair<std::pair<PgOff, PgOff>, MemAttr>> Inode::AttributeRuns() const {
  ReaderLock l(&invalidate_lock_);
  std::vector<std::pair<std::pair<PgOff, PgOff>, MemAttr>> out;
  for (auto run : attrs_) out.push_back({{run.start, run.end}, run.value});
  return out;
}

// ---- KVM side ---------------------------------------------------------------------------

Result<Inode::PfnInfo> Inode::GetPfn(PgOff off) {
  if (off.value() >= npages()) return Error(EINVAL);
  ReaderLock l(&invalidate_lock_);
  MutexLock f(&folios_mu_);
  ASSIGN_OR_RETURN(FolioMap::FolioRef ref, GetOrAllocFolioLocked(off));
  if (ref.folio.hwpoison) return Error(EHWPOISON);
  if (!ref.folio.uptodate) folios_.Update(off, [](Folio& x) { x.uptodate = true; });
  return PfnInfo{PfnOf(off), ref.folio.order};
}

Status Inode::WithKernelMapping(PgOff off, uint64_t npages,
                               const std::function<void(std::byte*)>& fn) const {
  // Written so that off + npages cannot wrap around.
  if (npages == 0 || off.value() >= this->npages() || npages > this->npages() - off.value()) {
    return Error(EINVAL);
  }
  const host::PfnRange range{PfnOf(off), npages};
  if (!config_.no_direct_map) {
    fn(arena_.DirectMap(range.start));
    return Ok();
  }
  ASSIGN_OR_RETURN(host::LocalMapping local, arena_.MapLocal(range));
  fn(local.data());
  return Ok();
}

// ---- host mappings ----------------------------------------------------------------------

void Inode::RefreshMappingLocked(const UserMapping& m, PgOff start, PgOff end) {
  start = std::max(start, m.first);
  end = std::min(end, m.end());
  if (!(start < end)) return;
  UnregisterPoisonedRange(m.AddressOf(start), (end - start) << kPageShift);
  // Pages past EOF always SIGBUS.
  const PgOff eof(npages());
  if (eof < end) {
    CHECK(MapSigbus(m, std::max(start, eof), end).ok());
    end = std::max(start, eof);
  }
  attrs_.ForEachIn(start, end, [&](PgOff s, PgOff e, MemAttr a) {
    if (a == MemAttr::kPrivate) {
      CHECK(MapSigbus(m, s, e).ok());
      return;
    }
    // Shared run: map it, except poisoned folios.
    PgOff at = s;
    MutexLock f(&folios_mu_);
    folios_.ForEachRun(s, e, [&](const FolioMap::Run& r) {
      if (!r.state.hwpoison) return;
      const PgOff ps = r.start;
      const PgOff pe = r.end;
      if (at < ps) CHECK(MapShared(m, at, ps, arena_.memfd(), arena_offset()).ok());
      CHECK(MapSigbus(m, ps, pe).ok());
      for (PgOff p = ps; p < pe; ++p) RegisterPoisonedPage(m.AddressOf(p));
      at = pe;
    });
    if (at < e) CHECK(MapShared(m, at, e, arena_.memfd(), arena_offset()).ok());
  });
}

void Inode::RefreshMappingsLocked(PgOff start, PgOff end) {
  for (const UserMapping& m : mappings_) RefreshMappingLocked(m, start, end);
}

Result<void*> Inode::Mmap(void* addr, size_t len, int prot, int flags, uint64_t offset) {
  if (len == 0 || !IsPageAligned(offset)) return Error(EINVAL);
  if (!(config_.flags & GUEST_MEMFD_FLAG_MMAP)) return Error(ENODEV);
  const int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) return Error(EINVAL);
  const uint64_t npages = (len + kPageSize - 1) >> kPageShift;
  const int keep = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE);
  ReaderLock l(&invalidate_lock_);
  MutexLock m(&mappings_mu_);
  // Start with every page SIGBUSing, then map what may be reached.
  void* p = mmap(addr, npages << kPageShift, prot, MAP_SHARED | keep, SigbusFd(),
                 static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Error(errno);
  UserMapping um{static_cast<std::byte*>(p), npages, PgOffOfByte(offset), prot};
  RefreshMappingLocked(um, um.first, um.end());
  mappings_.push_back(um);
  return p;
}

void Inode::Munmap(std::byte* addr, size_t len) {
  std::byte* const end = addr + ((len + kPageSize - 1) & ~(kPageSize - 1));
  ReaderLock l(&invalidate_lock_);
  MutexLock m(&mappings_mu_);
  std::vector<UserMapping> kept;
  for (const UserMapping& um : mappings_) {
    std::byte* const um_end = um.base + (um.npages << kPageShift);
    if (end <= um.base || um_end <= addr) {
      kept.push_back(um);
      continue;
    }
    std::byte* const cut_start = std::max(addr, um.base);
    std::byte* const cut_end = std::min(end, um_end);
    UnregisterPoisonedRange(cut_start, static_cast<size_t>(cut_end - cut_start));
    ::munmap(cut_start, static_cast<size_t>(cut_end - cut_start));
    if (um.base < cut_start) {
      kept.push_back(UserMapping{um.base, static_cast<uint64_t>(cut_start - um.base) >> kPageShift,
                                 um.first, um.prot});
    }
    if (cut_end < um_end) {
      const uint64_t skip = static_cast<uint64_t>(cut_end - um.base) >> kPageShift;
      kept.push_back(UserMapping{cut_end, um.npages - skip, um.first + skip, um.prot});
    }
  }
  mappings_ = std::move(kept);
}

std::optional<PgOff> Inode::PageAtAddress(const void* addr) const {
  const auto* a = static_cast<const std::byte*>(addr);
  MutexLock m(&mappings_mu_);
  for (const UserMapping& um : mappings_) {
    if (a >= um.base && a < um.base + (um.npages << kPageShift)) {
      return um.first + (static_cast<uint64_t>(a - um.base) >> kPageShift);
    }
  }
  return std::nullopt;
}

Status Inode::Pin(PgOff off) {
  if (config_.no_direct_map) return Error(EFAULT);  // AS_NO_DIRECT_MAP: GUP refused
  if (off.value() >= npages()) return Error(EFAULT);
  ReaderLock l(&invalidate_lock_);
  if (attrs_.Lookup(off) != MemAttr::kShared) return Error(EFAULT);  // would SIGBUS
  MutexLock f(&folios_mu_);
  ASSIGN_OR_RETURN(FolioMap::FolioRef ref, GetOrAllocFolioLocked(off));
  if (ref.folio.hwpoison) return Error(EHWPOISON);
  folios_.Update(off, [](Folio& x) {
    x.uptodate = true;
    x.pins++;
  });
  return Ok();
}

void Inode::Unpin(PgOff off) {
  ReaderLock l(&invalidate_lock_);
  MutexLock f(&folios_mu_);
  // The folio may have been punched meanwhile: the pin went with it.
  if (auto ref = folios_.FolioAt(off); ref && ref->folio.pins > 0) {
    folios_.Update(off, [](Folio& x) { x.pins--; });
  }
}

// ---- memory failure ---------------------------------------------------------------------

Status Inode::InjectMemoryFailure(PgOff off) {
  if (off.value() >= npages()) return Error(EINVAL);
  ReaderLock l(&invalidate_lock_);
  PgOff start, end;
  {
    MutexLock f(&folios_mu_);
    ASSIGN_OR_RETURN(FolioMap::FolioRef ref, GetOrAllocFolioLocked(off));
    folios_.Update(off, [](Folio& x) { x.hwpoison = true; });
    start = ref.start;
    end = ref.end();
  }
  memory_failures_.Add();
  // kvm_gmem_error_folio: zap guest mappings of both kinds; the folio stays in the file.
  for (InvalidationListener* x : listeners_) x->InvalidateBegin(start, end);
  for (InvalidationListener* x : listeners_) x->Zap(start, end, ZapFilter::kBoth);
  for (InvalidationListener* x : listeners_) x->InvalidateEnd(start, end);
  InstallMceSigbusHandler();
  MutexLock m(&mappings_mu_);
  RefreshMappingsLocked(start, end);
  return Ok();
}

// ---- listeners --------------------------------------------------------------------------

void Inode::AddListener(InvalidationListener* l) {
  WriterLock w(&invalidate_lock_);
  listeners_.push_back(l);
}

void Inode::RemoveListener(InvalidationListener* l) {
  WriterLock w(&invalidate_lock_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

Status Inode::WithInvalidateLockHeld(const std::function<Status()>& fn) {
  WriterLock w(&invalidate_lock_);
  return fn();
}

void Inode::ReleaseListeners() {
  WriterLock w(&invalidate_lock_);
  if (listeners_.empty()) return;
  const PgOff start(0), end(npages());
  for (InvalidationListener* l : listeners_) l->InvalidateBegin(start, end);
  for (InvalidationListener* l : listeners_) l->Zap(start, end, ZapFilter::kBoth);
  for (InvalidationListener* l : listeners_) l->InvalidateEnd(start, end);
  std::vector<InvalidationListener*> gone;
  gone.swap(listeners_);
  for (InvalidationListener* l : gone) l->FileReleased();
}

// ---- inspection -------------------------------------------------------------------------

std::vector<Inode::FolioInfo> Inode::Folios() const {
  MutexLock f(&folios_mu_);
  std::vector<FolioInfo> out;
  folios_.ForEachRun(PgOff(0), PgOff(npages()), [&](const FolioMap::Run& r) {
    for (PgOff s = r.start; s < r.end; s += PagesIn(r.order)) out.push_back({s, r.state});
  });
  return out;
}

uint64_t Inode::present_pages() const {
  MutexLock f(&folios_mu_);
  return folios_.present_pages();
}

uint64_t Inode::folio_metadata_bytes() const {
  MutexLock f(&folios_mu_);
  return folios_.metadata_bytes();
}

uint64_t Inode::folio_count() const {
  MutexLock f(&folios_mu_);
  return folios_.folio_count();
}

size_t Inode::folio_run_count() const {
  MutexLock f(&folios_mu_);
  return folios_.run_count();
}

size_t Inode::user_mapping_count() const {
  MutexLock m(&mappings_mu_);
  return mappings_.size();
}

namespace {

struct MapsEntry {
  uintptr_t start, end;
  uint64_t offset;
  uint64_t inode;
};

std::vector<MapsEntry> ReadProcMaps() {
  std::vector<MapsEntry> out;
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    MapsEntry e{};
    unsigned long long s, en, off, ino;
    char perms[8], dev[16];
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu", &s, &en, perms, &off, dev, &ino) ==
        6) {
      e = MapsEntry{static_cast<uintptr_t>(s), static_cast<uintptr_t>(en), off, ino};
      out.push_back(e);
    }
  }
  return out;
}

uint64_t InodeNumber(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

}  // namespace

std::vector<std::string> Inode::CheckInvariants() const {
  std::vector<std::string> v;
  ReaderLock l(&invalidate_lock_);
  const PgOff eof(npages());
  if (!attrs_.IsCanonical()) v.push_back("attributes are not canonical");
  if (!attrs_.Covers(PgOff(0), eof)) v.push_back("attributes do not cover the whole file");
  for (auto run : attrs_) {
    if (eof < run.end) v.push_back("attribute run past EOF at page " + Hex(run.start.value()));
  }
  {
    MutexLock f(&folios_mu_);
    folios_.ForEachRun(PgOff(0), PgOff(~uint64_t{0}), [&](const FolioMap::Run& r) {
      invalidate_lock_.AssertReaderHeld();  // held by the caller; lambdas hide it
      const PgOff s = r.start, e = r.end;
      if (!IsAlignedTo(s, r.order) || (e - s) % PagesIn(r.order) != 0)
        v.push_back("folio run at page " + Hex(s.value()) + " is not aligned to its order");
      if (r.order != PageOrder::k4K && e - s != PagesIn(r.order))
        v.push_back("huge folio run at page " + Hex(s.value()) + " holds more than one folio");
      if (eof < e) v.push_back("folio at page " + Hex(s.value()) + " extends past EOF");
      if (r.order != PageOrder::k4K && !attrs_.AllEqual(s, e, MemAttr::kPrivate))
        v.push_back("huge folio at page " + Hex(s.value()) + " covers shared pages");
      if (r.state.pins && !attrs_.AllEqual(s, e, MemAttr::kShared))
        v.push_back("pinned folio at page " + Hex(s.value()) + " is private");
    });
  }
  if (config_.no_direct_map && arena_.CountDirectMapRemoved(pfns_) != pfns_.npages) {
    v.push_back("NO_DIRECT_MAP file has PFNs with a direct map (pfn " + Hex(pfns_.start.value()) +
                "...)");
  }
  // Host mappings, read back from the process's real page tables.
  MutexLock m(&mappings_mu_);
  if (mappings_.empty()) return v;
  const uint64_t arena_ino = InodeNumber(arena_.memfd());
  const uint64_t sigbus_ino = InodeNumber(SigbusFd());
  const std::vector<MapsEntry> maps = ReadProcMaps();
  MutexLock f(&folios_mu_);
  for (const UserMapping& um : mappings_) {
    const auto base = reinterpret_cast<uintptr_t>(um.base);
    const uintptr_t end = base + (um.npages << kPageShift);
    uintptr_t covered = base;
    for (const MapsEntry& e : maps) {
      if (e.end <= base || end <= e.start) continue;
      const uintptr_t s = std::max(e.start, base);
      const uintptr_t en = std::min(e.end, end);
      if (s != covered) v.push_back("host mapping hole at " + Hex(covered));
      covered = en;
      if (e.inode == sigbus_ino) continue;
      if (e.inode != arena_ino) {
        v.push_back("host mapping at " + Hex(s) + " is backed by something else (inode " +
                    std::to_string(e.inode) + ")");
        continue;
      }
      for (uintptr_t a = s; a < en; a += kPageSize) {
        const PgOff page = um.first + ((a - base) >> kPageShift);
        const uint64_t want = arena_offset() + ByteOf(page);
        const uint64_t got = e.offset + (a - e.start);
        if (got != want) {
          v.push_back("host page " + Hex(a) + " maps arena offset " + Hex(got) + ", not " +
                      Hex(want));
        } else if (!(page < eof)) {
          v.push_back("host page " + Hex(a) + " maps past EOF");
        } else if (attrs_.Lookup(page) != MemAttr::kShared) {
          v.push_back("private page " + Hex(page.value()) + " is host-mapped at " + Hex(a));
        } else if (auto fe = folios_.FolioAt(page); fe && fe->folio.hwpoison) {
          v.push_back("poisoned page " + Hex(page.value()) + " is host-mapped at " + Hex(a));
        }
      }
    }
    if (covered != end) v.push_back("host mapping hole at " + Hex(covered));
  }
  return v;
}

}  // namespace cocomem::gmem
