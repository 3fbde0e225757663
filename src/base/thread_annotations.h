// Clang thread-safety analysis attributes (no-ops for other compilers).
#pragma once

#if defined(__clang__)
#define CCM_TSA(x) __attribute__((x))
#else
#define CCM_TSA(x)
#endif

#define CAPABILITY(x) CCM_TSA(capability(x))
#define SCOPED_CAPABILITY CCM_TSA(scoped_lockable)
#define GUARDED_BY(x) CCM_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CCM_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CCM_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CCM_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) CCM_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CCM_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) CCM_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CCM_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CCM_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CCM_TSA(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) CCM_TSA(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) CCM_TSA(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) CCM_TSA(try_acquire_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) CCM_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) CCM_TSA(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) CCM_TSA(assert_shared_capability(x))
#define RETURN_CAPABILITY(x) CCM_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS CCM_TSA(no_thread_safety_analysis)
