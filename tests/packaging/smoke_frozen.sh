#!/usr/bin/env bash
# Smoke check of the packaged app, run outside any virtual environment:
# three first runs on fresh homes analyse (both passes) every file with two workers; CLI
# scan -> train -> recommend gives five tracks, find answers; the GUI plays and fills
# up-next.
# Usage: tests/packaging/smoke_frozen.sh [path/to/encore-executable]
set -euo pipefail
APP=$(realpath "${1:-dist/encore/encore}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A bare environment: no venv, no PYTHONPATH, no caches, offscreen Qt.
run() { env -i HOME="${RUN_HOME:-$WORK/home}" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen "$APP" "$@"; }

if find "$(dirname "$APP")" -iname '*numba*' -o -iname '*llvmlite*' | grep -q .; then
    echo "smoke: the app bundles numba or llvmlite: analysis must run no JIT code" >&2
    exit 1
fi
run demo "$WORK/music" --per-style 4 --seconds 15
for n in 1 2 3; do  # a new user each time: empty HOME, no cache, the default state folder
    mkdir "$WORK/user$n"
    out=$(RUN_HOME="$WORK/user$n" run scan "$WORK/music" --workers 2)
    if ! grep -q "20 analysed, 0 failed" <<<"$out" || ! grep -q "20 embedded, 0 failed" <<<"$out"; then
        echo "smoke: first run $n on a fresh home: $out" >&2
        exit 1
    fi
done
echo "smoke: three first runs on fresh homes analysed and embedded all 20 files with 2 workers"
run --home "$WORK/state" scan "$WORK/music"
run --home "$WORK/state" train
run --home "$WORK/state" recommend 1 --json > "$WORK/recs.json"
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))[0]["recommendations"]))' "$WORK/recs.json")
if [ "$count" != 5 ]; then
    echo "smoke: expected 5 recommendations, got $count" >&2
    exit 1
fi
echo "smoke: CLI scan, train and recommend gave 5 recommendations"
run --home "$WORK/state" find calm ambient -n 3 > "$WORK/find.txt" || { cat "$WORK/find.txt" >&2; exit 1; }
echo "smoke: find (the network's tags) answered: $(head -1 "$WORK/find.txt")"
run --home "$WORK/state" --self-check 2>"$WORK/gui.log" || { tail -20 "$WORK/gui.log" >&2; exit 1; }
echo "smoke: packaged app at $(dirname "$APP") is $(du -sh "$(dirname "$APP")" | cut -f1)"
