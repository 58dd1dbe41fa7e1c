/* Logging in Redis's line format ("pid:role dd Mon yyyy hh:mm:ss.mmm * msg")
 * so operators' log tooling reads it. Lines go to `logfile` or stdout. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *log_fp;

int log_open(void)
{
    if (!config.logfile || !config.logfile[0]) {
        log_fp = stdout;
        return 0;
    }
    FILE *f = fopen(config.logfile, "a");
    if (!f)
        return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    log_fp = f;
    return 0;
}

void log_msg(int level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char msg[1024], ts[64];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level < config.loglevel || level >= LL_NOTHING)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(ts + n, sizeof(ts) - n, "%03d", (int)(tv.tv_usec / 1000));
    FILE *f = log_fp ? log_fp : stdout;
    fprintf(f, "%d:M %s %c %s\n", (int)getpid(), ts, marks[level], msg);
    fflush(f);
}
