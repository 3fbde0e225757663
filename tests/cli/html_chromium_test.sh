#!/usr/bin/env bash
# Renders `cocomem run --html` in headless Chromium: the screenshot must be produced, the
# page's script must have run (it marks <body data-ready="1">) and the console must show
# no errors (the page logs nothing, so any console message fails). Skips (exit 77) when
# Chromium is not installed.
set -uo pipefail
cocomem="$1"; scenario="$2"; out="$3"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (scripts/install-deps.sh installs Debian's chromium)"
  exit 77
fi
mkdir -p "$out"
rm -f "$out/page.html" "$out/page.png"
COCOMEM_ARENA_SIZE=8G "$cocomem" run "$scenario" -q --no-progress --html "$out/page.html" || { echo "cocomem run failed"; exit 1; }
flags=(--headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions
       --user-data-dir="$out/profile" --enable-logging=stderr --v=0 --window-size=1200,800)
timeout 120 "$browser" "${flags[@]}" --screenshot="$out/page.png" "file://$out/page.html" >"$out/shot.log" 2>&1
if [ ! -s "$out/page.png" ]; then
  echo "no screenshot was produced"; cat "$out/shot.log"; exit 1
fi
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$out/page.html" >"$out/dom.html" 2>"$out/dom.log"
if ! grep -q 'data-ready="1"' "$out/dom.html"; then
  echo "the page's script did not run to its end"; cat "$out/dom.log"; exit 1
fi
if grep -hE ':CONSOLE[:(]|Uncaught ' "$out/shot.log" "$out/dom.log"; then
  echo "console errors (above)"; exit 1
fi
echo "ok: $(stat -c %s "$out/page.png") byte screenshot, script ran, no console errors"
