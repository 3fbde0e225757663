# cocomem — the two commands of the README, plus helpers.
#   make test   install missing Debian packages, build (dev: ASan+UBSan), run every test,
#               then build the concurrency tests with ThreadSanitizer and run them.
#   make demo   install missing Debian packages, build release, run the TD lifecycle of
#               examples/td-boot.yaml and write its memory picture (HTML).
.PHONY: all deps test demo bench format clean

all: test

deps:
	@scripts/install-deps.sh

test: deps
	cmake --preset dev
	cmake --build --preset dev
	ctest --preset dev
	cmake --preset tsan
	cmake --build --preset tsan --target concurrency_tests
	ctest --preset tsan

DEMO_HTML := build/release/td-boot.html

demo: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target cocomem
	./build/release/src/cli/cocomem run examples/td-boot.yaml --html $(DEMO_HTML)
	@echo "memory picture: file://$(abspath $(DEMO_HTML))"

bench: deps
	cmake --preset release >/dev/null
	cmake --build --preset release
	for b in build/release/bench/*_bench; do $$b; done

format:
	clang-format -i $$(git ls-files '*.h' '*.cc' '*.c' '*.hpp')

clean:
	rm -rf build
