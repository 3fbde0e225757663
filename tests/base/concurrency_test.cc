// Multi-threaded tests of the base primitives; also run under ThreadSanitizer
// (label "concurrency", `cmake --preset tsan`).
#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "base/fault_injection.h"
#include "base/mutex.h"
#include "base/process.h"
#include "base/stats.h"
#include "base/thread_annotations.h"

namespace cocomem {
namespace {

constexpr int kThreads = 8;

// Runs fn(thread_index) on kThreads threads released together, and joins them.
template <typename Fn>
void RunConcurrently(Fn fn) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&go, &fn, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      fn(t);
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& th : threads) th.join();
}

// --- FaultPoint ------------------------------------------------------------------------------

FaultPoint kHammeredFault{"test.base.concurrency.hammered"};

TEST(FaultPointConcurrencyTest, ExactlyOneFailureAcrossThreads) {
  constexpr int kCallsPerThread = 2000;
  // n = 1 is the tightest race; larger n check that no decrement is lost either.
  for (int64_t n : {1, 2, 3, 100, kThreads * kCallsPerThread}) {
    for (int round = 0; round < 5; ++round) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " round=" << round);
      const uint64_t fired_before = kHammeredFault.fired();
      kHammeredFault.FailNth(n);
      std::atomic<int> failures{0};
      RunConcurrently([&](int) {
        for (int i = 0; i < kCallsPerThread; ++i) {
          if (kHammeredFault.ShouldFail()) failures.fetch_add(1, std::memory_order_relaxed);
        }
      });
      EXPECT_EQ(failures.load(), 1);
      EXPECT_EQ(kHammeredFault.fired(), fired_before + 1);
      EXPECT_FALSE(kHammeredFault.armed());
      kHammeredFault.Disarm();
    }
  }
}

TEST(FaultPointConcurrencyTest, ArmAndFindWhileOthersCall) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread caller([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (kHammeredFault.ShouldFail()) failures.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
  });
  int armed = 0;
  for (int i = 0; i < 50; ++i) {
    FaultPoint* p = FaultPoint::Find("test.base.concurrency.hammered");
    ASSERT_EQ(p, &kHammeredFault);
    p->FailNth(1);
    ++armed;
    while (p->armed()) std::this_thread::yield();
    (void)FaultPoint::All();
  }
  stop.store(true, std::memory_order_relaxed);
  caller.join();
  EXPECT_EQ(failures.load(), armed);
  FaultPoint::DisarmAll();
}

// --- Mutex / SharedMutex ---------------------------------------------------------------------

struct Guarded {
  Mutex mu;
  int64_t count GUARDED_BY(mu) = 0;

  void BumpLocked() REQUIRES(mu) { ++count; }
  int64_t Read() {
    MutexLock l(&mu);
    return count;
  }
};

TEST(MutexTest, ManyThreadsIncrementUnderMutexLock) {
  constexpr int kIncrements = 20000;
  Guarded g;
  RunConcurrently([&](int t) {
    for (int i = 0; i < kIncrements; ++i) {
      if ((i + t) % 2 == 0) {
        MutexLock l(&g.mu);
        ++g.count;
      } else {
        g.mu.Lock();
        g.mu.AssertHeld();
        g.BumpLocked();
        g.mu.Unlock();
      }
    }
  });
  EXPECT_EQ(g.Read(), int64_t{kThreads} * kIncrements);
}

TEST(MutexTest, TryLock) {
  Guarded g;
  if (!g.mu.TryLock()) {
    ADD_FAILURE() << "uncontended TryLock failed";
    return;
  }
  std::atomic<bool> other_got_it{true};
  std::thread th([&] {
    if (g.mu.TryLock()) {
      g.mu.Unlock();
    } else {
      other_got_it.store(false);
    }
  });
  th.join();
  g.mu.Unlock();
  EXPECT_FALSE(other_got_it.load());
  std::thread th2([&] {
    if (g.mu.TryLock()) {
      other_got_it.store(true);
      g.mu.Unlock();
    }
  });
  th2.join();
  EXPECT_TRUE(other_got_it.load());
}

// Writers keep the invariant b == 2 * a; readers must never see it broken.
struct Pair {
  SharedMutex mu;
  int64_t a GUARDED_BY(mu) = 0;
  int64_t b GUARDED_BY(mu) = 0;
};

TEST(SharedMutexTest, ReadersSeeConsistentPairs) {
  constexpr int kWriters = 2;
  constexpr int kWrites = 2000;
  constexpr int kReads = 5000;
  Pair p;
  std::atomic<int64_t> torn{0};
  // Fixed amounts of work on both sides: the rwlock may prefer readers, so readers that
  // loop "until the writers are done" could starve them.
  RunConcurrently([&](int t) {
    if (t < kWriters) {
      for (int i = 0; i < kWrites; ++i) {
        WriterLock l(&p.mu);
        p.a += 1;
        std::this_thread::yield();  // widen the window in which a reader could tear
        p.b = 2 * p.a;
      }
      return;
    }
    for (int i = 0; i < kReads; ++i) {
      if (i % 2 == 0) {
        ReaderLock l(&p.mu);
        if (p.b != 2 * p.a) torn.fetch_add(1, std::memory_order_relaxed);
      } else if (p.mu.TryLockShared()) {
        p.mu.AssertReaderHeld();
        if (p.b != 2 * p.a) torn.fetch_add(1, std::memory_order_relaxed);
        p.mu.UnlockShared();
      }
      if (i % 8 == 0) std::this_thread::yield();
    }
  });
  EXPECT_EQ(torn.load(), 0);
  ReaderLock l(&p.mu);
  EXPECT_EQ(p.a, int64_t{kWriters} * kWrites);
  EXPECT_EQ(p.b, 2 * p.a);
}

TEST(SharedMutexTest, ReadersShareWritersExclude) {
  SharedMutex mu;
  mu.LockShared();
  bool shared_ok = false;
  bool exclusive_ok = true;
  std::thread th([&] {
    if (mu.TryLockShared()) {  // a second reader gets in
      shared_ok = true;
      mu.UnlockShared();
    }
    if (mu.TryLock()) {  // a writer does not
      mu.Unlock();
    } else {
      exclusive_ok = false;
    }
  });
  th.join();
  mu.UnlockShared();
  EXPECT_TRUE(shared_ok);
  EXPECT_FALSE(exclusive_ok);
  {
    WriterLock w(&mu);
    bool reader_blocked = true;
    std::thread th2([&] {
      if (mu.TryLockShared()) {
        reader_blocked = false;
        mu.UnlockShared();
      }
    });
    th2.join();
    EXPECT_TRUE(reader_blocked);
  }
}

// --- Counter ---------------------------------------------------------------------------------

TEST(CounterConcurrencyTest, AddSubFromManyThreads) {
  constexpr int kOps = 50000;
  StatsGroup group("test");
  Counter adds(group, "adds", "only added to");
  Counter mixed(group, "mixed", "added and subtracted");
  std::atomic<bool> done{false};
  // A reader snapshots concurrently: reads are side-effect free and race-free.
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load(std::memory_order_relaxed)) {
      const uint64_t v = group.Get("adds");
      EXPECT_GE(v, last);  // monotonic for an add-only counter
      last = v;
      (void)group.Snapshot();
    }
  });
  RunConcurrently([&](int t) {
    for (int i = 0; i < kOps; ++i) {
      adds.Add();
      if (t % 2 == 0) {
        mixed.Add(3);
      } else {
        mixed.Sub(1);
      }
    }
  });
  done.store(true, std::memory_order_relaxed);
  reader.join();
  EXPECT_EQ(adds.value(), uint64_t{kThreads} * kOps);
  // Half the threads add 3, half subtract 1, per op.
  EXPECT_EQ(mixed.value(), uint64_t{kThreads / 2} * kOps * 2);
  EXPECT_EQ(group.Get("adds"), adds.value());
}

// --- CurrentPid ------------------------------------------------------------------------------

TEST(ProcessConcurrencyTest, CurrentPidFromManyThreads) {
  const pid_t want = getpid();
  std::atomic<int> wrong{0};
  RunConcurrently([&](int) {
    for (int i = 0; i < 1000; ++i) {
      if (CurrentPid() != want) wrong.fetch_add(1);
    }
  });
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace cocomem
