// TDX: building a TD's initial image (KVM_TDX_INIT_MEM_REGION, measured and not) against
// the raw work it stands for (SHA-384 over the same bytes, memcpy of the same bytes into
// fresh memory), and runtime private faults: EPT violation -> PAGE.AUG -> guest ACCEPT.
#include <benchmark/benchmark.h>
#include <cocomem/cocomem.hpp>
#include <cocomem/guest.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/check.h"

namespace cocomem {
namespace {

constexpr uint64_t k4K = 4096, k2M = 2ull << 20;
constexpr uint64_t kImagePages = 2048;  // 8 MiB of initial image per iteration

struct Td {
  UniqueFd kvm, vm, gmem, vcpu;
  explicit Td(uint64_t size, uint64_t gmem_flags = 0, uint8_t order = 0,
              void (*guest)(ccm_guest*, void*) = nullptr, void* arg = nullptr) {
    kvm.reset(ccm_open("/dev/kvm", O_RDWR));
    vm.reset(ccm_ioctl(kvm.get(), KVM_CREATE_VM, KVM_X86_TDX_VM));
    CHECK(vm.valid());
    std::vector<uint8_t> init_buf(sizeof(kvm_tdx_init_vm), 0);
    auto* init = reinterpret_cast<kvm_tdx_init_vm*>(init_buf.data());
    init->attributes = 1ull << 28;  // SEPT_VE_DISABLE
    CHECK(Cmd(vm.get(), KVM_TDX_INIT_VM, 0, reinterpret_cast<uint64_t>(init)) == 0);
    kvm_create_guest_memfd g{};
    g.size = size;
    g.flags = gmem_flags;
    g.page_order = order;
    gmem.reset(ccm_ioctl(vm.get(), KVM_CREATE_GUEST_MEMFD, &g));
    CHECK(gmem.valid());
    kvm_userspace_memory_region2 r{};
    r.flags = KVM_MEM_GUEST_MEMFD;
    r.memory_size = size;
    r.guest_memfd = static_cast<uint32_t>(gmem.get());
    CHECK(ccm_ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION2, &r) == 0);
    vcpu.reset(ccm_ioctl(vm.get(), KVM_CREATE_VCPU, 0));
    if (guest) {
      ccm_vcpu_guest cg{guest, arg};
      CHECK(ccm_ioctl(vcpu.get(), CCM_VCPU_SET_GUEST, &cg) == 0);
    }
    CHECK(Cmd(vcpu.get(), KVM_TDX_INIT_VCPU, 0, 0) == 0);
  }
  static int Cmd(int fd, uint32_t id, uint32_t flags, uint64_t data) {
    kvm_tdx_cmd c{};
    c.id = id;
    c.flags = flags;
    c.data = data;
    return ccm_ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &c);
  }
  int InitMem(uint64_t gpa, const void* src, uint64_t npages, bool measure) {
    kvm_tdx_init_mem_region reg{reinterpret_cast<uint64_t>(src), gpa, npages};
    return Cmd(vcpu.get(), KVM_TDX_INIT_MEM_REGION, measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0,
               reinterpret_cast<uint64_t>(&reg));
  }
  int Convert(uint64_t offset, uint64_t size, bool to_private) {
    kvm_memory_attributes2 a{};
    a.offset = offset;
    a.size = size;
    a.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    return ccm_ioctl(gmem.get(), KVM_SET_MEMORY_ATTRIBUTES2, &a);
  }
};

// The image: page aligned, as INIT_MEM_REGION sources must be.
struct Image {
  uint8_t* p;
  Image() {
    p = static_cast<uint8_t*>(std::aligned_alloc(k4K, size()));
    for (size_t i = 0; i < size(); ++i) p[i] = static_cast<uint8_t>(i * 13 + (i >> 12));
  }
  ~Image() { std::free(p); }
  const uint8_t* data() const { return p; }
  static size_t size() { return kImagePages * k4K; }
};

// KVM_TDX_INIT_MEM_REGION of 8 MiB into a fresh TD, then KVM_TDX_FINALIZE_VM (MR.FINALIZE
// completes the MRTD, so the hash is in the time however it was scheduled); bytes = the
// image's bytes.
void InitMemRegion(benchmark::State& state, bool measure) {
  const Image image;
  for (auto _ : state) {
    state.PauseTiming();
    {
      Td td(kImagePages * k4K);
      state.ResumeTiming();
      CHECK(td.InitMem(0, image.data(), kImagePages, measure) == 0);
      CHECK(Td::Cmd(td.vm.get(), KVM_TDX_FINALIZE_VM, 0, 0) == 0);
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * image.size()));
}
void BM_InitMemRegionMeasured(benchmark::State& state) { InitMemRegion(state, true); }
void BM_InitMemRegionUnmeasured(benchmark::State& state) { InitMemRegion(state, false); }
BENCHMARK(BM_InitMemRegionMeasured)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_InitMemRegionUnmeasured)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a measured page hashes: PAGE.ADD's block, then per 256 bytes MR.EXTEND's header and
// the data (49 blocks, 6272 bytes per 4K page). bytes = the image's bytes, as above.
void BM_Sha384SameStream(benchmark::State& state) {
  const Image image;
  uint8_t block[128] = {};
  unsigned char digest[48];
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha384(), nullptr);
    for (uint64_t p = 0; p < kImagePages; ++p) {
      EVP_DigestUpdate(ctx, block, 128);
      for (uint64_t off = 0; off < k4K; off += 256) {
        EVP_DigestUpdate(ctx, block, 128);
        EVP_DigestUpdate(ctx, image.data() + p * k4K + off, 256);
      }
    }
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * image.size()));
}
BENCHMARK(BM_Sha384SameStream)->Unit(benchmark::kMillisecond)->UseRealTime();

// SHA-384 of just the image's bytes (no block headers).
void BM_Sha384ImageOnly(benchmark::State& state) {
  const Image image;
  unsigned char digest[48];
  for (auto _ : state) {
    unsigned len = 0;
    EVP_Digest(image.data(), image.size(), digest, &len, EVP_sha384(), nullptr);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * image.size()));
}
BENCHMARK(BM_Sha384ImageOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

// memcpy of the image into fresh (never touched) shared memory, as INIT_MEM_REGION copies
// into fresh guest pages.
void BM_MemcpyFresh(benchmark::State& state) {
  const Image image;
  const int fd = memfd_create("bench-fresh", MFD_CLOEXEC);
  CHECK(ftruncate(fd, static_cast<off_t>(image.size())) == 0);
  for (auto _ : state) {
    state.PauseTiming();
    void* p = mmap(nullptr, image.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    state.ResumeTiming();
    std::memcpy(p, image.data(), image.size());
    benchmark::ClobberMemory();
    state.PauseTiming();
    munmap(p, image.size());
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(image.size())) == 0);
    state.ResumeTiming();
  }
  close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * image.size()));
}
BENCHMARK(BM_MemcpyFresh)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- runtime private faults --------------------------------------------------------------

struct FaultArgs {
  uint64_t pages;  // per KVM_RUN
  uint64_t size;   // whole range
  int level;       // 0 = 4K accepts, 1 = 2M accepts
  uint64_t next = 0;
};

void AcceptGuest(ccm_guest* g, void* arg) {
  auto* a = static_cast<FaultArgs*>(arg);
  const uint64_t step = a->level ? k2M : k4K;
  for (;;) {
    for (uint64_t i = 0; i < a->pages; ++i) {
      const uint64_t gpa = a->next;
      a->next = (a->next + step) % a->size;
      (void)ccm_guest_tdx_accept(g, gpa, a->level);
      ccm_guest_write64(g, gpa, gpa);
    }
    ccm_guest_sync(g, 0);
  }
}

// One iteration = `pages` private faults, each EPT violation -> AUG -> ACCEPT (zeroing) ->
// the guest's write. The range is recycled between passes by converting it to shared and
// back (zapping every page: BLOCK, TRACK, REMOVE), outside the timing.
void PrivateFaults(benchmark::State& state, int level) {
  const uint64_t size = level ? 64 * k2M : 16 * k2M;
  FaultArgs args{level ? 8u : 512u, size, level};
  Td td(size, level ? GUEST_MEMFD_FLAG_HUGETLB : 0, level ? 9 : 0, AcceptGuest, &args);
  // Commit the memory up front, as a VMM preallocating guest RAM would.
  CHECK_MSG(ccm_fallocate(td.gmem.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)) == 0, std::strerror(errno));
  CHECK(Td::Cmd(td.vm.get(), KVM_TDX_FINALIZE_VM, 0, 0) == 0);
  const uint64_t step = level ? k2M : k4K;
  uint64_t done_in_pass = 0;
  for (auto _ : state) {
    if (done_in_pass + args.pages * step > size) {
      state.PauseTiming();
      CHECK(td.Convert(0, size, false) == 0);
      CHECK(td.Convert(0, size, true) == 0);
      done_in_pass = 0;
      state.ResumeTiming();
    }
    CHECK(ccm_ioctl(td.vcpu.get(), KVM_RUN, 0) == 0);
    done_in_pass += args.pages * step;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * args.pages));
  state.counters["per_fault"] = benchmark::Counter(
      static_cast<double>(state.iterations() * args.pages),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_PrivateFault4K(benchmark::State& state) { PrivateFaults(state, 0); }
void BM_PrivateFault2M(benchmark::State& state) { PrivateFaults(state, 1); }
BENCHMARK(BM_PrivateFault4K)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PrivateFault2M)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cocomem
