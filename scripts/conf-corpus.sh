#!/usr/bin/env bash
# Runs `webserv check --format short` over every file of a config corpus and fails unless
# each one exits 0 or 1 within 10 s (never 2, 3, a crash or a timeout), and each file that
# exits 1 printed at least one positioned `file:line:col:` diagnostic.
#
#   WEBSERV=target/release/webserv CORPUS=../shared/conf-corpus scripts/conf-corpus.sh
set -uo pipefail

WEBSERV=${WEBSERV:-target/debug/webserv}
CORPUS=${CORPUS:-../shared/conf-corpus}

if [ ! -x "$WEBSERV" ]; then
    echo "no executable at $WEBSERV (build it, or set WEBSERV)" >&2
    exit 2
fi
if [ ! -d "$CORPUS" ]; then
    echo "no corpus directory at $CORPUS (set CORPUS)" >&2
    exit 2
fi

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

while IFS= read -r -d '' f; do
    timeout 10 "$WEBSERV" check --format short "$f" >"$out" 2>&1 </dev/null
    code=$?
    why=""
    case $code in
    0) ;;
    1)
        # A positioned diagnostic: the path, then `:line:col: `.
        if ! grep -qF -- "$f:" "$out" || ! grep -qE ':[0-9]+:[0-9]+: (error|warning)\[' "$out"; then
            why="exit 1 without a file:line:col: diagnostic"
        fi
        ;;
    124) why="timeout (10 s)" ;;
    *) why="exit $code" ;;
    esac
    if [ -z "$why" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $f: $why"
        sed 's/^/    /' "$out" | head -5
    fi
done < <(find "$CORPUS" -type f -print0 | sort -z)

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
