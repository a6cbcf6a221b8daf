# shellcheck shell=bash
# Helpers shared by scripts/test and scripts/demo: phase timing, Debian packages, the
# project's virtualenv, and the sandbox (Asterisk + SIPp). Sourced, never run:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# The caller sets LIB_NAME (the prefix of its messages) and runs with `set -euo pipefail`.
#
# Environment:
#   GATEWAY_PYTHON  the Python (3.11+) that creates .venv (default: python3 on PATH)

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO_DIR/.venv"
LIB_NAME=${LIB_NAME:-scripts}

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1

say() { printf '%s: %s\n' "$LIB_NAME" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$LIB_NAME" "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
# Phases and their timings: phase NAME starts one (ending the previous), phase_end ends the
# current one, phase_report prints them all (call it from an EXIT trap).

PHASE_NAMES=()
PHASE_SECONDS=()
PHASE_RESULT=()
_PHASE_NAME=""
_PHASE_START=0

_now() { date +%s.%N; }

_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

phase() {
    phase_end ok
    _PHASE_NAME=$1
    _PHASE_START=$(_now)
    printf '\n%s: ==> %s\n' "$LIB_NAME" "$_PHASE_NAME" >&2
}

# phase_end [ok|FAILED|...]: ends the current phase, if any.
phase_end() {
    local result=${1:-ok} seconds
    [[ -n $_PHASE_NAME ]] || return 0
    seconds=$(_elapsed "$_PHASE_START" "$(_now)")
    PHASE_NAMES+=("$_PHASE_NAME")
    PHASE_SECONDS+=("$seconds")
    PHASE_RESULT+=("$result")
    printf '%s: <== %s: %s s (%s)\n' "$LIB_NAME" "$_PHASE_NAME" "$seconds" "$result" >&2
    _PHASE_NAME=""
}

phase_report() {
    local i total=0
    ((${#PHASE_NAMES[@]})) || return 0
    printf '\n%s: timings\n' "$LIB_NAME" >&2
    for i in "${!PHASE_NAMES[@]}"; do
        printf '  %-40s %7s s  %s\n' "${PHASE_NAMES[$i]}" "${PHASE_SECONDS[$i]}" \
            "${PHASE_RESULT[$i]}" >&2
        total=$(awk -v a="$total" -v b="${PHASE_SECONDS[$i]}" 'BEGIN { print a + b }')
    done
    printf '  %-40s %7.1f s\n' "total" "$total" >&2
}

# ---------------------------------------------------------------------------------------
# Debian packages

_APT_UPDATED=0

deb_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# ensure_debs PACKAGE...: installs those not installed yet (apt-get update once, first).
ensure_debs() {
    local missing=() pkg
    if ! command -v dpkg-query >/dev/null; then
        say "not a Debian system: not installing $* (install them yourself)"
        return 0
    fi
    for pkg in "$@"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "Debian packages missing: ${missing[*]} (run as root, or install them)"
    say "installing Debian packages: ${missing[*]}"
    if ((!_APT_UPDATED)); then
        apt-get update -q </dev/null >&2
        _APT_UPDATED=1
    fi
    apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null >&2
}

# The Debian packages the gateway and the sandbox need on the host, for the demo and the
# tests alike. (scripts/sandbox installs debootstrap, sip-tester, espeak-ng and sox itself;
# listing them here only puts every apt-get install in one phase.)
# shellcheck disable=SC2034 # used by the scripts that source this file
BASE_DEBS=(ca-certificates python3 python3-venv debootstrap sip-tester util-linux espeak-ng sox)

# ---------------------------------------------------------------------------------------
# The virtualenv

_python() {
    local python=${GATEWAY_PYTHON:-python3}
    command -v "$python" >/dev/null || die "no $python on PATH"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is $("$python" --version 2>&1); the gateway needs Python 3.11 or later"
    printf '%s' "$python"
}

# ensure_venv [EXTRAS]: .venv exists, works, and has the project installed in editable
# mode with those extras (e.g. "test"). Skips pip when pyproject.toml has not changed since
# the last install with the same extras.
ensure_venv() {
    local extras=${1:-} python spec stamp digest current done_stamp
    if [[ -x $VENV/bin/python ]] &&
        ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "$VENV is broken or too old: recreating it"
        rm -rf "$VENV"
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        python=$(_python)
        say "creating $VENV with $("$python" --version 2>&1)"
        "$python" -m venv "$VENV" || die "python -m venv failed (Debian: apt-get install python3-venv)"
    fi
    spec=$REPO_DIR${extras:+[$extras]}
    stamp="$VENV/.campaign-gateway-installed${extras:+-$extras}"
    digest=$(sha256sum "$REPO_DIR/pyproject.toml" | cut -d' ' -f1)
    current=0
    for done_stamp in "$stamp" "$VENV"/.campaign-gateway-installed-*; do
        # Without extras, an install with any extras is as good.
        if [[ (-z $extras || $done_stamp == "$stamp") && -f $done_stamp &&
            $(<"$done_stamp") == "$digest" ]]; then
            current=1
        fi
    done
    if ((current)) && "$VENV/bin/python" -c 'import gateway' 2>/dev/null; then
        say "$VENV is up to date (pip install -e '.${extras:+[$extras]}' already done)"
        return 0
    fi
    say "pip install -e '.${extras:+[$extras]}' into $VENV (log: $VENV/pip.log)"
    if ! {
        "$VENV/bin/python" -m pip install --upgrade pip &&
            "$VENV/bin/python" -m pip install -e "$spec"
    } </dev/null >"$VENV/pip.log" 2>&1; then
        tail -n 40 "$VENV/pip.log" >&2
        die "pip install failed (log: $VENV/pip.log)"
    fi
    printf '%s\n' "$digest" >"$stamp"
}

# ---------------------------------------------------------------------------------------
# The sandbox: started here and stopped at exit, unless it was already running (then it is
# someone else's, e.g. a developer's own test session, and stays as it was). A sandbox
# that ran with node a only gets node b too when two nodes are asked for: that node alone
# is stopped again at exit.

SANDBOX_STARTED=0   # started the sandbox: stop it all at exit
SANDBOX_STARTED_B=0 # started only node b of a sandbox that ran: stop that node at exit

# sandbox_start [NODES]: NODES 1 (default; node a) or 2 (nodes a and b), and SIPp; exports
# the GATEWAY_AMI_* lines of `scripts/sandbox start` (node a's [ami] settings and each
# node's GATEWAY_AMI_SECRET_<ID>), skipping its commented [[asterisk_nodes]] tables.
# shellcheck disable=SC2120 # NODES is optional: scripts/demo passes none
sandbox_start() {
    local nodes=${1:-1} lines line status
    [[ $(id -u) -eq 0 ]] || die "the sandbox needs root (debootstrap, chroot, mount)"
    if status=$("$REPO_DIR/scripts/sandbox" status 2>/dev/null); then
        say "the sandbox already runs: using it, and leaving it running"
        if ((nodes >= 2)) && [[ $status != *"asterisk-b: running"* ]]; then
            say "starting its node b, and stopping that node again at exit"
            SANDBOX_STARTED_B=1
        fi
    elif [[ $status == *"asterisk-b: running"* ]]; then
        # Node b runs without node a or SIPp: someone else's; never stopped here.
        say "the sandbox's node b already runs: starting the rest, and leaving it all running"
    else
        SANDBOX_STARTED=1
    fi
    lines=$("$REPO_DIR/scripts/sandbox" start --nodes "$nodes" </dev/null) ||
        die "scripts/sandbox start --nodes $nodes failed"
    while IFS= read -r line; do
        [[ $line == "#"* ]] && continue
        [[ $line =~ ^GATEWAY_AMI_[A-Z0-9_]+=.*$ ]] || die "unexpected line from scripts/sandbox start: $line"
        export "${line?}"
    done <<<"$lines"
    [[ -n ${GATEWAY_AMI_SECRET:-} ]] || die "scripts/sandbox start printed no GATEWAY_AMI_SECRET"
}

# True when sandbox_stop has something to stop.
sandbox_started() { ((SANDBOX_STARTED || SANDBOX_STARTED_B)); }

sandbox_stop() {
    if ((SANDBOX_STARTED)); then
        SANDBOX_STARTED=0
        "$REPO_DIR/scripts/sandbox" stop </dev/null || say "scripts/sandbox stop failed"
    elif ((SANDBOX_STARTED_B)); then
        SANDBOX_STARTED_B=0
        "$REPO_DIR/scripts/sandbox" stop --node b </dev/null ||
            say "scripts/sandbox stop --node b failed"
    fi
}
