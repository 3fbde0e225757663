/* cocomem C facade: libc-shaped calls that reach either the emulator or the host kernel.
 *
 * Every function returns what its libc namesake returns: -1 (MAP_FAILED for ccm_mmap)
 * with errno set on failure. The backend is chosen once per process by the environment
 * variable COCOMEM_BACKEND: "emu" (default) or "host" (the real syscalls, unchanged).
 *
 * In the emulator, "/dev/kvm" and every fd derived from it (VMs, guest_memfds, vCPUs) are
 * emulated objects behind real file descriptors; any other path or fd is passed through
 * to the host, so a VMM can route all its calls through this facade.
 */
#ifndef COCOMEM_SYS_H
#define COCOMEM_SYS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

int ccm_open(const char *path, int flags, ...);
int ccm_close(int fd);
int ccm_ioctl(int fd, unsigned long request, ...);
int ccm_fallocate(int fd, int mode, off_t offset, off_t len);
void *ccm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
int ccm_munmap(void *addr, size_t len);
int ccm_madvise(void *addr, size_t len, int advice);
ssize_t ccm_read(int fd, void *buf, size_t count);
ssize_t ccm_write(int fd, const void *buf, size_t count);
ssize_t ccm_pread(int fd, void *buf, size_t count, off_t offset);
ssize_t ccm_pwrite(int fd, const void *buf, size_t count, off_t offset);
int ccm_ftruncate(int fd, off_t len);
int ccm_fstat(int fd, struct stat *st);

/* KVM module parameters (e.g. "gmem_in_place_conversion"); they apply to VMs created
 * later. ENOENT for an unknown parameter, EINVAL for a bad value. On the host backend this
 * writes /sys/module/kvm/parameters/NAME (read-only parameters fail unless unchanged). */
int ccm_set_param(const char *name, const char *value);

/* Emulated long-term GUP pin (FOLL_LONGTERM) of npages pages starting at the page-aligned
 * addr, as a device or vfio would take; unpin drops them. EFAULT for unmapped memory,
 * EINVAL for unaligned addresses or unpinning pages that are not pinned. */
int ccm_pin_user_pages(void *addr, size_t npages);
int ccm_unpin_user_pages(void *addr, size_t npages);

/* Memory failure on a guest_memfd page that may not be mapped (like MADV_HWPOISON on a
 * mapping of it). EBADF for a bad fd, EINVAL if fd is not a guest_memfd. */
int ccm_inject_memory_failure(int gmem_fd, off_t offset);

/* Which backend this process uses: "emu" or "host" (NULL if COCOMEM_BACKEND is invalid). */
const char *ccm_backend_name(void);

#ifdef __cplusplus
}
#endif

#endif /* COCOMEM_SYS_H */
