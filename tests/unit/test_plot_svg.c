/* SVG figures (src/plot/plot_svg.c): structure, escaping, axes in the right units, one
 * line per series and panel, spikes kept by the binning, NaN gaps, bad figures refused. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plot/plot_svg.h"

#define N 20000

static double t[N], off[N], off2[N], ppm[N];

/* Writes fig into a string (caller frees). */
static char *render(const struct plot_figure *fig, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = plot_svg_write(f, fig);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what)) {
        n++;
    }
    return n;
}

static void fill(void)
{
    for (size_t i = 0; i < N; i++) {
        t[i] = (double)i;
        off[i] = 1e-6 * sin((double)i / 100.0);
        off2[i] = i % 500 == 7 ? NAN : 2e-6;
        ppm[i] = -10.0 + 0.01 * cos((double)i / 1000.0);
    }
    off[12345] = 3e-3; /* one spike */
}

static void test_two_panels(void **state)
{
    (void)state;
    fill();
    struct plot_series s_off[] = {{.label = "tsyncd", .t = t, .v = off, .n = N},
                                  {.label = "a<b&\"c\"", .t_first = 0, .dt = 1, .v = off2, .n = N}};
    struct plot_series s_ppm[] = {{.label = "tsyncd", .t = t, .v = ppm, .n = N}};
    struct plot_guide g[] = {{1e-3, "1 ms"}};
    struct plot_panel panels[] = {
        {.y_label = "|offset|", .scale = PLOT_LOG, .unit = PLOT_SECONDS, .series = s_off,
         .n_series = 2, .guides = g, .n_guides = 1},
        {.y_label = "frequency (ppm)", .scale = PLOT_LINEAR, .unit = PLOT_PLAIN,
         .series = s_ppm, .n_series = 1},
    };
    struct plot_mark m[] = {{PLOT_MARK_SPAN, 100, 200, "outage"},
                            {PLOT_MARK_LINE, 5000, 5000, "step"}};
    struct plot_figure fig = {.title = "tsyncd on <host>", .t_label = "time", .t0 = 0,
                              .t1 = N - 1, .panels = panels, .n_panels = 2, .marks = m,
                              .n_marks = 2, .legend_title = "clocks"};
    int rc;
    char *svg = render(&fig, &rc);
    assert_int_equal(rc, 0);
    assert_true(strncmp(svg, "<?xml", 5) == 0);
    assert_non_null(strstr(svg, "</svg>\n"));
    assert_non_null(strstr(svg, "tsyncd on &lt;host&gt;"));
    assert_non_null(strstr(svg, "a&lt;b&amp;&quot;c&quot;"));
    assert_int_equal(count(svg, "<polyline"), 3);       /* 2 series + 1 series */
    assert_int_equal(count(svg, "<polygon"), 1);        /* the linear panel's band */
    assert_non_null(strstr(svg, ">1 ms</text>"));       /* log axis in seconds... */
    assert_non_null(strstr(svg, ">1 µs</text>"));
    assert_non_null(strstr(svg, ">-10</text>"));        /* ...linear axis in plain ppm */
    assert_non_null(strstr(svg, "frequency (ppm)"));
    assert_non_null(strstr(svg, ">outage</text>"));
    assert_non_null(strstr(svg, "class=\"step\""));
    assert_non_null(strstr(svg, "time (h)"));           /* 20000 s: hours */
    /* The log axis reaches the spike's decade (10 ms), not just the sine's. */
    assert_non_null(strstr(svg, ">10 ms</text>"));
    free(svg);
}

static void test_refused(void **state)
{
    (void)state;
    struct plot_series s = {.label = "x", .t = t, .v = off, .n = 10};
    struct plot_panel p = {.y_label = "y", .series = &s, .n_series = 1};
    struct plot_panel five[5] = {p, p, p, p, p};
    struct plot_figure fig = {.title = "t", .t0 = 0, .t1 = 10, .panels = &p, .n_panels = 0};
    int rc;
    char *svg = render(&fig, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(errno, EINVAL);
    free(svg);
    fig.n_panels = 1;
    fig.t1 = 0; /* empty time axis */
    svg = render(&fig, &rc);
    assert_int_equal(rc, -1);
    free(svg);
    fig.t1 = 10;
    fig.panels = five;
    fig.n_panels = 5;
    svg = render(&fig, &rc);
    assert_int_equal(rc, -1);
    free(svg);
}

/* No finite value at all, or no series: still a figure (axes, no line), not a crash. */
static void test_empty_series(void **state)
{
    (void)state;
    double nan[3] = {NAN, NAN, NAN};
    double tt[3] = {0, 1, 2};
    struct plot_series s = {.label = "none", .t = tt, .v = nan, .n = 3};
    struct plot_panel p[] = {{.y_label = "a", .scale = PLOT_LINEAR, .series = &s, .n_series = 1},
                             {.y_label = "b", .scale = PLOT_LOG, .series = NULL, .n_series = 0}};
    struct plot_figure fig = {.title = "empty", .t0 = 0, .t1 = 2, .panels = p, .n_panels = 2};
    int rc;
    char *svg = render(&fig, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_panels),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_empty_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
