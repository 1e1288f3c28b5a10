#!/usr/bin/env bash
# The devnet_story CTest test: the README's first experience, checked.
#
#   tests/devnet/run_story.sh ONEBILLD ONEBILL WORKDIR
#
# Starts a devnet of three voters and the auditor's learner in WORKDIR/run (ONEBILL_DEVNET_DIR) on a free range of
# ports (ONEBILL_DEVNET_PORT_BASE, unless already set), runs devnet/scenario and checks its exit code and summary,
# kills and restarts one node and checks it catches up, then stops everything with devnet/down --purge (also on
# failure or interruption). On failure it prints the tail of every node's log.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ $# -eq 3 ]] || { echo "usage: $0 ONEBILLD ONEBILL WORKDIR" >&2; exit 2; }
export ONEBILLD=$1 ONEBILL=$2
work=$3
export ONEBILL_DEVNET_DIR="$work/run"
export ONEBILL_DEVNET_WAIT=${ONEBILL_DEVNET_WAIT:-120}
export NO_COLOR=1
unset ONEBILL_BIN_DIR ONEBILL_NODE ONEBILL_TOKEN ONEBILL_TOKEN_FILE ONEBILL_KEY ONEBILL_SIGNER

free_range() {  # every API and Raft port of a devnet at base $1 is free
  local b=$1 i
  for i in 1 2 3 4 5 6 101 102 103 104 105 106; do
    (exec 3<>"/dev/tcp/127.0.0.1/$((b + i))") 2>/dev/null && return 1
  done
  return 0
}
if [[ -z "${ONEBILL_DEVNET_PORT_BASE:-}" ]]; then
  # Below the ephemeral range (32768+) that the other tests' free ports come from; random, so two builds
  # running this test at once rarely pick the same range.
  for _ in $(seq 40); do
    base=$((20000 + (RANDOM % 120) * 100))
    if free_range "$base"; then export ONEBILL_DEVNET_PORT_BASE=$base; break; fi
  done
  [[ -n "${ONEBILL_DEVNET_PORT_BASE:-}" ]] || { echo "no free port range found" >&2; exit 1; }
fi

failed=0
fail() { echo "FAIL: $*"; failed=1; }
logs() {
  for f in "$ONEBILL_DEVNET_DIR"/nodes/*/node.log; do
    [[ -f "$f" ]] || continue
    echo "---- tail of $f"
    tail -n 30 "$f"
  done
}
cleanup() {
  ((failed)) && logs
  "$root/devnet/down" --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'fail "interrupted"; exit 1' INT TERM

mkdir -p "$work"
rm -rf "$ONEBILL_DEVNET_DIR"
echo "== devnet/up --voters 3 (dir $ONEBILL_DEVNET_DIR, port base $ONEBILL_DEVNET_PORT_BASE)"
"$root/devnet/up" --voters 3 || { fail "devnet/up"; exit 1; }

echo "== devnet/up again: leaves the running nodes alone"
again=$("$root/devnet/up" 2>&1) || { echo "$again"; fail "devnet/up on a running devnet"; exit 1; }
grep -q "every node was already running" <<<"$again" || { echo "$again"; fail "devnet/up restarted running nodes"; }

echo "== devnet/scenario"
"$root/devnet/scenario" | tee "$work/scenario.log"
rc=${PIPESTATUS[0]}
[[ $rc -eq 0 ]] || fail "devnet/scenario exited $rc"
grep -q '^SCENARIO OK$' "$work/scenario.log" || fail "no 'SCENARIO OK' line"
grep -q 'UNEXPECTED' "$work/scenario.log" && fail "an UNEXPECTED outcome"
summary=$(grep '^Story complete: ' "$work/scenario.log")
[[ "$summary" =~ ^Story\ complete:\ ([0-9]+)\ steps\ as\ expected\ \(([0-9]+)\ accepted,\ ([0-9]+)\ refused.*\ 0\ unexpected ]] ||
  fail "summary line: '$summary'"
steps=${BASH_REMATCH[1]:-0}
# Every numbered step line says ok, and the count matches the summary; the story has at least 39 steps.
step_lines=$(grep -cE '^ *[0-9]+  ' "$work/scenario.log")
ok_lines=$(grep -E '^ *[0-9]+  ' "$work/scenario.log" | grep -cE '  ok( |$)')
[[ "$step_lines" -eq "$steps" && "$ok_lines" -eq "$steps" && "$steps" -ge 39 ]] ||
  fail "steps: summary $steps, step lines $step_lines, ok lines $ok_lines"
for reason in customs_approval_required already_pledged pledged customs_not_released open_discrepancy; do
  grep -qE "rejected: $reason .* ok" "$work/scenario.log" || fail "no expected '$reason' refusal in the story"
done
grep -q 'ok: 4 nodes at height' "$work/scenario.log" || fail "the 4 nodes did not report one head"

echo "== devnet/status"
"$root/devnet/status" >"$work/status.log"
cat "$work/status.log"
[[ $(grep -c 'leader' "$work/status.log") -ge 2 ]] || fail "devnet/status shows no leader"

echo "== devnet/kill n2, devnet/start n2: it comes back and catches up"
"$root/devnet/kill" n2 || fail "devnet/kill n2"
st=$("$root/devnet/status")
grep -qE '^n2 +[a-z-]+ +down ' <<<"$st" || { echo "$st"; fail "devnet/status does not show n2 down"; }
"$root/devnet/scenario" >"$work/scenario2.log" 2>&1 || { cat "$work/scenario2.log"; fail "the story with n2 down"; }
"$root/devnet/start" n2 || fail "devnet/start n2"
# n2 must reach the others' head: one (height, header hash) across every node in devnet/status.
deadline=$((SECONDS + 60))
while :; do
  "$root/devnet/status" >"$work/status2.log"
  heads=$(awk 'NR > 1 && $3 != "down" { print $9, $10 }' "$work/status2.log" | sort -u)
  nodes_up=$(awk 'NR > 1 && $3 != "down" && $9 != "-"' "$work/status2.log" | wc -l)
  [[ $(wc -l <<<"$heads") -eq 1 && "$nodes_up" -eq 4 ]] && break
  ((SECONDS >= deadline)) && { cat "$work/status2.log"; fail "n2 did not catch up within 60 s"; break; }
  sleep 0.5
done
cat "$work/status2.log"

echo "== devnet/down --purge"
pids=$(cat "$ONEBILL_DEVNET_DIR"/nodes/*/pid 2>/dev/null)
"$root/devnet/down" --purge || fail "devnet/down --purge"
[[ ! -e "$ONEBILL_DEVNET_DIR" ]] || fail "devnet/down --purge left $ONEBILL_DEVNET_DIR"
for pid in $pids; do kill -0 "$pid" 2>/dev/null && fail "node pid $pid still running after devnet/down"; done

if ((failed)); then echo "devnet_story: FAILED"; exit 1; fi
echo "devnet_story: passed"
