// Arena under concurrent use (also run under ThreadSanitizer).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "host/arena.h"

namespace cocomem::host {
namespace {

TEST(ArenaConcurrency, ReserveReleaseFromManyThreads) {
  ArenaOptions o;
  o.capacity_bytes = uint64_t{1} << 30;
  auto a = Arena::Create(o);
  ASSERT_TRUE(a.ok());
  Arena& arena = **a;
  std::atomic<bool> overlap{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; i++) {
        auto r = arena.Reserve(1 + (i % 7), (i % 5 == 0) ? PageOrder::k2M : PageOrder::k4K);
        if (!r.ok()) continue;
        // Stamp the pages with our id; a concurrent owner of the same page would clobber it.
        auto* p = reinterpret_cast<volatile uint32_t*>(arena.HardwareView(r->start));
        *p = static_cast<uint32_t>(t + 1);
        if (i % 3 == 0) (void)arena.RemoveDirectMap(*r);
        std::this_thread::yield();
        if (*p != static_cast<uint32_t>(t + 1)) overlap = true;
        arena.Release(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(arena.reserved_bytes(), 0u);
  EXPECT_EQ(arena.stats().Get("reservations"), arena.stats().Get("releases"));
}

}  // namespace
}  // namespace cocomem::host
