// Annotated locks. Lock order across the project lives in docs/design/locking.md.
#pragma once

#include <pthread.h>

#include <mutex>

#include "base/thread_annotations.h"

namespace cocomem {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { m_.lock(); }
  void Unlock() RELEASE() { m_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return m_.try_lock(); }
  // Tells the analysis a caller-held lock is held (e.g. in callbacks it cannot see through).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  std::mutex m_;
};

// Reader/writer lock: shared for lookups and installs, exclusive for changes.
//
// Writers are preferred (glibc's default lets a stream of readers starve a writer), like
// the kernel's rwsem/rwlock: a zap waiting for mmu_lock must not wait for every fault.
class CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex();
  ~SharedMutex();
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE();
  void Unlock() RELEASE();
  bool TryLock() TRY_ACQUIRE(true);
  void LockShared() ACQUIRE_SHARED();
  void UnlockShared() RELEASE_SHARED();
  bool TryLockShared() TRY_ACQUIRE_SHARED(true);
  void AssertHeld() const ASSERT_CAPABILITY(this) {}
  void AssertReaderHeld() const ASSERT_SHARED_CAPABILITY(this) {}

 private:
  pthread_rwlock_t rw_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() RELEASE() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* const mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* const mu_;
};

}  // namespace cocomem
