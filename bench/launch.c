/*
 * launch [-t SECONDS] CMD ARGS...: runs CMD once and reports, on fd 3, one line
 *
 *     <wall_ns> <ru_maxrss_kib> <exit status, or -signal>
 *
 * Built with `cc -O2 -static` by bench/run. It exists because of how Linux accounts peak
 * RSS: a forked (or vforked) child starts with its parent's memory map, and exec records
 * that map's high-water mark in the child's ru_maxrss. A runtime spawned straight from the
 * Rust driver would therefore report the driver's RSS if that were larger; spawned from this
 * small static program, it reports its own. wait4's ru_maxrss then covers the runtime and
 * every descendant it reaped itself (e.g. the container init of `run`).
 *
 * The clock runs from fork to wait4 only, so the launcher's own exec is not counted.
 * With -t, a CMD still running after SECONDS is killed (SIGKILL, reported as -9) and a line
 * starting with "launch: " says so on stderr: a hung runtime must not hang the benchmark.
 * Exit status of the launcher: 0 when the line was written (whatever CMD did), 2 otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* The state letter of a process from /proc/<pid>/stat, 0 if unknown. */
static char proc_state(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name in parentheses may hold spaces; the state follows the last ')'. */
	char *close = strrchr(buf, ')');
	return close && close[1] == ' ' ? close[2] : 0;
}

/* How many of pid's children have exited without being reaped: a runtime that hangs while
 * its container process is such a zombie has missed that exit. Children are listed per
 * thread (a Go runtime forks from any of them). */
static int zombie_children(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *tasks = opendir(path);
	if (!tasks)
		return 0;
	int zombies = 0;
	struct dirent *t;
	while ((t = readdir(tasks)) != NULL) {
		if (t->d_name[0] == '.')
			continue;
		char cpath[300];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", pid, t->d_name);
		FILE *f = fopen(cpath, "r");
		if (!f)
			continue;
		int child;
		while (fscanf(f, "%d", &child) == 1)
			zombies += proc_state(child) == 'Z';
		fclose(f);
	}
	closedir(tasks);
	return zombies;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int timeout = 0;
	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		timeout = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: launch [-t SECONDS] CMD [ARGS...] (result line on fd 3)\n");
		return 2;
	}
	/* The runtime must not inherit the report pipe: a container process holding it open
	 * would keep the driver's read from ever seeing end-of-file. */
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		perror("launch: fd 3 (the report pipe) is not open");
		return 2;
	}
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		perror("launch: /dev/null");
		return 2;
	}

	long long start = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("launch: fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(devnull, 0) < 0)
			_exit(127);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "launch: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}

	if (timeout > 0) {
		/* No SA_RESTART: the alarm must interrupt wait4. Installed after fork, so the
		 * child never had the handler, and the alarm is the parent's alone. */
		struct sigaction sa = { .sa_handler = on_alarm };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned)timeout);
	}

	int status;
	struct rusage ru;
	pid_t got;
	for (;;) {
		got = wait4(pid, &status, 0, &ru);
		if (got >= 0 || errno != EINTR)
			break;
		if (timed_out == 1) {
			int z = zombie_children(pid);
			fprintf(stderr, "launch: %s still running after %d s%s; killed it\n", argv[1],
				timeout,
				z ? ", although a child process of it had exited and was never reaped" : "");
			kill(pid, SIGKILL);
			timed_out = 2;
		}
	}
	long long wall = now_ns() - start;
	if (got < 0) {
		perror("launch: wait4");
		return 2;
	}

	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	if (dprintf(3, "%lld %ld %d\n", wall, ru.ru_maxrss, code) < 0) {
		perror("launch: writing fd 3");
		return 2;
	}
	return 0;
}
