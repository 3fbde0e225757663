#include "base/file.h"

#include <linux/falloc.h>

#include <cstring>

namespace cocomem {

Status File::Stat(struct stat* st) const {
  std::memset(st, 0, sizeof(*st));
  st->st_mode = S_IRUSR | S_IWUSR;  // anon inode: no file type bits
  st->st_nlink = 1;
  st->st_blksize = 4096;
  return Ok();
}

Status VfsFallocateChecks(int mode, off_t offset, off_t len) {
  if (offset < 0 || len <= 0) return Error(EINVAL);
  constexpr int kModeMask = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE |
                            FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE |
                            FALLOC_FL_UNSHARE_RANGE | 0x80 /* FALLOC_FL_WRITE_ZEROES */;
  if (mode & ~(kModeMask | FALLOC_FL_KEEP_SIZE)) return Error(EOPNOTSUPP);
  switch (mode & kModeMask) {
    case 0:  // allocate
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      break;
    case FALLOC_FL_PUNCH_HOLE:
      if (!(mode & FALLOC_FL_KEEP_SIZE)) return Error(EOPNOTSUPP);
      break;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case 0x80:
      if (mode & FALLOC_FL_KEEP_SIZE) return Error(EOPNOTSUPP);
      break;
    default:  // more than one mode
      return Error(EOPNOTSUPP);
  }
  return Ok();
}

}  // namespace cocomem
