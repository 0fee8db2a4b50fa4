#!/bin/sh
# Containers in every state (created, running, detached-running, stopped) leave neither a
# cgroup nor a state entry behind once deleted.
. /scenarios/lib.sh

for id in c-created c-running c-stopped; do
    make_bundle $id 'sleep 1000' '"pids": {"limit": 20}'
done
# pid 1 of a pid namespace only gets the signals it has a handler for (SIGKILL aside)
make_bundle c-detached 'trap "exit 7" TERM; sleep 1000 & wait' '"pids": {"limit": 20}'
# create/start/run -d: the container keeps its stdio, so no $(...) around these
rt create --bundle "$BUNDLES/c-created" c-created </dev/null >/dev/null 2>&1 || fail "rt create c-created"
rt create --bundle "$BUNDLES/c-running" c-running </dev/null >/dev/null 2>&1 || fail "rt create c-running"
rt start c-running || fail "rt start c-running"
rt run -d --bundle "$BUNDLES/c-detached" c-detached </dev/null >/dev/null 2>&1 || fail "rt run -d c-detached"
rt create --bundle "$BUNDLES/c-stopped" c-stopped </dev/null >/dev/null 2>&1 || fail "rt create c-stopped"
rt start c-stopped || fail "rt start c-stopped"
rt kill c-stopped KILL || fail "rt kill c-stopped KILL"
wait_status c-created created
wait_status c-running running
wait_status c-detached running
wait_status c-stopped stopped
rt list
for id in c-created c-running c-detached c-stopped; do
    [ -d "$CG/$id" ] || fail "no cgroup $CG/$id while the container exists"
done

rt delete c-created || fail "rt delete c-created (created)"
rt delete -f c-running || fail "rt delete -f c-running (running)"
rt kill c-detached TERM || fail "rt kill c-detached TERM"
wait_status c-detached stopped
rt delete c-detached || fail "rt delete c-detached (stopped by SIGTERM)"
rt delete c-stopped || fail "rt delete c-stopped (stopped)"

for id in c-created c-running c-detached c-stopped; do
    [ ! -e "$CG/$id" ] || fail "$CG/$id left behind after rt delete ($(cat "$CG/$id/cgroup.procs" 2>&1))"
done
left=$(rt list -q) || fail "rt list -q failed"
[ -z "$left" ] || fail "rt list -q still shows: $left"
