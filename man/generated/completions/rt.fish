# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rt_global_optspecs
    string join \n root= log= log-format= debug systemd-cgroup rootless= v/version h/help
end

function __fish_rt_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rt_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rt_using_subcommand
    set -l cmd (__fish_rt_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rt -n "__fish_rt_needs_command" -l root -d 'Directory holding container state' -r -F
complete -c rt -n "__fish_rt_needs_command" -l log -d 'Also write log messages to FILE' -r -F
complete -c rt -n "__fish_rt_needs_command" -l log-format -d 'Format of --log: text or json' -r -f -a "text\t''
json\t''"
complete -c rt -n "__fish_rt_needs_command" -l rootless -d 'Run without root privileges: true, false or auto' -r -f -a "true\t''
false\t''
auto\t''"
complete -c rt -n "__fish_rt_needs_command" -l debug -d 'Log debug messages'
complete -c rt -n "__fish_rt_needs_command" -l systemd-cgroup -d 'Use systemd to manage cgroups (cgroupsPath as slice:prefix:name)'
complete -c rt -n "__fish_rt_needs_command" -s v -l version -d 'Print the version'
complete -c rt -n "__fish_rt_needs_command" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_needs_command" -f -a "create" -d 'Create a container (it waits for `start`)'
complete -c rt -n "__fish_rt_needs_command" -f -a "start" -d 'Start a created container'
complete -c rt -n "__fish_rt_needs_command" -f -a "state" -d 'Print the state of a container as JSON'
complete -c rt -n "__fish_rt_needs_command" -f -a "kill" -d 'Send a signal to a container\'s init process'
complete -c rt -n "__fish_rt_needs_command" -f -a "delete" -d 'Delete a container and everything it holds'
complete -c rt -n "__fish_rt_needs_command" -f -a "run" -d 'Create and start a container; wait for it unless --detach'
complete -c rt -n "__fish_rt_needs_command" -f -a "list" -d 'List containers'
complete -c rt -n "__fish_rt_needs_command" -f -a "ls" -d 'List containers'
complete -c rt -n "__fish_rt_needs_command" -f -a "spec" -d 'Write a default config.json'
complete -c rt -n "__fish_rt_needs_command" -f -a "features" -d 'Print what this rt supports (the runtime spec\'s Features structure, JSON)'
complete -c rt -n "__fish_rt_needs_command" -f -a "pause" -d 'Suspend every process of a container (cgroup freezer)'
complete -c rt -n "__fish_rt_needs_command" -f -a "resume" -d 'Resume a paused container'
complete -c rt -n "__fish_rt_needs_command" -f -a "update" -d 'Change a container\'s resource limits'
complete -c rt -n "__fish_rt_needs_command" -f -a "events" -d 'Show resource usage and OOM events of a container'
complete -c rt -n "__fish_rt_needs_command" -f -a "ps" -d 'List the processes of a container'
complete -c rt -n "__fish_rt_needs_command" -f -a "exec" -d 'Run a new process in a running container'
complete -c rt -n "__fish_rt_needs_command" -f -a "checkpoint" -d 'Checkpoint a running container with CRIU'
complete -c rt -n "__fish_rt_needs_command" -f -a "restore" -d 'Restore a container from a CRIU checkpoint'
complete -c rt -n "__fish_rt_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rt -n "__fish_rt_using_subcommand create" -s b -l bundle -d 'Path to the bundle directory' -r -F
complete -c rt -n "__fish_rt_using_subcommand create" -l pid-file -d 'Write the container\'s init pid to FILE' -r -F
complete -c rt -n "__fish_rt_using_subcommand create" -l console-socket -d 'Unix socket to send the pty master to (process.terminal)' -r -F
complete -c rt -n "__fish_rt_using_subcommand create" -l pidfd-socket -d 'Unix socket to send a pidfd of the container\'s init to' -r -F
complete -c rt -n "__fish_rt_using_subcommand create" -l preserve-fds -d 'Pass N extra fds (3..3+N-1) to the container' -r
complete -c rt -n "__fish_rt_using_subcommand create" -l no-pivot -d 'Do not use pivot_root (MS_MOVE + chroot instead)'
complete -c rt -n "__fish_rt_using_subcommand create" -l no-new-keyring -d 'Do not create a new session keyring'
complete -c rt -n "__fish_rt_using_subcommand create" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand start" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand state" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand kill" -s a -l all -d 'Signal every process in the container, not just init'
complete -c rt -n "__fish_rt_using_subcommand kill" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand delete" -s f -l force -d 'Kill a created or running container first, and an rt process that has held it for over 2 s (a create or start hung in a hook); succeed if it does not exist'
complete -c rt -n "__fish_rt_using_subcommand delete" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand run" -s b -l bundle -d 'Path to the bundle directory' -r -F
complete -c rt -n "__fish_rt_using_subcommand run" -l pid-file -d 'Write the container\'s init pid to FILE' -r -F
complete -c rt -n "__fish_rt_using_subcommand run" -l console-socket -d 'Unix socket to send the pty master to (process.terminal)' -r -F
complete -c rt -n "__fish_rt_using_subcommand run" -l pidfd-socket -d 'Unix socket to send a pidfd of the container\'s init to' -r -F
complete -c rt -n "__fish_rt_using_subcommand run" -l preserve-fds -d 'Pass N extra fds (3..3+N-1) to the container' -r
complete -c rt -n "__fish_rt_using_subcommand run" -l no-pivot -d 'Do not use pivot_root (MS_MOVE + chroot instead)'
complete -c rt -n "__fish_rt_using_subcommand run" -l no-new-keyring -d 'Do not create a new session keyring'
complete -c rt -n "__fish_rt_using_subcommand run" -s d -l detach -d 'Return once the container is started'
complete -c rt -n "__fish_rt_using_subcommand run" -l keep -d 'Keep the container\'s state after it exits'
complete -c rt -n "__fish_rt_using_subcommand run" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand list" -s f -l format -d 'Output format: table or json' -r -f -a "table\t''
json\t''"
complete -c rt -n "__fish_rt_using_subcommand list" -s q -l quiet -d 'Print only container IDs'
complete -c rt -n "__fish_rt_using_subcommand list" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand ls" -s f -l format -d 'Output format: table or json' -r -f -a "table\t''
json\t''"
complete -c rt -n "__fish_rt_using_subcommand ls" -s q -l quiet -d 'Print only container IDs'
complete -c rt -n "__fish_rt_using_subcommand ls" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand spec" -s b -l bundle -d 'Directory to write config.json into' -r -F
complete -c rt -n "__fish_rt_using_subcommand spec" -l rootless -d 'Write a spec for a rootless container'
complete -c rt -n "__fish_rt_using_subcommand spec" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand features" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand pause" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand resume" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand update" -s r -l resources -d 'A LinuxResources JSON document to apply, or "-" for stdin' -r -F
complete -c rt -n "__fish_rt_using_subcommand update" -l memory -d 'Memory limit in bytes (suffixes k, m, g allowed), -1 for none' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l memory-swap -d 'Memory plus swap limit in bytes, -1 for unlimited swap' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l memory-reservation -d 'Memory reservation (soft limit) in bytes, -1 for none' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l kernel-memory -d 'Kernel memory limit: ignored, as by runc (Linux 5.16 and later have none)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l kernel-memory-tcp -d 'Kernel TCP buffer limit: ignored, as by runc' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-share -l cpu-shares -d 'CPU shares (relative weight)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-quota -d 'CPU CFS quota in microseconds per period, -1 for none' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-period -d 'CPU CFS period in microseconds' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-burst -d 'CPU burst in microseconds (cgroup v2, or v1 kernels with cfs_burst_us)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-idle -d 'SCHED_IDLE for the container\'s cgroup: 1 on, 0 off' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-rt-period -d 'Real-time scheduling period in microseconds (cgroup v1)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpu-rt-runtime -d 'Real-time scheduling runtime in microseconds per period (cgroup v1), -1 for all' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpuset-cpus -d 'CPUs the container may run on (0-3, 0,1)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l cpuset-mems -d 'Memory nodes the container may use' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l pids-limit -d 'Maximum number of tasks, -1 for unlimited' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l blkio-weight -d 'Block IO weight (10-1000)' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l l3-cache-schema -d 'New L3 cache schema line of the container\'s Intel RDT group ("L3:0=ff")' -r
complete -c rt -n "__fish_rt_using_subcommand update" -l mem-bw-schema -d 'New memory bandwidth schema line of the container\'s Intel RDT group ("MB:0=50")' -r
complete -c rt -n "__fish_rt_using_subcommand update" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand events" -l interval -d 'Interval between statistics (a Go duration like 5s or 500ms)' -r
complete -c rt -n "__fish_rt_using_subcommand events" -l stats -d 'Print the statistics once and exit'
complete -c rt -n "__fish_rt_using_subcommand events" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand ps" -s f -l format -d 'Output format: table (ps\'s own) or json (an array of host pids)' -r -f -a "table\t''
json\t''"
complete -c rt -n "__fish_rt_using_subcommand ps" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand exec" -s p -l process -d 'The process as an OCI process.json (args, env, cwd, user, capabilities, ...)' -r -F
complete -c rt -n "__fish_rt_using_subcommand exec" -l cwd -d 'Working directory inside the container' -r -F
complete -c rt -n "__fish_rt_using_subcommand exec" -s e -l env -d 'Add an environment variable (KEY=VALUE; repeatable)' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -s u -l user -d 'User: UID[:GID]' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -s g -l additional-gids -d 'Additional group (repeatable)' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -s c -l cap -d 'Add a capability to the bounding, effective and permitted sets (repeatable)' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -l apparmor -d 'AppArmor profile for the process' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -l process-label -d 'SELinux label for the process' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -l console-socket -d 'Unix socket to send the pty master to' -r -F
complete -c rt -n "__fish_rt_using_subcommand exec" -l pidfd-socket -d 'Unix socket to send a pidfd of the process to' -r -F
complete -c rt -n "__fish_rt_using_subcommand exec" -l pid-file -d 'Write the process\'s pid to FILE' -r -F
complete -c rt -n "__fish_rt_using_subcommand exec" -l preserve-fds -d 'Pass N extra fds (3..3+N-1) to the process' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -l cgroup -d 'Run in this sub-cgroup of the container\'s cgroup: PATH, or (cgroup v1, repeatable) CONTROLLER[,CONTROLLER...]:PATH' -r
complete -c rt -n "__fish_rt_using_subcommand exec" -l no-new-privs -d 'Set no_new_privs for the process'
complete -c rt -n "__fish_rt_using_subcommand exec" -s t -l tty -d 'Allocate a terminal'
complete -c rt -n "__fish_rt_using_subcommand exec" -s d -l detach -d 'Return once the process has started'
complete -c rt -n "__fish_rt_using_subcommand exec" -l ignore-paused -d 'Allow exec into a paused container'
complete -c rt -n "__fish_rt_using_subcommand exec" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l image-path -d 'Directory of CRIU\'s image files' -r -F
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l work-path -d 'Directory for CRIU\'s work files and log (default: the image directory)' -r -F
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l manage-cgroups-mode -d 'CRIU\'s cgroup mode: soft, full, strict or ignore (default: rt places the container\'s processes in its cgroup, CRIU leaves cgroups alone)' -r
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l empty-ns -d 'Create this namespace, but do not restore its properties (network)' -r
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l parent-path -d 'Images of a previous (pre-)dump, relative to the image directory' -r -F
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l tcp-established -d 'Allow open TCP connections'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l ext-unix-sk -d 'Allow external unix sockets'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l shell-job -d 'Allow shell jobs (a terminal from outside)'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l file-locks -d 'Handle file locks'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l auto-dedup -d 'Deduplicate memory pages against the parent images'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l lazy-pages -d 'Use userfaultfd to fetch memory pages lazily'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l leave-running -d 'Leave the container running after the checkpoint'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -l pre-dump -d 'Dump memory only, leaving the container running (for a later dump\'s --parent-path)'
complete -c rt -n "__fish_rt_using_subcommand checkpoint" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand restore" -l image-path -d 'Directory of CRIU\'s image files' -r -F
complete -c rt -n "__fish_rt_using_subcommand restore" -l work-path -d 'Directory for CRIU\'s work files and log (default: the image directory)' -r -F
complete -c rt -n "__fish_rt_using_subcommand restore" -l manage-cgroups-mode -d 'CRIU\'s cgroup mode: soft, full, strict or ignore (default: rt places the container\'s processes in its cgroup, CRIU leaves cgroups alone)' -r
complete -c rt -n "__fish_rt_using_subcommand restore" -l empty-ns -d 'Create this namespace, but do not restore its properties (network)' -r
complete -c rt -n "__fish_rt_using_subcommand restore" -s b -l bundle -d 'Path to the bundle directory' -r -F
complete -c rt -n "__fish_rt_using_subcommand restore" -l pid-file -d 'Write the container\'s init pid to FILE' -r -F
complete -c rt -n "__fish_rt_using_subcommand restore" -l console-socket -d 'Unix socket to send the pty master to (process.terminal)' -r -F
complete -c rt -n "__fish_rt_using_subcommand restore" -l tcp-established -d 'Allow open TCP connections'
complete -c rt -n "__fish_rt_using_subcommand restore" -l ext-unix-sk -d 'Allow external unix sockets'
complete -c rt -n "__fish_rt_using_subcommand restore" -l shell-job -d 'Allow shell jobs (a terminal from outside)'
complete -c rt -n "__fish_rt_using_subcommand restore" -l file-locks -d 'Handle file locks'
complete -c rt -n "__fish_rt_using_subcommand restore" -l auto-dedup -d 'Deduplicate memory pages against the parent images'
complete -c rt -n "__fish_rt_using_subcommand restore" -l lazy-pages -d 'Use userfaultfd to fetch memory pages lazily'
complete -c rt -n "__fish_rt_using_subcommand restore" -s d -l detach -d 'Return once the container is restored'
complete -c rt -n "__fish_rt_using_subcommand restore" -l no-pivot -d 'Accepted for runc\'s sake: CRIU sets up the root itself'
complete -c rt -n "__fish_rt_using_subcommand restore" -l no-subreaper -d 'Do not reap processes re-parented to rt while it waits in the foreground'
complete -c rt -n "__fish_rt_using_subcommand restore" -s h -l help -d 'Print help'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "create" -d 'Create a container (it waits for `start`)'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "start" -d 'Start a created container'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "state" -d 'Print the state of a container as JSON'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "kill" -d 'Send a signal to a container\'s init process'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "delete" -d 'Delete a container and everything it holds'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "run" -d 'Create and start a container; wait for it unless --detach'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "list" -d 'List containers'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "spec" -d 'Write a default config.json'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "features" -d 'Print what this rt supports (the runtime spec\'s Features structure, JSON)'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "pause" -d 'Suspend every process of a container (cgroup freezer)'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "resume" -d 'Resume a paused container'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "update" -d 'Change a container\'s resource limits'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "events" -d 'Show resource usage and OOM events of a container'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "ps" -d 'List the processes of a container'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "exec" -d 'Run a new process in a running container'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "checkpoint" -d 'Checkpoint a running container with CRIU'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "restore" -d 'Restore a container from a CRIU checkpoint'
complete -c rt -n "__fish_rt_using_subcommand help; and not __fish_seen_subcommand_from create start state kill delete run list spec features pause resume update events ps exec checkpoint restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
