#!/bin/bash
# The control socket of the real tsyncd (doc/control.md): every read command's JSON shape,
# the change commands (makestep, offline/online by name, reload adding and removing
# sources and refusing a broken file), the errors for a line too long, an unknown command
# and a change from someone neither root nor in the group (kept out by the 0750 directory,
# and refused by credentials when let in), garbage that never kills the daemon, and the
# socket file removed at exit. The sources are addresses nobody answers in a namespace.
source "$(dirname "$0")/lib.sh"
il_init control "$1"
il_net 1
# Debian's python3 and a copy of the probe that user nobody can reach too.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
install -m 0644 "$IL_HERE/ctl_probe.py" "$IL_DIR/ctl_probe.py"
probe=("$python" "$IL_DIR/ctl_probe.py")
sock="$IL_DIR/run/tsyncd.sock"
il_start_server "controlsocket $sock" "server 198.18.0.250 iburst" "server 198.18.0.251"
conf="$IL_DIR/server.conf"

ask() { "${probe[@]}" ask "$sock" "$1\\n"; }
expect() { # REQUEST NEEDLE
    local out
    out=$(ask "$1") || il_fail "$1: no answer (status $?)"
    grep -qF -- "$2" <<<"$out" || il_fail "$1: expected $2, got: $out"
}

il_wait_for 5 test -S "$sock" || il_fail "no control socket at $sock"
[[ $(stat -c %a "$sock") == 660 && $(stat -c %a "$IL_DIR/run") == 750 ]] ||
    il_fail "modes: socket $(stat -c %a "$sock"), directory $(stat -c %a "$IL_DIR/run")"
out=$("${probe[@]}" shapes "$sock") || il_fail "JSON shapes: $out"
expect sources '"name":"198.18.0.250","address":"198.18.0.250"'

# Errors.
expect "$(printf 'a%.0s' {1..300})" '{"error":"too_long"'
expect frobnicate '{"error":"unknown_command"'
expect "status please" '{"error":"bad_request"'
expect "offline no.such.host" '{"error":"unknown_source"'

# Change commands, as root.
expect makestep '{"ok":true,"message":'
expect "offline 198.18.0.250" '{"ok":true,"sources":1}'
expect sources '"name":"198.18.0.250","address":"198.18.0.250","tally":" ","state":"rejected"'
offline='"reach":0,"delay":null,"offset":null,"jitter":null,"leap":"unsynchronized","offline":true}'
ask sources | grep -qF "$offline" ||
    il_fail "198.18.0.250 not shown offline: $(ask sources)"
expect online '{"ok":true,"sources":2}'

# Reload: one line goes, one comes, one stays; a broken file changes nothing.
sed -i 's/^server 198.18.0.250 iburst$/server 198.18.0.252/' "$conf"
expect reload '{"ok":true,"added":1,"removed":1}'
out=$(ask sources)
if ! grep -qF '198.18.0.252' <<<"$out" || ! grep -qF '198.18.0.251' <<<"$out" ||
    grep -qF '198.18.0.250' <<<"$out"; then
    il_fail "sources after reload: $out"
fi
expect reload '{"ok":true,"added":0,"removed":0}'
echo "server 198.18.0.253 bogusoption" >>"$conf"
expect reload '{"error":"failed","message":"the configuration was not reloaded: '
out=$(ask sources)
grep -qF '198.18.0.253' <<<"$out" && il_fail "a broken reload changed the sources: $out"

# Someone else: the 0750 root directory keeps them out...
chmod 0711 "$IL_DIR"
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all)
"${nobody[@]}" "${probe[@]}" ask "$sock" 'status\n' >/dev/null 2>&1
[[ $? -eq 3 ]] || il_fail "nobody could connect to the socket in its 0750 directory"
# ...and let in (test only), they may read but not change.
chmod 0755 "$IL_DIR/run"
chmod 0666 "$sock"
out=$("${nobody[@]}" "${probe[@]}" ask "$sock" 'status\n') || il_fail "nobody: status: $out"
grep -qF '{"synchronized":' <<<"$out" || il_fail "nobody cannot read: $out"
for c in makestep reload offline 'online 198.18.0.251'; do
    out=$("${nobody[@]}" "${probe[@]}" ask "$sock" "$c\\n")
    grep -qF '{"error":"not_permitted"' <<<"$out" || il_fail "nobody: $c: $out"
done

# Garbage never stops it.
out=$("${probe[@]}" garbage "$sock" 300 "$$") || il_fail "garbage: $out"
il_alive "$IL_SERVER_PID" || il_fail "tsyncd died"
expect status '{"synchronized":false'

kill -TERM "$IL_SERVER_PID"
il_wait_for 5 bash -c "! kill -0 $IL_SERVER_PID 2>/dev/null" || il_fail "tsyncd did not stop"
[[ -e "$sock" ]] && il_fail "the socket file is left after exit"
il_pass
