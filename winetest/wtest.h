/*
 * wtest.h - a small Wine-style conformance test harness for writewatch.
 *
 * The vocabulary follows the conventions of Wine's conformance tests so the
 * checks read the same way, but this is our own implementation:
 *
 *   ok(cond, fmt, ...)    one check; a failure prints file:line and the message
 *   ok_(file, line)(...)  the same, attributed to a caller's location (helpers)
 *   trace(fmt, ...)       informational output
 *   skip(fmt, ...)        a group of checks that cannot run here
 *   win_skip(fmt, ...)    a skip on Windows; a failure anywhere else (an
 *                         implementation of the API must not lack the feature)
 *   todo_wine { ... }     checks expected to fail on Wine: under Wine a failure
 *                         counts as "todo" and a success as a failure; on
 *                         Windows and with the native layer they are ordinary
 *                         checks (the native layer must behave like Windows)
 *   todo_if(cond) { ... } the same with an explicit condition
 *   broken(x)             x on real Windows, 0 elsewhere (accepts a known
 *                         Windows quirk without accepting it from Wine or us)
 *   wtest_push_context / wtest_pop_context
 *                         a prefix for messages (e.g. a loop index)
 *
 * Platform: "windows", "wine" or "native". A Windows build (mingw) asks ntdll
 * for its wine_get_version export at run time to tell Wine from Windows; a
 * native build against dlls/kernelbase is "native". WINETEST_PLATFORM in the
 * environment overrides the detection.
 *
 * Output: failures, todos, skips and traces always; every successful check
 * too when WINETEST_REPORT_SUCCESS=1 (the comparison script uses this). Each
 * line starts with "file:line: test_name: ". The last line is the summary
 *   N tests executed (T marked as todo, F failures), S skipped.
 * and the exit code is non-zero iff F > 0.
 */
#ifndef WRITEWATCH_WTEST_H
#define WRITEWATCH_WTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#endif

#if defined(__GNUC__)
#define WTEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WTEST_PRINTF(a, b)
#endif

#if defined(__GNUC__)
#define WTEST_UNUSED __attribute__((unused))
#else
#define WTEST_UNUSED
#endif

enum wtest_platform { WTEST_WINDOWS, WTEST_WINE, WTEST_NATIVE };

struct wtest_state
{
    enum wtest_platform platform;
    const char *platform_name;
    int report_success;
    int silent;         /* print nothing (the harness self-test) */
    const char *file;
    int line;
    const char *test_name;
    long executed;
    long todo_marked;   /* todo checks that failed as expected */
    long failures;      /* failed checks, plus todo checks that succeeded */
    long skipped;
    int todo_level;     /* > 0 inside an active todo block */
    int todo_pass;      /* loop state of the todo_if() for-statement */
    char context[8][128];
    int context_depth;
};

static struct wtest_state wtest;

static WTEST_UNUSED const char *wtest_basename(const char *path)
{
    const char *p, *base = path;
    for (p = path; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    return base;
}

static WTEST_UNUSED void wtest_prefix(void)
{
    int i;
    if (wtest.silent) return;
    printf("%s:%d: %s: ", wtest_basename(wtest.file), wtest.line,
           wtest.test_name ? wtest.test_name : "main");
    for (i = 0; i < wtest.context_depth; i++) printf("%s: ", wtest.context[i]);
}

static WTEST_UNUSED void wtest_vprint(const char *kind, const char *fmt, va_list ap)
{
    if (wtest.silent) return;
    wtest_prefix();
    if (kind) fputs(kind, stdout);
    vprintf(fmt, ap);
    /* messages end in '\n' by convention; add one if a caller forgot */
    if (!*fmt || fmt[strlen(fmt) - 1] != '\n') putchar('\n');
    fflush(stdout);
}

static WTEST_UNUSED void wtest_init(void)
{
    const char *env;

#ifdef _WIN32
    {
        HMODULE ntdll = GetModuleHandleA("ntdll.dll");
        FARPROC wine_get_version = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
        wtest.platform = wine_get_version ? WTEST_WINE : WTEST_WINDOWS;
    }
#else
    wtest.platform = WTEST_NATIVE;
#endif
    if ((env = getenv("WINETEST_PLATFORM")) && *env)
    {
        if (!strcmp(env, "windows")) wtest.platform = WTEST_WINDOWS;
        else if (!strcmp(env, "wine")) wtest.platform = WTEST_WINE;
        else wtest.platform = WTEST_NATIVE;
    }
    wtest.platform_name = wtest.platform == WTEST_WINDOWS ? "windows"
                        : wtest.platform == WTEST_WINE ? "wine" : "native";
    env = getenv("WINETEST_REPORT_SUCCESS");
    wtest.report_success = env && *env && strcmp(env, "0");
}

static WTEST_UNUSED int wtest_on_windows(void) { return wtest.platform == WTEST_WINDOWS; }
static WTEST_UNUSED int wtest_on_wine(void) { return wtest.platform == WTEST_WINE; }

static WTEST_UNUSED void wtest_set_location(const char *file, int line)
{
    wtest.file = file;
    wtest.line = line;
}

static WTEST_UNUSED int WTEST_PRINTF(2, 3) wtest_ok(int condition, const char *fmt, ...)
{
    va_list ap;

    wtest.executed++;
    va_start(ap, fmt);
    if (wtest.todo_level)
    {
        if (condition)
        {
            wtest.failures++;
            wtest_vprint("Test succeeded inside todo block: ", fmt, ap);
        }
        else
        {
            wtest.todo_marked++;
            wtest_vprint("Test marked todo: ", fmt, ap);
        }
    }
    else if (!condition)
    {
        wtest.failures++;
        wtest_vprint("Test failed: ", fmt, ap);
    }
    else if (wtest.report_success && !wtest.silent)
    {
        wtest_prefix();
        printf("Test succeeded\n");
        fflush(stdout);
    }
    va_end(ap);
    return condition;
}

static WTEST_UNUSED void WTEST_PRINTF(1, 2) wtest_trace(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wtest_vprint(NULL, fmt, ap);
    va_end(ap);
}

static WTEST_UNUSED void WTEST_PRINTF(1, 2) wtest_skip(const char *fmt, ...)
{
    va_list ap;
    wtest.skipped++;
    va_start(ap, fmt);
    wtest_vprint("Tests skipped: ", fmt, ap);
    va_end(ap);
}

static WTEST_UNUSED void WTEST_PRINTF(1, 2) wtest_win_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (wtest.platform == WTEST_WINDOWS)
    {
        wtest.skipped++;
        wtest_vprint("Tests skipped: ", fmt, ap);
    }
    else
    {
        wtest.executed++;
        wtest.failures++;
        wtest_vprint("Test failed: win_skip outside Windows: ", fmt, ap);
    }
    va_end(ap);
}

static WTEST_UNUSED int wtest_broken(int condition)
{
    return wtest.platform == WTEST_WINDOWS && condition;
}

static WTEST_UNUSED void WTEST_PRINTF(1, 2) wtest_push_context(const char *fmt, ...)
{
    va_list ap;
    if (wtest.context_depth >= (int)(sizeof(wtest.context) / sizeof(wtest.context[0]))) return;
    va_start(ap, fmt);
    vsnprintf(wtest.context[wtest.context_depth++], sizeof(wtest.context[0]), fmt, ap);
    va_end(ap);
}

static WTEST_UNUSED void wtest_pop_context(void)
{
    if (wtest.context_depth) wtest.context_depth--;
}

/* for (start; loop; end) runs the block exactly once with the todo state set */
static WTEST_UNUSED void wtest_start_todo(int is_todo)
{
    wtest.todo_level = (wtest.todo_level << 1) | (is_todo != 0);
    wtest.todo_pass = 1;
}
static WTEST_UNUSED int wtest_loop_todo(void) { return wtest.todo_pass; }
static WTEST_UNUSED void wtest_end_todo(void)
{
    wtest.todo_level >>= 1;
    wtest.todo_pass = 0;
}

static WTEST_UNUSED int wtest_summary(void)
{
    wtest.file = "summary";
    wtest.line = 0;
    printf("%s: platform %s\n", wtest.test_name ? wtest.test_name : "main", wtest.platform_name);
    printf("%ld tests executed (%ld marked as todo, %ld failures), %ld skipped.\n",
           wtest.executed, wtest.todo_marked, wtest.failures, wtest.skipped);
    fflush(stdout);
    return wtest.failures > 0 ? 1 : 0;
}

#define ok_(file, line) (wtest_set_location(file, line), 0) ? 0 : wtest_ok
#define ok ok_(__FILE__, __LINE__)
#define trace (wtest_set_location(__FILE__, __LINE__), 0) ? (void)0 : wtest_trace
#define skip (wtest_set_location(__FILE__, __LINE__), 0) ? (void)0 : wtest_skip
#define win_skip (wtest_set_location(__FILE__, __LINE__), 0) ? (void)0 : wtest_win_skip
#define broken(x) wtest_broken(x)
#define todo_if(is_todo) for (wtest_start_todo(is_todo); wtest_loop_todo(); wtest_end_todo())
#define todo_wine todo_if(wtest_on_wine())

/* Run one test function with its name as the message prefix. */
#define run_test(func) do { wtest.test_name = #func; func(); wtest.test_name = NULL; } while (0)

#endif /* WRITEWATCH_WTEST_H */
