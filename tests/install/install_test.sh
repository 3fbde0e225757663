#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds programs against the
# installed copy: a C program with pkg-config, and a C++ one with find_package(cocomem).
# usage: install_test.sh BUILD_DIR SOURCE_DIR C_COMPILER CXX_COMPILER [EXTRA_FLAGS...]
set -euo pipefail
build=$1 src=$2 cc=$3 cxx=$4
shift 4
extra=("$@")

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null

pc=$(find "$prefix" -name cocomem.pc)
test -n "$pc" || { echo "cocomem.pc not installed"; exit 1; }
test -x "$prefix/bin/cocomem" || { echo "cocomem tool not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
export COCOMEM_ARENA_SIZE=4G COCOMEM_BACKEND=emu

# shellcheck disable=SC2046
"$cc" "${extra[@]}" -std=c11 -Wall -Wextra -Werror "$src/prog.c" \
  $(pkg-config --cflags --libs cocomem) -o "$prefix/prog"
out=$("$prefix/prog")
echo "pkg-config C program: $out"
[ "$out" = "backend=emu vm_types=0x23" ] || { echo "unexpected output"; exit 1; }

flags="${extra[*]}"
cmake -S "$src/cmake_consumer" -B "$prefix/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer"
"$prefix/consumer/consumer_static"
echo "find_package(cocomem) C++ programs (shared and static): ok"
