/* sysprobe: makes the system calls named on its command line with harmless arguments and
 * prints NAME=0 on success or NAME=ERRNO on failure, one line each (join=NAME and session
 * print keyring serials), so tests can see from
 * inside a container what the seccomp filter (and the kernel) did with each call.
 * Built static by the integration tests (cc -static), so it runs in a busybox rootfs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* An i386 system call from this x86_64 process: int 0x80 selects the compat ABI, which
 * seccomp sees as AUDIT_ARCH_I386 with i386 numbers. Returns -errno like the kernel. */
static long i386_call(long nr, long a1, long a2)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1), "c"(a2) : "memory");
	return r;
}

/* An x32 system call: the x86_64 entry with bit 30 set in the number. */
static long x32_call(long nr)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr | 0x40000000L) : "rcx", "r11", "memory");
	return r;
}

static long result(long r)
{
	return r < 0 ? errno : 0;
}

static long raw(long r)
{
	return r < 0 ? -r : 0;
}

int main(int argc, char **argv)
{
	static const char dir[] = "/tmp/sysprobe-dir";
	for (int i = 1; i < argc; i++) {
		const char *p = argv[i];
		long r;
		errno = 0;
		if (!strncmp(p, "join=", 5)) {
			/* joins (or creates) the session keyring named after '=' and lets anyone
			 * search and join it: the planted keyring of the keyring attack */
			long k = syscall(SYS_keyctl, 1L /* JOIN_SESSION_KEYRING */, p + 5);
			if (k >= 0)
				syscall(SYS_keyctl, 5L /* SETPERM */, k, 0x3f3f3f3fL);
			printf("join=%ld\n", k < 0 ? -(long)errno : k);
			fflush(stdout);
			continue;
		}
		if (!strncmp(p, "scan=", 5)) {
			/* until /tmp/stop exists: opens /proc/PID/root<path> for every process it can
			 * see, printing the pids whose root reaches <path> (a file of the host) */
			long hits = 0;
			while (access("/tmp/stop", F_OK) != 0) {
				DIR *d = opendir("/proc");
				struct dirent *e;
				while (d && (e = readdir(d))) {
					char buf[600];
					if (e->d_name[0] < '1' || e->d_name[0] > '9')
						continue;
					snprintf(buf, sizeof buf, "/proc/%s/root%s", e->d_name, p + 5);
					int fd = open(buf, O_RDONLY);
					if (fd >= 0) {
						close(fd);
						hits++;
						printf("leak=%s\n", e->d_name);
						fflush(stdout);
					}
				}
				if (d)
					closedir(d);
			}
			printf("scan=%ld\n", hits);
			fflush(stdout);
			continue;
		}
		if (!strncmp(p, "notify=", 7)) {
			/* sd_notify: sends what follows '=' ('|' for newlines) to $NOTIFY_SOCKET */
			char msg[512];
			struct sockaddr_un a = {.sun_family = AF_UNIX};
			const char *path = getenv("NOTIFY_SOCKET");
			snprintf(msg, sizeof msg, "%s", p + 7);
			for (char *c = msg; *c; c++)
				if (*c == '|')
					*c = '\n';
			int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
			snprintf(a.sun_path, sizeof a.sun_path, "%s", path ? path : "");
			long n = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a);
			printf("notify=%ld\n", n < 0 ? (long)errno : 0L);
			fflush(stdout);
			close(fd);
			continue;
		}
		if (!strcmp(p, "attrs")) {
			/* what process.scheduler, process.ioPriority, linux.personality and
			 * linux.memoryPolicy set: sched_getattr, ioprio_get, personality and
			 * get_mempolicy, as one line of numbers */
			struct {
				unsigned int size, policy;
				unsigned long long flags;
				int nice;
				unsigned int priority;
				unsigned long long runtime, deadline, period;
				unsigned int util_min, util_max;
			} a = {0};
			int mode = -1;
			unsigned long nodes = 0;
			long s = syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
			long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
			long pers = syscall(SYS_personality, 0xffffffffUL);
			long m = syscall(SYS_get_mempolicy, &mode, &nodes, 64UL, 0UL, 0UL);
			printf("sched=%ld policy=%u nice=%d priority=%u flags=%llu runtime=%llu "
			       "deadline=%llu period=%llu ioprio_class=%ld ioprio_level=%ld "
			       "personality=%#lx mempolicy=%ld mode=%d nodes=%#lx\n",
			       s < 0 ? (long)errno : 0L, a.policy, a.nice, a.priority, a.flags,
			       a.runtime, a.deadline, a.period, io < 0 ? -1L : io >> 13,
			       io < 0 ? (long)errno : io & 0x1fff, pers, m < 0 ? (long)errno : 0L,
			       mode, nodes);
			fflush(stdout);
			continue;
		}
		if (!strcmp(p, "hold")) { /* keeps what this process holds (a keyring) alive */
			sleep(60);
			continue;
		}
		if (!strcmp(p, "session")) { /* the serial of this process's session keyring */
			printf("session=%ld\n", (long)syscall(SYS_keyctl, 0L /* GET_KEYRING_ID */, -3L, 0L));
			fflush(stdout);
			continue;
		}
		if (!strcmp(p, "unshare"))
			r = result(syscall(SYS_unshare, CLONE_NEWNS));
		else if (!strcmp(p, "mount"))
			r = result(syscall(SYS_mount, "none", "/tmp", "tmpfs", 0L, NULL));
		else if (!strcmp(p, "keyctl")) /* KEYCTL_GET_KEYRING_ID of the session keyring */
			r = result(syscall(SYS_keyctl, 0L, -3L, 0L));
		else if (!strcmp(p, "kexec_load")) /* 0 segments: would unload; EPERM without CAP_SYS_BOOT */
			r = result(syscall(SYS_kexec_load, 0L, 0L, NULL, 0L));
		else if (!strcmp(p, "clone_newuser")) {
			long pid = syscall(SYS_clone, (long)(CLONE_NEWUSER | 17 /* SIGCHLD */), 0L, NULL, NULL, 0L);
			if (pid == 0)
				_exit(0);
			r = result(pid);
		} else if (!strcmp(p, "mkdir"))
			r = result(syscall(SYS_mkdir, dir, 0755L));
		else if (!strcmp(p, "close_range")) /* an fd range nothing has open */
			r = result(syscall(SYS_close_range, 1000L, 1010L, 0L));
		else if (!strcmp(p, "fcntl"))
			r = result(syscall(SYS_fcntl, 1L, (long)F_GETFD));
		else if (!strcmp(p, "getppid"))
			r = result(syscall(SYS_getppid));
		else if (!strcmp(p, "i386_getpid"))
			r = raw(i386_call(20, 0, 0));
		else if (!strcmp(p, "i386_mkdir"))
			r = raw(i386_call(39, (long)dir, 0755));
		else if (!strcmp(p, "x32_getpid"))
			r = raw(x32_call(39));
		else {
			fprintf(stderr, "sysprobe: unknown probe %s\n", p);
			return 2;
		}
		printf("%s=%ld\n", p, r);
		fflush(stdout);
	}
	return 0;
}
