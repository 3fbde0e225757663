#include "kvm/params.h"

#include <cerrno>

namespace cocomem::kvm {

Result<bool> ParseKernelBool(std::string_view v) {
  // Exactly kstrtobool: the first character decides ('o' looks at the second).
  if (v.empty()) return Error(EINVAL);
  switch (v[0]) {
    case 'y': case 'Y': case 't': case 'T': case '1':
      return true;
    case 'n': case 'N': case 'f': case 'F': case '0':
      return false;
    case 'o': case 'O':
      if (v.size() > 1) {
        if (v[1] == 'n' || v[1] == 'N') return true;
        if (v[1] == 'f' || v[1] == 'F') return false;
      }
      break;
    default:
      break;
  }
  return Error(EINVAL);
}

Status Params::Set(std::string_view name, std::string_view value) {
  if (name == "gmem_in_place_conversion") {
    ASSIGN_OR_RETURN(gmem_in_place_conversion, ParseKernelBool(value));
    return Ok();
  }
  return Error(ENOENT);
}

std::vector<std::pair<std::string, std::string>> Params::List() const {
  return {{"gmem_in_place_conversion", gmem_in_place_conversion ? "Y" : "N"}};
}

}  // namespace cocomem::kvm
