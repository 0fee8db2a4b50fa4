// trace: runs a command under ptrace with a breakpoint (int3) on the first byte of every
// function of one binary, in that binary's every process and thread (also after clone, fork
// and exec of the same binary), and prints the functions reached, in the order first
// reached. The breakpoint is removed where it hits, so each costs one trap per process.
//
// usage: trace BINARY FUNCS_FILE -- COMMAND ARGS...
// FUNCS_FILE: lines "<hex offset> <name>" (function starts relative to the load base of a
// position-independent BINARY, e.g. from `nm --defined-only`), sorted or not.
// Output on stdout: the names reached, one per line, first reach first.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct func { uint64_t off; char *name; int hit; };
static struct func *funcs;
static size_t nfuncs;
static ino_t bin_ino;
static uint64_t text_lo = UINT64_MAX, text_hi; /* offsets covered by functions */

static int cmp_off(const void *a, const void *b) {
    const struct func *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static struct func *find(uint64_t off) {
    size_t lo = 0, hi = nfuncs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (funcs[mid].off == off) return &funcs[mid];
        if (funcs[mid].off < off) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

/* Per process: its load base of BINARY (0: not an image of it). */
#define MAXP 65536
static uint64_t base_of[MAXP];

static uint64_t load_base(pid_t pid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    uint64_t base = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino; char perms[8]; unsigned maj, min;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &ino) == 7 &&
            ino == bin_ino && off == 0) { base = lo; break; }
    }
    fclose(f);
    return base;
}

static unsigned char *orig; /* the original bytes of [text_lo, text_hi) */

static int mem_fd(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    return open(path, O_RDWR | O_CLOEXEC);
}

static void arm(pid_t pid) {
    uint64_t base = load_base(pid);
    if (pid < MAXP) base_of[pid] = base;
    if (!base) return;
    int fd = mem_fd(pid);
    if (fd < 0) { perror("open mem"); return; }
    size_t len = text_hi - text_lo;
    unsigned char *buf = malloc(len);
    if (pread(fd, buf, len, base + text_lo) != (ssize_t)len) { perror("pread text"); exit(1); }
    if (!orig) { orig = malloc(len); memcpy(orig, buf, len); }
    for (size_t i = 0; i < nfuncs; i++)
        if (!funcs[i].hit) buf[funcs[i].off - text_lo] = 0xcc;
    if (pwrite(fd, buf, len, base + text_lo) != (ssize_t)len) { perror("pwrite text"); exit(1); }
    free(buf);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: trace BINARY FUNCS_FILE -- COMMAND ARGS...\n");
        return 2;
    }
    struct stat st;
    if (stat(argv[1], &st)) { perror(argv[1]); return 2; }
    bin_ino = st.st_ino;
    FILE *ff = fopen(argv[2], "r");
    if (!ff) { perror(argv[2]); return 2; }
    size_t cap = 0; char line[4096];
    while (fgets(line, sizeof line, ff)) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        char *name = sp + 1; name[strcspn(name, "\n")] = 0;
        if (nfuncs == cap) { cap = cap ? cap * 2 : 4096; funcs = realloc(funcs, cap * sizeof *funcs); }
        funcs[nfuncs].off = strtoull(line, NULL, 16);
        funcs[nfuncs].name = strdup(name);
        funcs[nfuncs].hit = 0;
        nfuncs++;
    }
    fclose(ff);
    qsort(funcs, nfuncs, sizeof *funcs, cmp_off);
    /* Aliases (two names, one address) keep the first. */
    size_t w = 0;
    for (size_t i = 0; i < nfuncs; i++)
        if (!w || funcs[w - 1].off != funcs[i].off) funcs[w++] = funcs[i];
    nfuncs = w;
    text_lo = funcs[0].off; text_hi = funcs[nfuncs - 1].off + 1;

    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    int status, live = 1, root_status = 0;
    waitpid(child, &status, 0); /* the exec stop */
    ptrace(PTRACE_SETOPTIONS, child, 0,
           PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC);
    arm(child);
    ptrace(PTRACE_CONT, child, 0, 0);
    while (live > 0) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) { if (errno == EINTR) continue; break; }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            live--;
            if (pid == child) root_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int sig = WSTOPSIG(status), event = status >> 16, inject = 0;
        if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
            unsigned long newpid;
            ptrace(PTRACE_GETEVENTMSG, pid, 0, &newpid);
            if (newpid < MAXP && pid < MAXP) base_of[newpid] = base_of[pid];
            live++;
        } else if (event == PTRACE_EVENT_EXEC) {
            arm(pid);
            if (pid < MAXP && !base_of[pid]) { ptrace(PTRACE_DETACH, pid, 0, 0); live--; continue; }
        } else if (event == PTRACE_EVENT_STOP) {
        } else if (sig == SIGTRAP) {
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, pid, 0, &regs);
            uint64_t base = pid < MAXP ? base_of[pid] : 0;
            struct func *f = base ? find(regs.rip - 1 - base) : NULL;
            if (f) {
                if (!f->hit) { f->hit = 1; printf("%s\n", f->name); }
                int fd = mem_fd(pid);
                if (fd >= 0) {
                    (void)!pwrite(fd, &orig[f->off - text_lo], 1, base + f->off);
                    close(fd);
                }
                regs.rip -= 1;
                ptrace(PTRACE_SETREGS, pid, 0, &regs);
            }
        } else if (sig == SIGSTOP && pid != child) {
            /* a new task's first stop */
        } else {
            inject = sig;
        }
        ptrace(PTRACE_CONT, pid, 0, inject);
    }
    fflush(stdout);
    return root_status;
}
