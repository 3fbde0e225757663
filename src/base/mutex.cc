#include "base/mutex.h"

#include "base/check.h"

namespace cocomem {

SharedMutex::SharedMutex() {
  pthread_rwlockattr_t attr;
  CHECK(pthread_rwlockattr_init(&attr) == 0);
  CHECK(pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) == 0);
  CHECK(pthread_rwlock_init(&rw_, &attr) == 0);
  pthread_rwlockattr_destroy(&attr);
}

SharedMutex::~SharedMutex() { pthread_rwlock_destroy(&rw_); }

void SharedMutex::Lock() { CHECK(pthread_rwlock_wrlock(&rw_) == 0); }
void SharedMutex::Unlock() { CHECK(pthread_rwlock_unlock(&rw_) == 0); }
bool SharedMutex::TryLock() { return pthread_rwlock_trywrlock(&rw_) == 0; }
void SharedMutex::LockShared() { CHECK(pthread_rwlock_rdlock(&rw_) == 0); }
void SharedMutex::UnlockShared() { CHECK(pthread_rwlock_unlock(&rw_) == 0); }
bool SharedMutex::TryLockShared() { return pthread_rwlock_tryrdlock(&rw_) == 0; }

}  // namespace cocomem
