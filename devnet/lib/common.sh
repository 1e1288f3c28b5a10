# shellcheck shell=bash
# Shared by the devnet scripts (sourced, not run). Bash 4+, coreutils, curl; no jq, no python.
#
# Environment (all optional):
#   ONEBILL_DEVNET_DIR        where the devnet lives (default: devnet/run in the repository)
#   ONEBILL_DEVNET_PORT_BASE  API ports are BASE+1..BASE+6, Raft ports BASE+101..BASE+106 (default 7100)
#   ONEBILL_BIN_DIR           use the binaries found there instead of building: a folder holding onebilld and
#                             onebill, or a CMake build folder (node/onebilld, clients/onebill)
#   ONEBILLD, ONEBILL         exact paths of the two binaries (win over ONEBILL_BIN_DIR)
#   ONEBILL_DEVNET_WAIT       seconds to wait for nodes to become ready (default 60)

devnet_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEVNET_DIR=${ONEBILL_DEVNET_DIR:-$devnet_root/devnet/run}
# Absolute, so node configs and pid files stay valid whatever the caller's working directory.
case "$DEVNET_DIR" in /*) ;; *) DEVNET_DIR="$PWD/$DEVNET_DIR" ;; esac
DEVNET_ENV="$DEVNET_DIR/devnet.env"
WAIT_SECONDS=${ONEBILL_DEVNET_WAIT:-60}

# ---- output ----
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  c_ok=$'\e[32m' c_bad=$'\e[31m' c_dim=$'\e[2m' c_bold=$'\e[1m' c_off=$'\e[0m'
else
  c_ok='' c_bad='' c_dim='' c_bold='' c_off=''
fi
# The script's leading comment block, for --help.
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
die() { echo "${DEVNET_TOOL:-devnet}: $*" >&2; exit 1; }
note() { echo "${DEVNET_TOOL:-devnet}: $*"; }

# ---- the organisations and nodes of the devnet ----
# id | name | roles | locations | home node (a node id; orgs without a node of their own are hosted there)
DEVNET_ORGS=(
  "crct|China-Europe Railway Express operator (MTO)|mto,rail_carrier||n1"
  "tjport|Tianjin Port terminal|port|CNTSN|n2"
  "tjcustoms|Tianjin Customs|customs||n3"
  "icbc-tj|ICBC Tianjin branch|bank||n4"
  "dongjiang-bw|Dongjiang bonded port warehouse|warehouse||n5"
  "auditor|Independent auditor|auditor||l1"
  "cosco|COSCO Shipping Lines|sea_carrier||n2"
  "busan-export|Busan exporter (shipper)|trader||n1"
  "eurotrade|EuroTrade (trader financing the cargo)|trader||n4"
  "duisport-trade|Duisburg importer (consignee)|trader||n5"
  "boc-tj|Bank of China Tianjin branch|bank||n4"
  "de-customs|German customs at Duisburg|customs||n3"
)
# Voting nodes in order (n1..n5) with their organisations; the learner l1 is the auditor's.
DEVNET_VOTER_ORGS=(crct tjport tjcustoms icbc-tj dongjiang-bw)

org_field() {  # org_field ORG FIELD(1..5)
  local line
  for line in "${DEVNET_ORGS[@]}" "${DEVNET_EXTRA_ORGS[@]}"; do
    [[ "${line%%|*}" == "$1" ]] && { cut -d'|' -f"$2" <<<"$line"; return 0; }
  done
  return 1
}

# Extra organisations (devnet/up --orgs N): traders extra01..extraN, hosted round-robin on the voters.
DEVNET_EXTRA_ORGS=()
define_extra_orgs() {
  local n=$1 i
  DEVNET_EXTRA_ORGS=()
  for ((i = 1; i <= n; i++)); do
    DEVNET_EXTRA_ORGS+=("$(printf 'extra%02d|Extra trader %d|trader||n%d' "$i" "$i" $(((i - 1) % 5 + 1)))")
  done
}
all_orgs() {
  local line
  for line in "${DEVNET_ORGS[@]}" "${DEVNET_EXTRA_ORGS[@]}"; do echo "${line%%|*}"; done
}

# Node ids present in this devnet (voters n1..nV, then l1).
node_ids() {
  local i
  for ((i = 1; i <= VOTERS; i++)); do echo "n$i"; done
  echo "l1"
}
node_index() { [[ "$1" == l1 ]] && echo 6 || echo "${1#n}"; }
node_org() { [[ "$1" == l1 ]] && echo auditor || echo "${DEVNET_VOTER_ORGS[$(($(node_index "$1") - 1))]}"; }
node_role() { [[ "$1" == l1 ]] && echo learner || echo voter; }
api_port() { echo $((PORT_BASE + $(node_index "$1"))); }
raft_port() { echo $((PORT_BASE + 100 + $(node_index "$1"))); }
api_url() { echo "http://127.0.0.1:$(api_port "$1")"; }
node_dir() { echo "$DEVNET_DIR/nodes/$1"; }
org_dir() { echo "$DEVNET_DIR/orgs/$1"; }

# The node an organisation uses: its home node if this devnet has it, else a voter chosen round-robin.
host_node() {
  local home
  home=$(org_field "$1" 5) || return 1
  if [[ "$home" == l1 ]]; then echo l1; return; fi
  local i=${home#n}
  if ((i > VOTERS)); then i=$(((i - 1) % VOTERS + 1)); fi
  echo "n$i"
}

# ---- settings of an existing devnet ----
load_settings() {
  [[ -f "$DEVNET_ENV" ]] || die "no devnet in $DEVNET_DIR (start one with devnet/up)"
  # shellcheck disable=SC1090
  source "$DEVNET_ENV"
  define_extra_orgs "${EXTRA_ORGS:-0}"
  resolve_binaries_from_env
}
have_devnet() { [[ -f "$DEVNET_ENV" ]]; }

# ---- binaries ----
# Sets ONEBILLD and ONEBILL from the environment (ONEBILLD/ONEBILL, then ONEBILL_BIN_DIR); returns 1 if neither
# says anything.
binaries_from_bin_dir() {
  local d=${ONEBILL_BIN_DIR:-}
  if [[ -n "${ONEBILLD_OVERRIDE:-}" ]]; then ONEBILLD=$ONEBILLD_OVERRIDE; fi
  if [[ -n "${ONEBILL_OVERRIDE:-}" ]]; then ONEBILL=$ONEBILL_OVERRIDE; fi
  if [[ -n "$d" ]]; then
    [[ -d "$d" ]] || die "ONEBILL_BIN_DIR=$d is not a folder"
    d=$(cd "$d" && pwd)
    if [[ -z "${ONEBILLD_OVERRIDE:-}" ]]; then
      if [[ -x "$d/onebilld" ]]; then ONEBILLD="$d/onebilld"; else ONEBILLD="$d/node/onebilld"; fi
    fi
    if [[ -z "${ONEBILL_OVERRIDE:-}" ]]; then
      if [[ -x "$d/onebill" ]]; then ONEBILL="$d/onebill"; else ONEBILL="$d/clients/onebill"; fi
    fi
  fi
  [[ -n "${ONEBILL_BIN_DIR:-}${ONEBILLD_OVERRIDE:-}${ONEBILL_OVERRIDE:-}" ]]
}
# After load_settings: the environment wins over what devnet.env recorded.
resolve_binaries_from_env() {
  binaries_from_bin_dir || true
  check_binaries
}
check_binaries() {
  [[ -x "${ONEBILLD:-}" ]] || die "onebilld not found at '${ONEBILLD:-}' (build it, or set ONEBILL_BIN_DIR)"
  [[ -x "${ONEBILL:-}" ]] || die "onebill not found at '${ONEBILL:-}' (build it, or set ONEBILL_BIN_DIR)"
}
# Remember explicit paths given by the caller before anything overwrites ONEBILLD/ONEBILL.
ONEBILLD_OVERRIDE=${ONEBILLD:-}
ONEBILL_OVERRIDE=${ONEBILL:-}

# ---- JSON without jq: the value of a top-level key of one JSON object (strings unquoted, objects/arrays raw) ----
json_get() {  # json_get KEY < json
  awk -v want="$1" '
    BEGIN { RS = "\001" }
    {
      s = $0; n = length(s); depth = 0; i = 1; key = ""; expect_key = 0
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\"") {
          j = i + 1; str = ""
          while (j <= n) {
            d = substr(s, j, 1)
            if (d == "\\") { str = str substr(s, j, 2); j += 2; continue }
            if (d == "\"") break
            str = str d; j++
          }
          if (depth == 1 && expect_key) { key = str; expect_key = 0; i = j + 1; continue }
          if (depth == 1 && key == want) { print str; exit 0 }
          i = j + 1; continue
        }
        if (c == "{" || c == "[") {
          if (depth == 1 && key == want) { start = i; d0 = depth }
          depth++
          if (depth == 1) expect_key = 1
          i++; continue
        }
        if (c == "}" || c == "]") {
          depth--
          if (depth == 1 && key == want && start) { print substr(s, start, i - start + 1); exit 0 }
          i++; continue
        }
        if (c == "," && depth == 1) { expect_key = 1; key = ""; i++; continue }
        if (depth == 1 && key == want && c ~ /[-0-9a-z]/) {
          j = i
          while (j <= n && substr(s, j, 1) ~ /[-+.0-9a-zA-Z]/) j++
          print substr(s, i, j - i); exit 0
        }
        i++
      }
      exit 1
    }'
}

# ---- processes ----
node_pid() {  # the pid of a running node, or nothing
  local f pid cmd
  f="$(node_dir "$1")/pid"
  [[ -f "$f" ]] || return 1
  pid=$(<"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be an onebilld with this node's config.
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *onebilld*" $(node_dir "$1")/config.json"* ]] || return 1
  echo "$pid"
}
http_code() {  # http_code URL -> status code (000 when nothing answers)
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}
port_in_use() {  # something listens on 127.0.0.1:PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
start_node() {  # start_node NODE: starts it in the background (nohup), pid in nodes/NODE/pid
  local n=$1 dir pid p
  dir=$(node_dir "$n")
  [[ -f "$dir/config.json" ]] || die "no node $n in $DEVNET_DIR"
  if pid=$(node_pid "$n"); then note "$n is already running (pid $pid)"; return 0; fi
  for p in "$(api_port "$n")" "$(raft_port "$n")"; do
    if port_in_use "$p"; then
      die "port $p (for $n) is taken by another process; stop it, or use another ONEBILL_DEVNET_PORT_BASE with a fresh ONEBILL_DEVNET_DIR"
    fi
  done
  (cd "$dir" && exec nohup "$ONEBILLD" --config "$dir/config.json" >>"$dir/node.log" 2>&1 </dev/null) &
  echo $! >"$dir/pid"
}
# Waits until every named node answers /readyz 200; prints a dot per second. Fails naming the laggards.
wait_ready() {
  local deadline=$((SECONDS + WAIT_SECONDS)) n left
  while :; do
    left=()
    for n in "$@"; do
      [[ "$(http_code "$(api_url "$n")/readyz")" == 200 ]] || left+=("$n")
    done
    ((${#left[@]} == 0)) && return 0
    for n in "${left[@]}"; do
      if ! node_pid "$n" >/dev/null; then
        local hint=""
        # A devnet made by an older onebilld: its data cannot be read by this one (no migration before a release).
        grep -q "storage format" "$(node_dir "$n")/node.log" 2>/dev/null &&
          hint="
this devnet was made by an older onebilld; start a new one: devnet/down --purge, then devnet/up again"
        echo >&2
        die "$n exited; see $(node_dir "$n")/node.log:
$(tail -n 5 "$(node_dir "$n")/node.log" 2>/dev/null)$hint"
      fi
    done
    if ((SECONDS >= deadline)); then
      echo >&2
      die "not ready after ${WAIT_SECONDS}s: ${left[*]} (see their node.log under $DEVNET_DIR/nodes/)"
    fi
    sleep 0.5
  done
}
