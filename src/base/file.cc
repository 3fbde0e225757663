#include "base/file.h"

#include <cstring>

namespace cocomem {

Status File::Stat(struct stat* st) const {
  std::memset(st, 0, sizeof(*st));
  st->st_mode = S_IRUSR | S_IWUSR;  // anon inode: no file type bits
  st->st_nlink = 1;
  st->st_blksize = 4096;
  return Ok();
}

}  // namespace cocomem
