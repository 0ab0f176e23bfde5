/*
 * Self-test of wtest.h: runs a fixed set of checks, then verifies that the
 * counters match what the harness must do on the current platform (todo_wine
 * only active on Wine, broken() only accepted on Windows, win_skip a skip on
 * Windows and a failure elsewhere). Needs no Win32 layer: built natively
 * always, and with mingw by scripts/run-winetest.sh. Force a platform with
 * WINETEST_PLATFORM=windows|wine|native to check all three on one machine.
 */
#include "wtest.h"

struct counts { long executed, todo, failures, skipped; };

int main(void)
{
    struct counts got, want;

    wtest_init();
    wtest.test_name = "selftest";
    /* the checks below fail on purpose; keep their output out of the way */
    wtest.silent = !getenv("WTEST_SELFTEST_VERBOSE");

    ok(1, "plain success\n");
    todo_wine ok(0, "todo_wine failure\n");
    todo_wine ok(1, "todo_wine success\n");
    skip("a skip\n");
    win_skip("a win_skip\n");
    ok(broken(1), "broken(1)\n");
    todo_if(1) ok(0, "todo_if(1) failure\n");
    todo_if(1) ok(1, "todo_if(1) success\n");
    todo_if(0) ok(1, "todo_if(0) success\n");

    got.executed = wtest.executed; got.todo = wtest.todo_marked;
    got.failures = wtest.failures; got.skipped = wtest.skipped;
    switch (wtest.platform)
    {
    case WTEST_WINDOWS: want = (struct counts){ 7, 1, 2, 2 }; break;
    case WTEST_WINE:    want = (struct counts){ 8, 2, 4, 1 }; break;
    default:            want = (struct counts){ 8, 1, 4, 1 }; break;
    }

    wtest.silent = 0;
    wtest.executed = wtest.todo_marked = wtest.failures = wtest.skipped = 0;
    wtest.todo_level = 0;
    ok(got.executed == want.executed, "%s: executed %ld, expected %ld\n", wtest.platform_name,
       got.executed, want.executed);
    ok(got.todo == want.todo, "%s: todo %ld, expected %ld\n", wtest.platform_name, got.todo,
       want.todo);
    ok(got.failures == want.failures, "%s: failures %ld, expected %ld\n", wtest.platform_name,
       got.failures, want.failures);
    ok(got.skipped == want.skipped, "%s: skipped %ld, expected %ld\n", wtest.platform_name,
       got.skipped, want.skipped);
    return wtest_summary();
}
