// Seeded random sequences of memslot, attribute, conversion, punch, allocation, guest and
// host access operations on one VM, checked after every step against a plain per-page
// reference model and the invariant checkers (Vm::CheckInvariants, Inode::CheckInvariants).
//
// Two modes, each for several seeds:
//   - in-place conversion (gmem_in_place_conversion=1): attributes live in guest_memfd
//     (KVM_SET_MEMORY_ATTRIBUTES2 on the file), one backing per page, conversions keep
//     the contents both ways, shared pages are also reachable through a host mmap;
//   - VM attributes (gmem_in_place_conversion=0): KVM_SET_MEMORY_ATTRIBUTES on the VM,
//     private memory from guest_memfd, shared memory from ordinary anonymous memory
//     (separate backings).
// Everything goes through the facade (ccm_ioctl, ccm_fallocate, ccm_mmap) except guest
// accesses, which call Vm::HandleFault and Vm::WithGuestPage directly.
//
// The model predicts every ioctl/fallocate errno, every fault's outcome (mapped, and at
// which level when the 2M frame was empty; KVM_EXIT_MEMORY_FAULT with EFAULT and its
// PRIVATE flag; MMIO), every value the guest or the host reads, guest_memfd's attributes
// and folio orders. After every step: both CheckInvariants are empty, every leaf agrees
// with the model (one memslot, kind = attribute, backing, frame, writable, level <= folio,
// aligned), pages an operation changed or punched are unmapped, and leaves the operation
// had no reason to touch survive unchanged.
//
// Seeds are COCOMEM_SEED (printed), COCOMEM_SEED + 1, ...: a failing seed reproduces
// first with COCOMEM_SEED=<that seed>.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <cocomem/cocomem.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gmem/gmem_file.h"
#include "kvm/vm.h"
#include "sys/emu_backend.h"
#include "sys/vm_file.h"
#include "test_seed.h"

namespace cocomem::kvm {
namespace {

using gmem::MemAttr;
using tdp::Level;

constexpr uint64_t kWindowGfn = (1ull << 32) >> kPageShift;  // GPA window starts at 4 GiB
constexpr uint64_t kWindowPages = 8192;                      // 32 MiB of GPA space
constexpr uint64_t kHuge = 512;                              // pages in a 2M page
constexpr uint64_t kAnonPages = 4096;                        // 16 MiB of shared backing
constexpr uint64_t kTagOff = 0x2a8;                          // where each page's tag lives
constexpr uint16_t kMaxSlotIds = 10;
// Seeds per mode (COCOMEM_RANDOM_SEEDS overrides, for longer soaks). In-place runs cost
// more: Inode::CheckInvariants reads back every host-mapped page after every step.
constexpr int kInPlaceSeeds = 6;
constexpr int kVmAttributeSeeds = 8;
constexpr int kStepsPerSeed = 300;

sys::EmuBackend& Emu() {
  return static_cast<sys::EmuBackend&>(sys::GetBackend(sys::BackendKind::kEmu));
}

enum class Mode { kInPlace, kVmAttributes };
enum class Block { kAbsent, kHuge, kSplit };  // folio state of one 2M page of a huge file

const char* BlockName(Block b) {
  return b == Block::kAbsent ? "absent" : b == Block::kHuge ? "huge" : "split";
}

struct FileModel {
  UniqueFd fd;
  gmem::Inode* inode = nullptr;
  uint64_t npages = 0;
  bool huge = false;
  bool mmap_flag = false;
  std::vector<bool> priv;     // guest_memfd's attribute of each page
  std::vector<uint64_t> tag;  // the page's content (0: zero, e.g. never written or punched)
  std::vector<bool> punched;  // punched and not written since (diagnostics only)
  std::vector<Block> blocks;  // huge files only
  std::byte* host = nullptr;  // in-place mode: MAP_SHARED of the whole file
};

struct SlotModel {
  uint16_t id = 0;
  uint64_t g = 0;  // first page, as an index into the GPA window
  uint64_t npages = 0;
  int file = -1;  // index into files_, -1 for an ordinary memory slot
  uint64_t pgoff = 0;
  uint64_t anon = 0;  // userspace_addr, as a page index into the anonymous area
  bool readonly = false;
  uint64_t end() const { return g + npages; }
};

// What the runs of one mode did, to see that the sequences reach the interesting cases.
using Tally = std::map<std::string, uint64_t>;

std::string Errno(int e) {
  return e == 0 ? "ok" : e == EINVAL ? "EINVAL" : e == EEXIST ? "EEXIST" : std::to_string(e);
}

class RandomVm {
 public:
  RandomVm(Mode mode, uint64_t seed, Tally& tally)
      : mode_(mode), seed_(seed), rng_(seed), tally_(tally) {}

  ~RandomVm() {
    for (FileModel& f : files_) {
      if (f.host) ccm_munmap(f.host, f.npages << kPageShift);
    }
    files_.clear();
    vm_fd_.reset();
    kvm_fd_.reset();
    if (anon_) munmap(anon_, kAnonPages << kPageShift);
  }

  void Run(int steps) {
    SCOPED_TRACE("seed " + std::to_string(seed_) + " setup");
    SetUp();
    if (::testing::Test::HasFailure()) return;
    CheckAll(/*full=*/true);
    for (step_ = 0; step_ < steps; ++step_) {
      SCOPED_TRACE("seed " + std::to_string(seed_) + " step " + std::to_string(step_) + " (mode " +
                   (mode_ == Mode::kInPlace ? "in-place" : "vm-attributes") + ")");
      Step();
      CheckAll(/*full=*/step_ % 50 == 49);
      if (::testing::Test::HasFailure()) {
        std::string h;
        for (const std::string& s : history_) h += "  " + s + "\n";
        ADD_FAILURE() << "last operations (newest last):\n" << h;
        return;
      }
    }
    SCOPED_TRACE("seed " + std::to_string(seed_) + " final sweep");
    FinalSweep();
  }

 private:
  // ---- randomness ----------------------------------------------------------------------
  uint64_t Rand(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  uint64_t NewTag() { return (seed_ << 40) ^ (++tag_counter_ << 4) ^ 0x5; }

  // Window pages recently written: later accesses, conversions and punches favour them,
  // so that reads meet written contents.
  void Heat(uint64_t g) {
    if (hot_.size() < 48) {
      hot_.push_back(g);
    } else {
      hot_[Rand(0, hot_.size() - 1)] = g;
    }
  }
  std::optional<uint64_t> HotPage() {
    if (hot_.empty()) return std::nullopt;
    return hot_[Rand(0, hot_.size() - 1)];
  }
  // A hot page inside a slot satisfying pred.
  template <typename Pred>
  const SlotModel* HotSlotPage(uint64_t* g, Pred pred) {
    for (int tries = 0; tries < 4; ++tries) {
      std::optional<uint64_t> h = HotPage();
      if (!h) return nullptr;
      const SlotModel* sl = SlotAt(*h);
      if (sl && pred(*sl)) {
        *g = *h;
        return sl;
      }
    }
    return nullptr;
  }

  void Note(const std::string& s) {
    history_.push_back("step " + std::to_string(step_) + ": " + s);
    if (history_.size() > 25) history_.pop_front();
  }

  // ---- setup ---------------------------------------------------------------------------
  void SetUp() {
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", mode_ == Mode::kInPlace ? "1" : "0"), 0);
    kvm_fd_.reset(ccm_open("/dev/kvm", O_RDWR));
    vm_fd_.reset(ccm_ioctl(kvm_fd_.get(), KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM));
    ASSERT_EQ(ccm_set_param("gmem_in_place_conversion", "1"), 0);
    ASSERT_TRUE(vm_fd_.valid()) << std::strerror(errno);
    vm_ = &Emu().fds().GetAs<sys::VmFile>(vm_fd_.get())->vm();

    anon_ = static_cast<std::byte*>(mmap(nullptr, kAnonPages << kPageShift, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    ASSERT_NE(anon_, MAP_FAILED);
    anon_tag_.assign(kAnonPages, 0);
    slot_at_.assign(kWindowPages, -1);
    vm_priv_.assign(kWindowPages, false);

    const int nfiles = static_cast<int>(Rand(1, 3));
    const int huge_index = static_cast<int>(Rand(0, nfiles - 1));  // one HUGETLB 2M file
    std::string desc = "files:";
    for (int i = 0; i < nfiles; ++i) {
      FileModel f;
      f.huge = i == huge_index;
      kvm_create_guest_memfd g{};
      bool init_shared = false;
      if (f.huge) {
        f.npages = kHuge * Rand(2, 3);
        g.flags = GUEST_MEMFD_FLAG_HUGETLB;
        g.page_order = 9;
      } else {
        f.npages = Rand(64, 512);
        init_shared = mode_ == Mode::kInPlace && Chance(0.5);
        if (init_shared) g.flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
      }
      if (mode_ == Mode::kInPlace) g.flags |= GUEST_MEMFD_FLAG_MMAP;
      f.mmap_flag = g.flags & GUEST_MEMFD_FLAG_MMAP;
      g.size = f.npages << kPageShift;
      f.fd.reset(ccm_ioctl(vm_fd_.get(), KVM_CREATE_GUEST_MEMFD, &g));
      ASSERT_TRUE(f.fd.valid()) << std::strerror(errno);
      f.inode = &Emu().fds().GetAs<gmem::GmemFile>(f.fd.get())->inode();
      f.priv.assign(f.npages, !init_shared);
      f.tag.assign(f.npages, 0);
      f.punched.assign(f.npages, false);
      if (f.huge) f.blocks.assign(f.npages / kHuge, Block::kAbsent);
      if (mode_ == Mode::kInPlace) {
        void* p = ccm_mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd.get(), 0);
        ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
        f.host = static_cast<std::byte*>(p);
      }
      desc += " #" + std::to_string(i) + (f.huge ? " huge" : " 4K") + " " +
              std::to_string(f.npages) + "p" + (init_shared ? " shared" : "");
      files_.push_back(std::move(f));
    }
    Note(desc);
  }

  // ---- the model ----------------------------------------------------------------------
  const SlotModel* SlotAt(uint64_t g) const {
    if (g >= kWindowPages || slot_at_[g] < 0) return nullptr;
    return &slots_[static_cast<size_t>(slot_at_[g])];
  }
  bool GmemOnly(const SlotModel& s) const { return s.file >= 0 && files_[s.file].mmap_flag; }
  uint64_t IndexOf(const SlotModel& s, uint64_t g) const { return s.pgoff + (g - s.g); }

  // kvm_mem_is_private() as the model sees it.
  bool ModelPrivate(uint64_t g) const {
    if (mode_ == Mode::kVmAttributes) return g < kWindowPages && vm_priv_[g];
    const SlotModel* s = SlotAt(g);
    if (!s || s->file < 0) return false;
    return files_[s->file].priv[IndexOf(*s, g)];
  }

  // The tag a guest access of kind `priv` to mapped page g reaches.
  uint64_t& Content(uint64_t g, bool priv) {
    const SlotModel& s = *SlotAt(g);
    if (s.file >= 0 && (priv || GmemOnly(s))) return files_[s.file].tag[IndexOf(s, g)];
    return anon_tag_[s.anon + (g - s.g)];
  }

  // Pages of the folio holding page `idx` of file f (the model's folio order).
  uint64_t FolioPages(const FileModel& f, uint64_t idx) const {
    return f.huge && f.blocks[idx / kHuge] == Block::kHuge ? kHuge : 1;
  }

  bool AllPriv(const FileModel& f, uint64_t s, uint64_t e, bool v) const {
    for (uint64_t p = s; p < e; ++p) {
      if (f.priv[p] != v) return false;
    }
    return true;
  }

  // A folio allocation for page idx (GetPfn / fallocate): a fresh huge page stays huge
  // only over an entirely private range.
  void EnsureAllocated(FileModel& f, uint64_t idx) {
    if (!f.huge) return;
    Block& b = f.blocks[idx / kHuge];
    if (b != Block::kAbsent) return;
    const uint64_t s = idx / kHuge * kHuge;
    b = AllPriv(f, s, s + kHuge, true) ? Block::kHuge : Block::kSplit;
  }

  // ---- operations ---------------------------------------------------------------------
  void Step() {
    // Leaves the step may take away are marked in may_lose_ by the operation; every other
    // leaf must survive it unchanged.
    const std::vector<tdp::TdpTable::Mapping> before = Snapshot();
    std::fill(may_lose_.begin(), may_lose_.end(), 0);
    lose_whole_leaves_ = false;
    RunOp();
    ExpectSurvivors(before);
  }

  void RunOp() {
    const uint64_t r = Rand(0, 99);
    if (r < 9) return CreateSlot();
    if (r < 13) return CreateInvalidSlot();
    if (r < 18) return DeleteSlot();
    if (r < 20) return MovePlainSlot();
    if (r < 35) return mode_ == Mode::kInPlace ? ConvertGmem() : SetVmAttributes();
    if (r < 41) return Punch();
    if (r < 44) return Allocate();
    if (r < 46) return WrongModeAttributes();
    if (r < 50) return HugeFrame();
    if (r < 84) return GuestAccess();
    return HostAccess();
  }

  int SetRegion(uint32_t slot, uint32_t flags, uint64_t g, uint64_t npages, uint64_t anon, int file,
                uint64_t pgoff) {
    kvm_userspace_memory_region2 r{};
    r.slot = slot;
    r.flags = flags;
    r.guest_phys_addr = (kWindowGfn + g) << kPageShift;
    r.memory_size = npages << kPageShift;
    r.userspace_addr = reinterpret_cast<uint64_t>(anon_) + (anon << kPageShift);
    if (file >= 0) r.guest_memfd = static_cast<uint32_t>(files_[file].fd.get());
    r.guest_memfd_offset = pgoff << kPageShift;
    errno = 0;
    return ccm_ioctl(vm_fd_.get(), KVM_SET_USER_MEMORY_REGION2, &r) == 0 ? 0 : errno;
  }

  const SlotModel* SlotById(uint16_t id) const {
    for (const SlotModel& s : slots_) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }
  bool GpaOverlaps(uint64_t g, uint64_t n, int except_id) const {
    for (const SlotModel& s : slots_) {
      if (s.id != except_id && g < s.end() && s.g < g + n) return true;
    }
    return false;
  }
  bool BindingOverlaps(int file, uint64_t pgoff, uint64_t n) const {
    for (const SlotModel& s : slots_) {
      if (s.file == file && pgoff < s.pgoff + s.npages && s.pgoff < pgoff + n) return true;
    }
    return false;
  }
  void Publish(const SlotModel& s) {
    slots_.push_back(s);
    Reindex();
  }
  void Reindex() {
    std::fill(slot_at_.begin(), slot_at_.end(), -1);
    for (size_t i = 0; i < slots_.size(); ++i) {
      for (uint64_t g = slots_[i].g; g < slots_[i].end(); ++g) slot_at_[g] = static_cast<int>(i);
    }
  }

  uint64_t PickGpa(uint64_t npages, bool aligned = false) {
    // Mostly a free spot (several tries), 2M-aligned more often than not.
    uint64_t g = 0;
    for (int tries = 0; tries < 12; ++tries) {
      g = aligned || Chance(0.6) ? Rand(0, (kWindowPages - npages) / kHuge) * kHuge
                                 : Rand(0, kWindowPages - npages);
      if (!GpaOverlaps(g, npages, -1)) break;
    }
    return g;
  }

  // A random slot request; `force_id` picks the slot id.
  SlotModel RandomSlot(std::optional<uint16_t> force_id) {
    SlotModel s;
    if (force_id) {
      s.id = *force_id;
    } else {
      std::vector<uint16_t> free;
      for (uint16_t id = 0; id < kMaxSlotIds; ++id) {
        if (!SlotById(id)) free.push_back(id);
      }
      s.id = free.empty() ? static_cast<uint16_t>(Rand(0, kMaxSlotIds - 1))
                          : free[Rand(0, free.size() - 1)];
    }
    bool aligned_gpa = false;
    if (Chance(0.75)) {
      s.file = static_cast<int>(Rand(0, files_.size() - 1));
      if (Chance(0.4)) {  // the huge file, if there is one, more often
        for (size_t i = 0; i < files_.size(); ++i) {
          if (files_[i].huge) s.file = static_cast<int>(i);
        }
      }
      const FileModel& f = files_[s.file];
      const uint64_t layout = f.huge ? Rand(0, 9) : 9;
      if (layout < 5) {
        // Binding aligned to the huge pages: 2M mappings possible.
        s.npages = kHuge * Rand(1, f.npages / kHuge);
        if (Chance(0.2)) s.npages -= Rand(1, kHuge - 1);
        s.pgoff = Rand(0, (f.npages - s.npages) / kHuge) * kHuge;
        aligned_gpa = true;
      } else if (layout < 8) {
        // 2M-aligned GPAs over a file range that is not: never a 2M mapping.
        s.npages = Rand(kHuge + 1, f.npages - 1);
        s.pgoff = Rand(1, f.npages - s.npages);
        aligned_gpa = true;
      } else {
        s.npages = Rand(1, std::min<uint64_t>(f.npages, 768));
        s.pgoff = Rand(0, f.npages - s.npages);
      }
    } else {
      s.npages = Rand(1, 512);
      s.readonly = Chance(0.25);
    }
    s.anon = Rand(0, kAnonPages - s.npages);
    s.g = PickGpa(s.npages, aligned_gpa);
    return s;
  }

  // A random slot; one bound to a huge file with probability p_huge when there is one.
  const SlotModel* PickSlot(double p_huge) {
    if (slots_.empty()) return nullptr;
    if (Chance(p_huge)) {
      std::vector<const SlotModel*> h;
      for (const SlotModel& sl : slots_) {
        if (sl.file >= 0 && files_[sl.file].huge) h.push_back(&sl);
      }
      if (!h.empty()) return h[Rand(0, h.size() - 1)];
    }
    return &slots_[Rand(0, slots_.size() - 1)];
  }

  std::string Describe(const SlotModel& s) const {
    std::ostringstream o;
    o << "slot " << s.id << " gpa page " << s.g << "+" << s.npages;
    if (s.file >= 0) {
      o << " file #" << s.file << " pgoff " << s.pgoff;
    } else {
      o << " anon " << s.anon << (s.readonly ? " ro" : "");
    }
    return o.str();
  }

  // The errno KVM_SET_USER_MEMORY_REGION2 gives for creating `s` (0: success).
  int PredictCreate(const SlotModel& s, uint32_t flags) const {
    if ((flags & KVM_MEM_GUEST_MEMFD) && (flags & KVM_MEM_READONLY)) return EINVAL;
    if (SlotById(s.id)) return EINVAL;  // modifying (a gmem slot here, or plain with other fields)
    if (GpaOverlaps(s.g, s.npages, -1)) return EEXIST;
    if (s.file >= 0) {
      if (s.pgoff + s.npages > files_[s.file].npages) return EINVAL;
      if (BindingOverlaps(s.file, s.pgoff, s.npages)) return EINVAL;
    }
    return 0;
  }

  uint32_t FlagsOf(const SlotModel& s) const {
    return (s.file >= 0 ? KVM_MEM_GUEST_MEMFD : 0) | (s.readonly ? KVM_MEM_READONLY : 0);
  }

  void CreateSlot() {
    SlotModel s = RandomSlot(std::nullopt);
    const uint32_t flags = FlagsOf(s);
    int want = PredictCreate(s, flags);
    const SlotModel* old = SlotById(s.id);
    if (old && old->file < 0 && s.file < 0) {
      // Plain over plain: a modification; only a pure move or a no-op may succeed.
      if (old->anon != s.anon || old->npages != s.npages || old->readonly != s.readonly) {
        want = EINVAL;
      } else {
        return;  // a move; MovePlainSlot covers those
      }
    }
    Note("create " + Describe(s) + " -> want " + std::to_string(want));
    ++tally_["slot create " + Errno(want)];
    SCOPED_TRACE("create " + Describe(s));
    EXPECT_EQ(SetRegion(s.id, flags, s.g, s.npages, s.anon, s.file, s.pgoff), want);
    if (want == 0) Publish(s);
  }

  void CreateInvalidSlot() {
    SlotModel s = RandomSlot(std::nullopt);
    uint32_t flags = FlagsOf(s);
    const uint64_t kind = Rand(0, 4);
    std::string what;
    if (kind == 0 && !slots_.empty()) {
      // GPA overlap with an existing slot.
      const SlotModel& o = slots_[Rand(0, slots_.size() - 1)];
      const uint64_t at = Rand(o.g, o.end() - 1);
      s.g = at >= s.npages - 1 && Chance(0.5) ? at - (s.npages - 1) : at;
      if (s.g + s.npages > kWindowPages) s.g = kWindowPages - s.npages;
      what = "gpa overlap";
    } else if (kind == 1) {
      // The binding of a file range already bound.
      std::vector<const SlotModel*> gm;
      for (const SlotModel& o : slots_) {
        if (o.file >= 0) gm.push_back(&o);
      }
      if (gm.empty()) return;
      const SlotModel& o = *gm[Rand(0, gm.size() - 1)];
      s.file = o.file;
      s.readonly = false;
      flags = KVM_MEM_GUEST_MEMFD;
      const FileModel& f = files_[s.file];
      s.npages = Rand(1, std::min<uint64_t>(f.npages, 512));
      const uint64_t lo = o.pgoff >= s.npages - 1 ? o.pgoff - (s.npages - 1) : 0;
      const uint64_t hi = std::min(o.pgoff + o.npages - 1, f.npages - s.npages);
      s.pgoff = lo <= hi ? Rand(lo, hi) : lo;
      s.g = PickGpa(s.npages);
      what = "binding overlap";
    } else if (kind == 2 && !slots_.empty()) {
      // An existing id, rebinding a guest_memfd (gmem slots are immutable).
      s.id = slots_[Rand(0, slots_.size() - 1)].id;
      if (s.file < 0) {
        s.file = static_cast<int>(Rand(0, files_.size() - 1));
        s.npages = Rand(1, files_[s.file].npages);
        s.pgoff = 0;
        s.readonly = false;
        flags = KVM_MEM_GUEST_MEMFD;
      }
      what = "existing id";
    } else if (kind == 3) {
      // Past the end of the file.
      s.file = static_cast<int>(Rand(0, files_.size() - 1));
      const FileModel& f = files_[s.file];
      s.npages = Rand(1, std::min<uint64_t>(f.npages, 512));
      s.pgoff = Rand(f.npages - s.npages + 1, f.npages + 8);
      s.readonly = false;
      flags = KVM_MEM_GUEST_MEMFD;
      what = "beyond the file";
    } else {
      // guest_memfd + READONLY.
      s.file = static_cast<int>(Rand(0, files_.size() - 1));
      s.npages = Rand(1, files_[s.file].npages);
      s.pgoff = 0;
      flags = KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY;
      what = "gmem readonly";
    }
    int want = PredictCreate(s, flags);
    if (const SlotModel* old = SlotById(s.id);
        old && old->file < 0 && s.file < 0 && want == EINVAL && old->anon == s.anon &&
        old->npages == s.npages && old->readonly == s.readonly) {
      return;  // would be a valid move
    }
    Note("create (" + what + ") " + Describe(s) + " flags " + std::to_string(flags) + " -> want " +
         std::to_string(want));
    ++tally_["slot create (" + what + ") " + Errno(want)];
    SCOPED_TRACE("create (" + what + ") " + Describe(s));
    EXPECT_EQ(SetRegion(s.id, flags, s.g, s.npages, s.anon, s.file, s.pgoff), want);
    if (want == 0) Publish(s);
  }

  void DeleteSlot() {
    uint16_t id;
    if (!slots_.empty() && Chance(0.85)) {
      id = slots_[Rand(0, slots_.size() - 1)].id;
    } else {
      id = static_cast<uint16_t>(Rand(0, kMaxSlotIds - 1));
    }
    const SlotModel* old = SlotById(id);
    const int want = old ? 0 : EINVAL;
    std::vector<uint64_t> pages;
    if (old) {
      for (uint64_t g = old->g; g < old->end(); ++g) pages.push_back(g);
    }
    Note("delete slot " + std::to_string(id) + " -> want " + std::to_string(want));
    ++tally_["slot delete " + Errno(want)];
    SCOPED_TRACE("delete slot " + std::to_string(id));
    EXPECT_EQ(SetRegion(id, 0, 0, 0, 0, -1, 0), want);
    if (want == 0) {
      slots_.erase(slots_.begin() + (old - slots_.data()));
      Reindex();
      ExpectUnmapped(pages, "deleted slot");
      for (uint64_t g : pages) may_lose_[g] = 1;
    }
  }

  void MovePlainSlot() {
    std::vector<size_t> plain;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].file < 0) plain.push_back(i);
    }
    if (plain.empty()) return;
    SlotModel s = slots_[plain[Rand(0, plain.size() - 1)]];
    const SlotModel old = s;
    int want;
    if (Chance(0.15)) {
      s.readonly = !s.readonly;  // a flags change together with READONLY: refused
      want = EINVAL;
    } else {
      s.g = Chance(0.2) ? old.g : PickGpa(s.npages);
      want = GpaOverlaps(s.g, s.npages, s.id) ? EEXIST : 0;
    }
    Note("move " + Describe(old) + " to gpa page " + std::to_string(s.g) +
         (s.readonly != old.readonly ? " toggling ro" : "") + " -> want " + std::to_string(want));
    SCOPED_TRACE("move " + Describe(old) + " to " + std::to_string(s.g));
    ++tally_["slot move " + Errno(want)];
    EXPECT_EQ(SetRegion(s.id, FlagsOf(s), s.g, s.npages, s.anon, -1, 0), want);
    if (want == 0 && s.g != old.g) {
      for (SlotModel& x : slots_) {
        if (x.id == s.id) x = s;
      }
      Reindex();
      std::vector<uint64_t> pages;
      for (uint64_t g = old.g; g < old.end(); ++g) {
        if (!(g >= s.g && g < s.end())) pages.push_back(g);
      }
      ExpectUnmapped(pages, "old range of a moved slot");
      for (uint64_t g = old.g; g < old.end(); ++g) may_lose_[g] = 1;
    }
  }

  // GPA pages (window indices) bound to file page range [s, e) of file f.
  std::vector<uint64_t> BoundPages(int f, uint64_t s, uint64_t e) const {
    std::vector<uint64_t> out;
    for (const SlotModel& sl : slots_) {
      if (sl.file != f) continue;
      const uint64_t a = std::max(s, sl.pgoff), b = std::min(e, sl.pgoff + sl.npages);
      for (uint64_t i = a; i < b; ++i) out.push_back(sl.g + (i - sl.pgoff));
    }
    return out;
  }

  // A random page range of a file: around a binding half of the time.
  std::pair<uint64_t, uint64_t> FileRange(int fi) {
    const FileModel& f = files_[fi];
    uint64_t s, n;
    const uint64_t r = Rand(0, 9);
    if (r == 0) {
      s = 0;
      n = f.npages;
    } else if (r <= 3 && f.huge) {
      s = Rand(0, f.npages / kHuge - 1) * kHuge;
      n = kHuge * Rand(1, (f.npages - s) / kHuge);
    } else {
      std::vector<const SlotModel*> b;
      for (const SlotModel& sl : slots_) {
        if (sl.file == fi) b.push_back(&sl);
      }
      uint64_t hg;
      const SlotModel* hot =
          Chance(0.5) ? HotSlotPage(&hg, [&](const SlotModel& x) { return x.file == fi; })
                      : nullptr;
      if (hot) {
        const uint64_t idx = IndexOf(*hot, hg);
        s = idx - std::min<uint64_t>(idx, Rand(0, 3));
      } else if (!b.empty() && Chance(0.6)) {
        const SlotModel& sl = *b[Rand(0, b.size() - 1)];
        s = Rand(sl.pgoff, sl.pgoff + sl.npages - 1);
      } else {
        s = Rand(0, f.npages - 1);
      }
      n = Chance(0.5) ? Rand(1, 8) : Rand(1, 700);
      n = std::min(n, f.npages - s);
    }
    return {s, n};
  }

  void ConvertGmem() {
    const int fi = static_cast<int>(Rand(0, files_.size() - 1));
    auto [s, n] = FileRange(fi);
    const bool blocks = files_[fi].huge && s % kHuge == 0 && n % kHuge == 0;
    Convert(fi, s, n, Chance(blocks ? 0.75 : 0.5), /*may_be_bad=*/true);
  }

  void Convert(int fi, uint64_t s, uint64_t n, bool to_private, bool may_be_bad) {
    FileModel& f = files_[fi];
    kvm_memory_attributes2 a{};
    a.offset = s << kPageShift;
    a.size = n << kPageShift;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    int want = 0;
    const uint64_t bad = may_be_bad ? Rand(0, 19) : 99;
    if (bad == 0) {
      a.offset += 0x800;
      want = EINVAL;
    } else if (bad == 1) {
      a.size = 0;
      want = EINVAL;
    } else if (bad == 2) {
      a.size = (f.npages - s + Rand(1, 4)) << kPageShift;
      want = EINVAL;
    } else if (bad == 3) {
      a.offset = (f.npages + Rand(0, 4)) << kPageShift;
      want = EINVAL;
    }
    std::ostringstream d;
    d << "convert file #" << fi << " pages " << (a.offset >> kPageShift) << "+"
      << (a.size >> kPageShift) << (a.offset & 0xfff ? " (unaligned)" : "") << " to "
      << (to_private ? "private" : "shared") << " -> want " << want;
    Note(d.str());
    SCOPED_TRACE(d.str());
    errno = 0;
    const int rc = ccm_ioctl(f.fd.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a);
    EXPECT_EQ(rc == 0 ? 0 : errno, want);
    if (want != 0) return ++tally_["convert " + Errno(want)], void();
    const uint64_t e = s + n;
    std::vector<uint64_t> changed;
    for (uint64_t p = s; p < e; ++p) {
      if (f.priv[p] != to_private) changed.push_back(p);
    }
    ++tally_[changed.empty() ? "convert no-op"
             : to_private    ? "convert to private"
                             : "convert to shared"];
    if (changed.empty()) return;  // already so: nothing happens at all
    if (f.huge && !to_private) {
      for (uint64_t b = s / kHuge; b * kHuge < e; ++b) {
        if (f.blocks[b] == Block::kHuge) f.blocks[b] = Block::kSplit;
      }
    }
    for (uint64_t p = s; p < e; ++p) f.priv[p] = to_private;
    if (f.huge && to_private) {
      for (uint64_t b = s / kHuge; b * kHuge < e; ++b) {
        if (f.blocks[b] == Block::kSplit && AllPriv(f, b * kHuge, (b + 1) * kHuge, true)) {
          f.blocks[b] = Block::kHuge;
        }
      }
    }
    std::vector<uint64_t> pages;
    for (uint64_t p : changed) {
      for (uint64_t g : BoundPages(fi, p, p + 1)) pages.push_back(g);
    }
    ExpectUnmapped(pages, "converted page");
    // The whole range is zapped; going shared, huge leaves crossing its edges are split
    // first (decision 2), going private they may go entirely.
    for (uint64_t g : BoundPages(fi, s, e)) may_lose_[g] = 1;
    if (to_private) lose_whole_leaves_ = true;
  }

  void SetVmAttributes() {
    uint64_t g, n;
    bool to_private = Chance(0.5);
    if (Chance(0.25)) {
      // Whole 2M frames, mostly to private: room for huge private mappings.
      if (!slots_.empty() && Chance(0.8)) {
        const SlotModel& sl = *PickSlot(0.6);
        g = Rand(sl.g, sl.end() - 1) / kHuge * kHuge;
      } else {
        g = Rand(0, kWindowPages / kHuge - 1) * kHuge;
      }
      n = std::min(kHuge * Rand(1, 2), kWindowPages - g);
      to_private = Chance(0.8);
    } else {
      if (HotSlotPage(&g, [](const SlotModel&) { return true; }) && Chance(0.5)) {
        g -= std::min<uint64_t>(g, Rand(0, 3));
      } else if (!slots_.empty() && Chance(0.7)) {
        const SlotModel& sl = slots_[Rand(0, slots_.size() - 1)];
        g = Rand(sl.g, sl.end() - 1);
        if (Chance(0.3)) g = g / kHuge * kHuge;
      } else {
        g = Rand(0, kWindowPages - 1);
      }
      n = Chance(0.5) ? Rand(1, 8) : Rand(1, 1100);
      n = std::min(n, kWindowPages - g);
    }
    VmAttributes(g, n, to_private, /*may_be_bad=*/true);
  }

  void VmAttributes(uint64_t g, uint64_t n, bool to_private, bool may_be_bad) {
    kvm_memory_attributes a{};
    a.address = (kWindowGfn + g) << kPageShift;
    a.size = n << kPageShift;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    int want = 0;
    const uint64_t bad = may_be_bad ? Rand(0, 19) : 99;
    if (bad == 0) {
      a.size -= 0x200;
      want = EINVAL;
    } else if (bad == 1) {
      a.flags = 1;
      want = EINVAL;
    } else if (bad == 2) {
      a.attributes = 1;  // not a supported attribute
      want = EINVAL;
    } else if (bad == 3) {
      a.size = 0;
      want = EINVAL;
    }
    std::ostringstream d;
    d << "vm attributes gpa page " << g << "+" << n << " to " << (to_private ? "private" : "shared")
      << " (attributes " << a.attributes << " flags " << a.flags << " size " << a.size
      << ") -> want " << want;
    Note(d.str());
    SCOPED_TRACE(d.str());
    errno = 0;
    const int rc = ccm_ioctl(vm_fd_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a);
    EXPECT_EQ(rc == 0 ? 0 : errno, want);
    ++tally_["vm attributes " + Errno(want)];
    if (want != 0) return;
    std::vector<uint64_t> changed;
    bool any = false;
    for (uint64_t p = g; p < g + n; ++p) {
      if (vm_priv_[p] != to_private) {
        any = true;
        vm_priv_[p] = to_private;
        if (SlotAt(p)) changed.push_back(p);
      }
    }
    ExpectUnmapped(changed, "page whose VM attribute changed");
    if (any) {
      for (uint64_t p = g; p < g + n; ++p) may_lose_[p] = 1;
      lose_whole_leaves_ = true;  // no split: leaves crossing the edges may go entirely
    }
  }

  void WrongModeAttributes() {
    if (mode_ == Mode::kInPlace) {
      // PRIVATE is guest_memfd's now: the VM ioctl refuses it.
      kvm_memory_attributes a{};
      a.address = kWindowGfn << kPageShift;
      a.size = kHuge << kPageShift;
      a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
      Note("KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) on the VM in in-place mode -> want EINVAL");
      errno = 0;
      EXPECT_EQ(ccm_ioctl(vm_fd_.get(), KVM_SET_MEMORY_ATTRIBUTES, &a), -1);
      EXPECT_EQ(errno, EINVAL);
    } else {
      const int fi = static_cast<int>(Rand(0, files_.size() - 1));
      kvm_memory_attributes2 a{};
      a.size = kPageSize;
      a.attributes = 0;
      Note("KVM_SET_MEMORY_ATTRIBUTES2 on file #" + std::to_string(fi) +
           " without in-place conversion -> want ENOTTY");
      errno = 0;
      EXPECT_EQ(ccm_ioctl(files_[fi].fd.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a), -1);
      EXPECT_EQ(errno, ENOTTY);
    }
  }

  void Punch() {
    const int fi = static_cast<int>(Rand(0, files_.size() - 1));
    FileModel& f = files_[fi];
    uint64_t s, n;
    int want = 0;
    if (f.huge) {
      s = Rand(0, f.npages / kHuge - 1) * kHuge;
      n = kHuge * Rand(1, (f.npages - s) / kHuge + 1);  // may run past EOF
      if (Chance(0.1)) {
        if (Chance(0.5)) {
          s += Rand(1, kHuge - 1);
        } else {
          n -= Rand(1, kHuge - 1);
        }
        want = EINVAL;
      }
    } else {
      auto r = FileRange(fi);
      s = r.first;
      n = r.second;
      if (Chance(0.1)) n += Rand(1, 64);  // past EOF: the part inside is punched
    }
    if (Chance(0.04)) {
      s = f.npages + (f.huge ? 0 : Rand(0, 3));  // entirely past EOF: a no-op
      if (f.huge) n = kHuge;
      want = 0;
    }
    Punch(fi, s, n, want);
  }

  void Punch(int fi, uint64_t s, uint64_t n, int want) {
    FileModel& f = files_[fi];
    std::ostringstream d;
    d << "punch file #" << fi << " pages " << s << "+" << n << " -> want " << want;
    Note(d.str());
    SCOPED_TRACE(d.str());
    errno = 0;
    const int rc =
        ccm_fallocate(f.fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(s << kPageShift), static_cast<off_t>(n << kPageShift));
    EXPECT_EQ(rc == 0 ? 0 : errno, want);
    ++tally_["punch " + Errno(want)];
    if (want != 0) return;
    const uint64_t e = std::min(s + n, f.npages);
    for (uint64_t p = s; p < e; ++p) {
      f.tag[p] = 0;
      f.punched[p] = true;
      if (f.huge) f.blocks[p / kHuge] = Block::kAbsent;
    }
    if (s < e) ExpectUnmapped(BoundPages(fi, s, e), "punched page");
    for (uint64_t g : BoundPages(fi, s, e)) may_lose_[g] = 1;
  }

  void Allocate() {
    const int fi = static_cast<int>(Rand(0, files_.size() - 1));
    FileModel& f = files_[fi];
    uint64_t s, n;
    int want = 0;
    if (f.huge) {
      s = Rand(0, f.npages / kHuge - 1) * kHuge;
      n = kHuge * Rand(1, (f.npages - s) / kHuge);
    } else {
      auto r = FileRange(fi);
      s = r.first;
      n = r.second;
    }
    if (Chance(0.1)) {
      n = f.npages - s + (f.huge ? kHuge : Rand(1, 16));  // past EOF
      want = EINVAL;
    }
    std::ostringstream d;
    d << "allocate file #" << fi << " pages " << s << "+" << n << " -> want " << want;
    Note(d.str());
    SCOPED_TRACE(d.str());
    errno = 0;
    const int rc =
        ccm_fallocate(f.fd.get(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(s << kPageShift),
                      static_cast<off_t>(n << kPageShift));
    EXPECT_EQ(rc == 0 ? 0 : errno, want);
    ++tally_["allocate " + Errno(want)];
    if (want != 0) return;
    for (uint64_t p = s; p < s + n; p += f.huge ? kHuge : 1) EnsureAllocated(f, p);
  }

  // Whether any leaf intersects [g0, g0 + n) (window indices).
  bool AnyLeafIn(uint64_t g0, uint64_t n) const {
    bool any = false;
    vm_->ForEachMapping(0, [&](const tdp::TdpTable::Mapping& m) {
      const uint64_t s = m.gfn.value(), e = s + tdp::PagesAt(m.level);
      if (s < kWindowGfn + g0 + n && kWindowGfn + g0 < e) any = true;
    });
    return any;
  }

  void GuestAccess() {
    uint64_t g;
    if (Chance(0.45) && HotSlotPage(&g, [](const SlotModel&) { return true; })) {
      // g is set
    } else if (!slots_.empty() && Chance(0.9)) {
      const SlotModel& sl = *PickSlot(0.3);
      g = Rand(sl.g, sl.end() - 1);
    } else {
      g = Rand(0, kWindowPages - 1);
    }
    Access(g, Chance(0.5), Chance(0.1));
  }

  // A 2M GPA frame inside a slot of the huge file made private as a whole (through the
  // file or the VM), then a private access into it: where 2M leaves come from (or, for a
  // binding not aligned to the huge pages, must not).
  void HugeFrame() {
    std::vector<std::pair<const SlotModel*, uint64_t>> frames;
    for (const SlotModel& sl : slots_) {
      if (sl.file < 0 || !files_[sl.file].huge) continue;
      for (uint64_t b = (sl.g + kHuge - 1) / kHuge * kHuge; b + kHuge <= sl.end(); b += kHuge) {
        frames.emplace_back(&sl, b);
      }
    }
    if (frames.empty()) return GuestAccess();
    auto [sl, base] = frames[Rand(0, frames.size() - 1)];
    const int fi = sl->file;
    const uint64_t idx = IndexOf(*sl, base);
    Note("huge frame at window page " + std::to_string(base) + " in " + Describe(*sl));
    if (Chance(0.7)) {
      if (mode_ == Mode::kInPlace) {
        Convert(fi, idx, kHuge, true, /*may_be_bad=*/false);
      } else {
        VmAttributes(base, kHuge, true, /*may_be_bad=*/false);
      }
    }
    if (Chance(0.2)) {
      const uint64_t fb = idx / kHuge * kHuge;  // the first 2M page of the file it touches
      Punch(fi, fb, kHuge, 0);
    }
    Access(base + Rand(0, kHuge - 1), Chance(0.5), /*flip=*/false);
  }

  void Access(uint64_t g, bool write, bool flip) {
    const Gfn gfn(kWindowGfn + g);
    const uint64_t gpa = (gfn.value() << kPageShift) + kTagOff;
    const bool want_private = ModelPrivate(g);
    const bool vm_private = vm_->MemIsPrivate(0, gfn);
    EXPECT_EQ(vm_private, want_private) << "MemIsPrivate of window page " << g;
    const bool is_private = flip ? !vm_private : vm_private;

    // Predict the fault.
    const SlotModel* sl = SlotAt(g);
    FaultResult::Kind kind = FaultResult::Kind::kMapped;
    int error = 0;
    bool via_gmem = false;
    if (is_private != want_private) {
      kind = FaultResult::Kind::kMemoryFault;
      error = EFAULT;
    } else if (!sl && is_private) {
      kind = FaultResult::Kind::kMemoryFault;
      error = EFAULT;
    } else if (!sl || (write && sl->readonly)) {
      kind = FaultResult::Kind::kMmio;
    } else if (is_private || GmemOnly(*sl)) {
      if (sl->file < 0) {
        kind = FaultResult::Kind::kMemoryFault;
        error = EFAULT;
      } else {
        via_gmem = true;
      }
    }
    // The level a fault into an empty 2M frame must get.
    std::optional<Level> want_level;
    if (kind == FaultResult::Kind::kMapped) {
      want_level = Level::k4K;
      const uint64_t base = (kWindowGfn + g) / kHuge * kHuge - kWindowGfn;
      if (AnyLeafIn(base, kHuge)) {
        want_level.reset();  // leaves there already: the fault may map smaller
      } else if (via_gmem && files_[sl->file].huge && base >= sl->g && base + kHuge <= sl->end() &&
                 IndexOf(*sl, base) % kHuge == 0) {
        FileModel& f = files_[sl->file];
        EnsureAllocated(f, IndexOf(*sl, g));
        bool uniform = true;
        for (uint64_t p = base; p < base + kHuge && uniform; ++p)
          uniform = ModelPrivate(p) == is_private;
        if (uniform && f.blocks[IndexOf(*sl, base) / kHuge] == Block::kHuge)
          want_level = Level::k2M;
      }
      if (via_gmem) EnsureAllocated(files_[sl->file], IndexOf(*sl, g));
    }

    std::ostringstream d;
    d << "guest " << (write ? "write" : "read") << (is_private ? " private" : " shared")
      << (flip ? " (flipped)" : "") << " window page " << g;
    if (sl) d << " in " << Describe(*sl);
    Note(d.str());
    SCOPED_TRACE(d.str());

    const FaultResult r = vm_->HandleFault(FaultRequest{0, Gpa(gpa), is_private, write});
    ASSERT_EQ(static_cast<int>(r.kind), static_cast<int>(kind))
        << "fault kind (0 mapped, 1 memory fault, 2 mmio), error " << r.error;
    ++tally_[std::string("fault ") +
             (kind == FaultResult::Kind::kMapped
                  ? (r.level == Level::k2M ? "mapped 2M" : "mapped 4K")
              : kind == FaultResult::Kind::kMemoryFault
                  ? (flip ? "memory fault (mismatch)" : "memory fault (no gmem)")
                  : "mmio")];
    if (want_level) ++tally_["fault level predicted"];
    if (kind == FaultResult::Kind::kMemoryFault) {
      EXPECT_EQ(r.error, error);
      EXPECT_EQ(r.memory_fault_flags, is_private ? uint64_t{KVM_MEMORY_EXIT_FLAG_PRIVATE} : 0);
      return;
    }
    if (kind == FaultResult::Kind::kMmio) return;
    EXPECT_EQ(r.retries, 0u);
    std::optional<tdp::TdpTable::Mapping> m = vm_->LookupMapping(0, gfn);
    ASSERT_TRUE(m.has_value()) << "no leaf after a successful fault";
    EXPECT_EQ(m->spte.is_private(), is_private);
    if (want_level) {
      EXPECT_EQ(static_cast<int>(r.level), static_cast<int>(*want_level));
      EXPECT_EQ(static_cast<int>(m->level), static_cast<int>(*want_level));
    }
    uint64_t& content = Content(g, is_private);
    uint64_t got = ~uint64_t{0};
    const uint64_t tag = NewTag();
    const bool ok = vm_->WithGuestPage(0, Gpa(gpa), write, [&](std::byte* p) {
      std::memcpy(&got, p, sizeof got);
      if (write) std::memcpy(p, &tag, sizeof tag);
    });
    ASSERT_TRUE(ok) << "WithGuestPage after a successful fault";
    EXPECT_EQ(got, content) << "guest read of window page " << g << std::hex << " (want 0x"
                            << content << ", got 0x" << got << ")";
    if (got != 0) ++tally_["guest read of a written page"];
    if (write) {
      content = tag;
      Heat(g);
    }
    if (via_gmem) files_[sl->file].punched[IndexOf(*sl, g)] = false;
  }

  void HostAccess() {
    const bool write = Chance(0.5);
    const uint64_t tag = NewTag();
    if (mode_ == Mode::kVmAttributes) {
      uint64_t a = Rand(0, kAnonPages - 1);
      uint64_t hg;
      if (Chance(0.6)) {
        if (const SlotModel* sl = HotSlotPage(&hg, [](const SlotModel&) { return true; })) {
          a = sl->anon + (hg - sl->g);
        }
      }
      Note(std::string("host ") + (write ? "write" : "read") + " anon page " + std::to_string(a));
      std::byte* p = anon_ + (a << kPageShift) + kTagOff;
      uint64_t got;
      std::memcpy(&got, p, sizeof got);
      EXPECT_EQ(got, anon_tag_[a]) << "host read of anon page " << a;
      if (got != 0) ++tally_["host read of a written page"];
      if (write) {
        std::memcpy(p, &tag, sizeof tag);
        anon_tag_[a] = tag;
        for (const SlotModel& sl : slots_) {
          if (sl.anon <= a && a < sl.anon + sl.npages) Heat(sl.g + (a - sl.anon));
        }
      }
      return;
    }
    int fi = static_cast<int>(Rand(0, files_.size() - 1));
    std::optional<uint64_t> hot_idx;
    uint64_t hg;
    if (Chance(0.6)) {
      if (const SlotModel* sl = HotSlotPage(&hg, [](const SlotModel& x) { return x.file >= 0; })) {
        fi = sl->file;
        hot_idx = IndexOf(*sl, hg);
      }
    }
    FileModel& f = files_[fi];
    for (int tries = 0; tries < 8; ++tries) {
      const uint64_t idx = hot_idx && tries == 0 ? *hot_idx : Rand(0, f.npages - 1);
      if (f.priv[idx]) continue;  // would SIGBUS
      std::ostringstream d;
      d << "host " << (write ? "write" : "read") << " file #" << fi << " page " << idx;
      Note(d.str());
      SCOPED_TRACE(d.str());
      std::byte* p = f.host + (idx << kPageShift) + kTagOff;
      uint64_t got;
      std::memcpy(&got, p, sizeof got);
      if (got != 0) ++tally_["host read of a written page"];
      EXPECT_EQ(got, f.tag[idx]) << "host read of file #" << fi << " page " << idx
                                 << (f.punched[idx] ? " (punched)" : "");
      if (write) {
        std::memcpy(p, &tag, sizeof tag);
        f.tag[idx] = tag;
        f.punched[idx] = false;
        for (uint64_t g : BoundPages(fi, idx, idx + 1)) Heat(g);
      }
      return;
    }
  }

  // ---- checks ---------------------------------------------------------------------------
  std::vector<tdp::TdpTable::Mapping> Snapshot() const {
    std::vector<tdp::TdpTable::Mapping> v;
    vm_->ForEachMapping(0, [&](const tdp::TdpTable::Mapping& m) { v.push_back(m); });
    return v;
  }
  void ExpectSurvivors(const std::vector<tdp::TdpTable::Mapping>& before) {
    std::map<uint64_t, tdp::TdpTable::Mapping> after;
    vm_->ForEachMapping(0,
                        [&](const tdp::TdpTable::Mapping& m) { after.emplace(m.gfn.value(), m); });
    for (const auto& m : before) {
      const uint64_t n = tdp::PagesAt(m.level);
      const uint64_t g0 = m.gfn.value() - kWindowGfn;  // leaves live in the window (CheckLeaf)
      if (g0 + n > kWindowPages) continue;
      bool whole = false;
      if (lose_whole_leaves_) {
        for (uint64_t i = 0; i < n && !whole; ++i) whole = may_lose_[g0 + i];
      }
      if (whole) continue;
      for (uint64_t i = 0; i < n; ++i) {
        if (may_lose_[g0 + i]) continue;
        const uint64_t gfn = m.gfn.value() + i;
        auto it = after.upper_bound(gfn);
        const tdp::TdpTable::Mapping* a = nullptr;
        if (it != after.begin()) {
          --it;
          if (gfn < it->first + tdp::PagesAt(it->second.level)) a = &it->second;
        }
        if (!a || a->FrameOf(Gfn(gfn)) != m.FrameOf(Gfn(gfn)) ||
            a->spte.is_private() != m.spte.is_private() ||
            a->spte.writable() != m.spte.writable()) {
          ADD_FAILURE() << "window page " << g0 + i << " was mapped (leaf at window page " << g0
                        << ", " << n << " pages) and should still be, unchanged; now "
                        << (a ? "mapped differently" : "unmapped");
          return;
        }
      }
    }
  }

  void ExpectUnmapped(const std::vector<uint64_t>& pages, const char* why) {
    for (uint64_t g : pages) {
      auto m = vm_->LookupMapping(0, Gfn(kWindowGfn + g));
      EXPECT_FALSE(m.has_value()) << why << ": window page " << g
                                  << " is still mapped (leaf at gfn " << (m ? m->gfn.value() : 0)
                                  << ")";
      if (m) return;
    }
  }

  void CheckAll(bool full) {
    // The invariant checkers.
    for (const std::string& v : vm_->CheckInvariants())
      ADD_FAILURE() << "Vm::CheckInvariants: " << v;
    for (size_t i = 0; i < files_.size(); ++i) {
      for (const std::string& v : files_[i].inode->CheckInvariants()) {
        ADD_FAILURE() << "file #" << i << " Inode::CheckInvariants: " << v;
      }
    }
    // guest_memfd's attributes and folios against the model.
    for (size_t i = 0; i < files_.size(); ++i) {
      const FileModel& f = files_[i];
      if (mode_ == Mode::kInPlace) {
        uint64_t covered = 0;
        for (const auto& [range, attr] : f.inode->AttributeRuns()) {
          for (uint64_t p = range.first.value(); p < range.second.value() && p < f.npages; ++p) {
            if ((attr == MemAttr::kPrivate) != f.priv[p]) {
              ADD_FAILURE() << "file #" << i << " page " << p << " attribute "
                            << (attr == MemAttr::kPrivate ? "private" : "shared") << ", model "
                            << (f.priv[p] ? "private" : "shared");
              return;
            }
          }
          covered = range.second.value();
        }
        EXPECT_EQ(covered, f.npages) << "file #" << i << " attribute runs";
      }
      if (f.huge) {
        for (uint64_t b = 0; b < f.blocks.size(); ++b) {
          const uint64_t probe = b * kHuge + Rand(0, kHuge - 1);
          const std::optional<PageOrder> o = f.inode->FolioOrderAt(PgOff(probe));
          const Block got = !o                     ? Block::kAbsent
                            : *o == PageOrder::k2M ? Block::kHuge
                                                   : Block::kSplit;
          EXPECT_EQ(static_cast<int>(got), static_cast<int>(f.blocks[b]))
              << "file #" << i << " 2M page " << b << ": folios " << BlockName(got) << ", model "
              << BlockName(f.blocks[b]);
        }
      }
    }
    // Every leaf against the model.
    std::vector<tdp::TdpTable::Mapping> leaves;
    vm_->ForEachMapping(0, [&](const tdp::TdpTable::Mapping& m) { leaves.push_back(m); });
    for (const auto& m : leaves) CheckLeaf(m);
    // kvm_mem_is_private against the model: a sample, everything now and then.
    if (full) {
      for (uint64_t g = 0; g < kWindowPages; ++g) CheckPrivate(g);
    } else {
      for (int i = 0; i < 32; ++i) CheckPrivate(Rand(0, kWindowPages - 1));
    }
  }

  void CheckPrivate(uint64_t g) {
    const bool got = vm_->MemIsPrivate(0, Gfn(kWindowGfn + g));
    if (got != ModelPrivate(g)) {
      ADD_FAILURE() << "MemIsPrivate(window page " << g << ") = " << got << ", model "
                    << ModelPrivate(g);
    }
  }

  void CheckLeaf(const tdp::TdpTable::Mapping& m) {
    const uint64_t n = tdp::PagesAt(m.level);
    if (n > 1) ++tally_["2M leaf checked"];
    std::ostringstream where;
    where << "leaf at gfn " << m.gfn.value() << " (window page "
          << static_cast<int64_t>(m.gfn.value() - kWindowGfn) << ", " << n << " pages, "
          << (m.spte.is_private() ? "private" : "shared") << (m.spte.hva() ? ", hva" : "") << ")";
    if (m.gfn.value() < kWindowGfn || m.gfn.value() + n > kWindowGfn + kWindowPages) {
      ADD_FAILURE() << where.str() << " outside the GPA window";
      return;
    }
    const uint64_t g0 = m.gfn.value() - kWindowGfn;
    const SlotModel* sl = SlotAt(g0);
    if (!sl || g0 + n > sl->end()) {
      ADD_FAILURE() << where.str() << " is not inside one memslot of the model";
      return;
    }
    for (uint64_t g = g0; g < g0 + n; ++g) {
      if (ModelPrivate(g) != m.spte.is_private()) {
        ADD_FAILURE() << where.str() << " disagrees with the model's attribute of window page "
                      << g;
        return;
      }
    }
    EXPECT_EQ(m.spte.writable(), !sl->readonly) << where.str();
    const bool via_gmem = m.spte.is_private() || GmemOnly(*sl);
    if (m.spte.hva()) {
      if (via_gmem)
        ADD_FAILURE() << where.str() << " maps ordinary memory but should map guest_memfd";
      EXPECT_EQ(n, 1u) << where.str();
      const uint64_t want =
          (reinterpret_cast<uint64_t>(anon_) >> kPageShift) + sl->anon + (g0 - sl->g);
      EXPECT_EQ(m.spte.frame(), want) << where.str() << ": wrong host page";
      return;
    }
    if (!via_gmem || sl->file < 0) {
      ADD_FAILURE() << where.str() << " maps guest_memfd but should map ordinary memory";
      return;
    }
    const FileModel& f = files_[sl->file];
    const uint64_t idx = IndexOf(*sl, g0);
    EXPECT_EQ(m.spte.frame(), f.inode->PfnOf(PgOff(idx)).value()) << where.str() << ": wrong PFN";
    EXPECT_LE(n, FolioPages(f, idx)) << where.str() << ": larger than the model's folio";
    if (n > 1) EXPECT_EQ(idx % n, 0u) << where.str() << ": misaligned in the file";
  }

  // Every page of every slot, read by the guest with the right access kind.
  void FinalSweep() {
    for (const SlotModel& sl : std::vector<SlotModel>(slots_)) {
      for (uint64_t g = sl.g; g < sl.end(); g += 1 + Rand(0, 15)) {
        SCOPED_TRACE("window page " + std::to_string(g) + " in " + Describe(sl));
        const bool priv = ModelPrivate(g);
        const uint64_t gpa = ((kWindowGfn + g) << kPageShift) + kTagOff;
        const FaultResult r = vm_->HandleFault(FaultRequest{0, Gpa(gpa), priv, false});
        if (priv && sl.file < 0) {
          EXPECT_EQ(r.kind, FaultResult::Kind::kMemoryFault);
          continue;
        }
        ASSERT_EQ(r.kind, FaultResult::Kind::kMapped);
        if (priv || GmemOnly(sl)) EnsureAllocated(files_[sl.file], IndexOf(sl, g));
        uint64_t got = ~uint64_t{0};
        ASSERT_TRUE(vm_->WithGuestPage(0, Gpa(gpa), false,
                                       [&](std::byte* p) { std::memcpy(&got, p, sizeof got); }));
        EXPECT_EQ(got, Content(g, priv));
      }
    }
    CheckAll(/*full=*/true);
  }

  const Mode mode_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  Tally& tally_;
  uint64_t tag_counter_ = 0;
  int step_ = 0;
  std::deque<std::string> history_;
  std::vector<uint64_t> hot_;
  std::vector<uint8_t> may_lose_ = std::vector<uint8_t>(kWindowPages);
  bool lose_whole_leaves_ = false;

  UniqueFd kvm_fd_, vm_fd_;
  Vm* vm_ = nullptr;
  std::byte* anon_ = nullptr;
  std::vector<uint64_t> anon_tag_;
  std::vector<FileModel> files_;
  std::vector<SlotModel> slots_;
  std::vector<int> slot_at_;   // window page -> index into slots_
  std::vector<bool> vm_priv_;  // VM-level PRIVATE attribute per window page
};

void RunSeeds(Mode mode) {
  const uint64_t base = ::cocomem::test::BaseSeed();
  Tally tally;
  int seeds = mode == Mode::kInPlace ? kInPlaceSeeds : kVmAttributeSeeds;
  if (const char* env = std::getenv("COCOMEM_RANDOM_SEEDS"); env && *env) seeds = std::atoi(env);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < seeds; ++i) {
    const uint64_t seed = base + static_cast<uint64_t>(i);
    {
      RandomVm r(mode, seed, tally);
      r.Run(kStepsPerSeed);
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "reproduce with COCOMEM_SEED=" << seed;
      break;
    }
  }
  ccm_set_param("gmem_in_place_conversion", "1");
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("seeds %llu..%llu x %d steps in %lld ms\n", static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(base + seeds - 1), kStepsPerSeed,
              static_cast<long long>(ms.count()));
  if (std::getenv("COCOMEM_RANDOM_TALLY")) {
    for (const auto& [what, n] : tally)
      std::printf("  %-40s %llu\n", what.c_str(), static_cast<unsigned long long>(n));
  }
}

TEST(KvmRandomTest, InPlaceConversion) {
  RunSeeds(Mode::kInPlace);
}

TEST(KvmRandomTest, VmAttributes) {
  RunSeeds(Mode::kVmAttributes);
}

}  // namespace
}  // namespace cocomem::kvm
