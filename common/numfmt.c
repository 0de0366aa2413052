#include "numfmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool num_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n || (s[i] == '0' && n - i > 1) || (neg && n == 2 && s[1] == '0'))
        return false;
    /* 19 digits stay below 2^64: no overflow check inside the loop. */
    if (n - i > 19)
        return false;
    uint64_t v = 0;
    for (size_t j = i; j < n; j++) {
        unsigned d = (unsigned)(s[j] - '0');
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

bool num_parse_f64(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    /* Only digits, sign, point and exponent: no hex, inf, nan, spaces. */
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E')
            return false;
    }
    if (!digit)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

int num_fmt_f64(char *buf, double v)
{
    if (isnan(v))
        return snprintf(buf, NUM_BUF, "nan");
    if (isinf(v))
        return snprintf(buf, NUM_BUF, v < 0 ? "-inf" : "inf");
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, NUM_BUF, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            return n;
    }
    return 0;
}

int num_fmt_f32(char *buf, float v)
{
    if (isnan(v) || isinf(v))
        return num_fmt_f64(buf, v);
    for (int prec = 6; prec <= 9; prec++) {
        int n = snprintf(buf, NUM_BUF, "%.*g", prec, (double)v);
        if (prec == 9 || strtof(buf, NULL) == v)
            return n;
    }
    return 0;
}
