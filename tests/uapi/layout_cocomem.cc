// The layout table as cocomem's own (C++) code sees <cocomem/kvm.h>.
#include <cocomem/kvm.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>

#include "layout_table.h"

#define UAPI_SIZE(type) {"sizeof(" #type ")", sizeof(struct type)},
#define UAPI_OFFSET(type, member) \
  {"offsetof(" #type "." #member ")", offsetof(struct type, member)},
#define UAPI_FIELD(type, member)                             \
  UAPI_OFFSET(type, member){"sizeof(" #type "." #member ")", \
                            sizeof(std::declval<struct type&>().member)},
#define UAPI_CONST(name) {#name, static_cast<std::uint64_t>(name)},

extern "C" const ccm_uapi_layout_entry ccm_uapi_cocomem_layout[] = {
#include "layout_list.inc"
};
extern "C" const std::size_t ccm_uapi_cocomem_layout_count = std::size(ccm_uapi_cocomem_layout);
