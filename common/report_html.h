/* report_html: one self-contained HTML page (inline CSS and SVG, no script,
 * no external assets) drawn from a list of metric records.
 *
 * What is drawn depends on the records, not on who made them: every curve
 * (roc, gains, calibration, qini, uplift) as lines with its reference line,
 * per-group figures (arms, deciles, segments) as bars with their intervals,
 * OLS coefficients as a forest plot per group, segment profiles as a heat
 * map, and with a history each metric across the loop's cycles.  Each chart
 * is an <svg class="chart" data-chart="KIND"> whose marks carry the classes
 * series, bar, ci, dot and cell, so a test can find them after rendering. */
#ifndef PROMO_REPORT_HTML_H
#define PROMO_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "metricstream.h"

struct rh_report {
    const char *title, *subtitle;
    const struct ms_list *cur;
    const struct ms_list *hist;          /* earlier cycles, oldest first */
    const char *const *hist_names;       /* their file names */
    size_t nhist;
    const struct ms_change *changes;     /* --compare, or NULL */
    size_t nchanges;
};

/* Write the page; the caller checks the stream (outfile does). */
void rh_write(FILE *fp, const struct rh_report *rep);

#endif
